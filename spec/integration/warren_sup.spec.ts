/**
 * warren_sup's rest_for_one order and intensity, seen from the sockets: a
 * crashed child takes down the children started after it, and a core that
 * keeps crashing ends the daemon with status 1.
 */
import { expect } from 'chai';
import { fetchTree, killActor } from '../support/admin';
import { ChatClient } from '../support/client';
import { Daemon } from '../support/daemon';
import { until } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';

const CHILDREN = ['relay', 'broker', 'presence', 'connection_sup', 'listener', 'sampler'];

describe('warren_sup (rest_for_one, 3 restarts in 60 s)', function () {
  this.timeout(30_000);

  describe('restarting what depends on a crashed child', () => {
    const daemon = useDaemon();
    const restarts = async () => (await fetchTree(daemon())).tree.children.map((child) => [child.name, child.restarts]);
    const restartedAfter = async (before: unknown[][], expected: number[]) =>
      until(`restarts ${JSON.stringify(expected)} of ${CHILDREN.join(', ')}`, restarts, (now) =>
        JSON.stringify(now) === JSON.stringify(before.map(([name, count], i) => [name, (count as number) + expected[i]!])),
      );
    const connectAll = (queries: string[]) => Promise.all(queries.map((query) => ChatClient.connect(daemon().wsUrl(query))));
    const relayInfo = async () => (await fetchTree(daemon())).tree.children.find((child) => child.name === 'relay')!.info;
    const relayKnows = (rooms: number, members: number) =>
      until(`the relay to know ${members} members in ${rooms} rooms`, relayInfo, (info) => info['rooms'] === rooms && info['members'] === members);

    it('on a relay crash, closes every socket with 1001; the reconnected clients rebuild the rooms, and only theirs', async () => {
      const before = await restarts();
      const clients = await connectAll(['name=a1&room=r1', 'name=a2&room=r1', 'name=b1&room=r2']);
      await relayKnows(2, 3);
      await killActor(daemon(), '/warren_sup/relay');
      for (const client of clients) expect((await client.closed).code).to.equal(1001);
      await restartedAfter(before, [1, 1, 1, 1, 1, 1]);

      const [x, y] = await connectAll(['name=x&room=r1', 'name=y&room=r1']);
      await relayKnows(1, 2);
      x!.send({ type: 'say', text: 'after the relay restarted', id: 'x' });
      await y!.next('message', { from: 'x', text: 'after the relay restarted' });
      y!.send({ type: 'say', text: 'and back', id: 'y' });
      await x!.next('message', { from: 'y', text: 'and back' });
    });

    it('on a presence crash, closes every socket and restarts connection_sup, the listener and the sampler, not the relay or the broker; the new presence has a new incarnation and knows the new sockets', async () => {
      const before = await restarts();
      const presenceInfo = async () => (await fetchTree(daemon())).tree.children.find((child) => child.name === 'presence')!.info;
      const { incarnation, connections } = await presenceInfo();
      const clients = await connectAll(['name=p1&room=q1', 'name=p2&room=q1']);
      await until('presence to know both', presenceInfo, (info) => info['connections'] === (connections as number) + 2);
      await killActor(daemon(), '/warren_sup/presence');
      for (const client of clients) expect((await client.closed).code).to.equal(1001);
      await restartedAfter(before, [0, 0, 1, 1, 1, 1]);

      const [again] = await connectAll(['name=p1&room=q1']);
      const info = await until('presence to know the new socket only', presenceInfo, (now) => now['connections'] === 1 && now['rooms'] === 1);
      expect(info['incarnation']).to.be.above(incarnation as number);
      again!.send({ type: 'presence', room: 'q1', id: 'who' });
      expect(await again!.next('presence', { id: 'who' })).to.include({ users: 1, connections: 1 });
    });

    it('on a connection_sup crash, closes every socket and restarts the listener and the sampler; new sockets work', async () => {
      const before = await restarts();
      const clients = await connectAll(['name=c1&room=s1', 'name=c2&room=s2']);
      await killActor(daemon(), '/warren_sup/connection_sup');
      for (const client of clients) expect((await client.closed).code).to.equal(1001);
      await restartedAfter(before, [0, 0, 0, 1, 1, 1]);

      const [again] = await connectAll(['name=c1&room=s1']);
      again!.send({ type: 'say', text: 'back again', id: 'c' });
      await again!.next('ack', { id: 'c' });
      await again!.next('message', { text: 'back again' });
    });
  });

  it('exits the daemon with status 1 on a 4th restart within 60 s', async () => {
    const daemon = await Daemon.start();
    const relayRestarts = async () => (await fetchTree(daemon)).tree.children.find((child) => child.name === 'relay')!.restarts;
    for (let crash = 1; crash <= 3; crash++) {
      expect((await killActor(daemon, '/warren_sup/relay')).status).to.equal(200);
      await until(`restart ${crash} of the relay`, relayRestarts, (count) => count === crash);
    }
    await killActor(daemon, '/warren_sup/relay');
    expect(await daemon.exited).to.deep.equal({ code: 1, signal: null });
    expect(daemon.logs.map((line) => line.msg)).to.include('warren_sup exited (shutdown: reached_max_restart_intensity): the application stops');
  });
});
