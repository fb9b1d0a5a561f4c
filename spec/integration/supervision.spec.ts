/**
 * The supervision tree as a client sees it: crashing a consumer or a
 * connection on purpose (the OTP layer's crash hook, through /debug/kill)
 * does what warren's strategies say.
 */
import { expect } from 'chai';
import { ChatClient } from '../support/client';
import { useDaemon } from '../support/lifecycle';
import { eventually } from '../support/eventually';
import { actors, connectionOf, fetchTree, killActor } from '../support/admin';

describe('supervision, seen from the sockets', function () {
  this.timeout(30_000);
  const daemon = useDaemon();

  it('shows each open socket as one connection with one consumer, and forgets it when it closes', async () => {
    const before = (await fetchTree(daemon())).tree;
    const count = (tree = before) => actors(tree).filter((actor) => actor.behaviour === 'connection').length;
    const clients = await Promise.all(['t1', 't2', 't3'].map((name) => ChatClient.connect(daemon().wsUrl(`name=${name}`))));
    const { tree } = await fetchTree(daemon());
    expect(count(tree)).to.equal(count() + 3);
    for (const name of ['t1', 't2', 't3']) {
      const connection = connectionOf(tree, name)!;
      expect(connection.children.map((child) => child.behaviour)).to.deep.equal(['consumer']);
      expect(connection.info).to.include.keys('name', 'rooms', 'remote');
      expect(connection.children[0]!.info).to.include.keys('delivered', 'dropped', 'buffered');
    }
    await Promise.all(clients.map((client) => client.close()));
    await eventually(async () => expect(count((await fetchTree(daemon())).tree)).to.equal(count()));
  });

  it('restarts a crashed consumer beside its connection: the socket stays open and keeps receiving', async () => {
    const client = await ChatClient.connect(daemon().wsUrl('name=steady&room=k1'));
    const consumer = connectionOf((await fetchTree(daemon())).tree, 'steady')!.children[0]!;
    const response = await killActor(daemon(), consumer.path);
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ killed: consumer.path });
    await eventually(async () => expect(connectionOf((await fetchTree(daemon())).tree, 'steady')!.children[0]!.restarts).to.equal(1));
    client.send({ type: 'say', text: 'still here', id: 'after' });
    await client.next('ack', { id: 'after' });
    await client.next('message', { text: 'still here' });
  });

  it('loses nothing to consumer restarts: what the room said meanwhile reaches the socket, once each, in order', async () => {
    const names = ['l0', 'l1', 'l2', 'l3'];
    const listeners = await Promise.all(names.map((name) => ChatClient.connect(daemon().wsUrl(`name=${name}&room=k2`))));
    const talker = await ChatClient.connect(daemon().wsUrl('name=talker&room=k2'));
    const consumers = () => fetchTree(daemon()).then(({ tree }) => names.map((name) => connectionOf(tree, name)!.children[0]!));
    // A steady stream of says (inside the rate limit's burst), every consumer killed three times in it (its intensity).
    const says = 180;
    const talking = (async () => {
      for (let n = 0; n < says; n++) {
        talker.send({ type: 'say', text: `t${n}`, id: `t${n}` });
        await new Promise((resolve) => setTimeout(resolve, 4));
      }
    })();
    for (let kill = 1; kill <= 3; kill++) {
      await listeners[0]!.collect('message', (kill * says) / 4, 10_000);
      await Promise.all((await consumers()).map(({ path }) => killActor(daemon(), path)));
      await eventually(async () => expect((await consumers()).map(({ restarts }) => restarts)).to.deep.equal(names.map(() => kill)), 5_000);
    }
    await talking;
    await talker.collect('ack', says, 10_000);
    const heard = (client: ChatClient) => client.frames.filter((frame) => frame.type === 'message').map((frame) => frame.text);
    const all = Array.from({ length: says }, (_, n) => `t${n}`);
    // Waits for the last messages, if they all come; else shows what is missing.
    await eventually(() => listeners.forEach((client) => expect(heard(client)).to.have.length.of.at.least(says)), 5_000).catch(() => undefined);
    for (const [i, client] of listeners.entries()) expect(heard(client), names[i]).to.deep.equal(all);
  });

  it('closes the socket of a crashed connection with 1011, and does not restart it (temporary child)', async () => {
    const client = await ChatClient.connect(daemon().wsUrl('name=doomed'));
    const connection = connectionOf((await fetchTree(daemon())).tree, 'doomed')!;
    await killActor(daemon(), connection.path);
    expect((await client.closed).code).to.equal(1011);
    await eventually(async () => expect(connectionOf((await fetchTree(daemon())).tree, 'doomed')).to.equal(undefined));
  });

  it('restarts a crashed listener on the same ports, and open sockets carry on', async () => {
    const client = await ChatClient.connect(daemon().wsUrl('name=survivor&room=l1'));
    const listenerBefore = (await fetchTree(daemon())).tree.children.find((child) => child.name === 'listener')!;
    await killActor(daemon(), listenerBefore.path);
    await eventually(async () => expect((await fetchTree(daemon())).tree.children.find((child) => child.name === 'listener')!.restarts).to.equal(1));
    const listenerAfter = (await fetchTree(daemon())).tree.children.find((child) => child.name === 'listener')!;
    expect(listenerAfter.info).to.include({ port: listenerBefore.info['port'], adminPort: listenerBefore.info['adminPort'] });
    client.send({ type: 'say', text: 'after the listener restarted', id: 'l' });
    await client.next('ack', { id: 'l' });
    const newcomer = await ChatClient.connect(daemon().wsUrl('name=newcomer&room=l1'));
    newcomer.send({ type: 'ping', id: 'n' });
    await newcomer.next('pong', { id: 'n' });
  });

  it('on a broker crash, restarts the broker and what was started after it (rest_for_one): sockets close, clients reconnect', async () => {
    const client = await ChatClient.connect(daemon().wsUrl('name=bystander&room=b1'));
    await killActor(daemon(), '/warren_sup/broker');
    expect((await client.closed).code).to.equal(1001);
    const { tree } = await eventually(async () => {
      const answer = await fetchTree(daemon());
      expect(answer.tree.children.map((child) => [child.name, child.restarts])).to.deep.equal([
        ['relay', 0],
        ['broker', 1],
        ['presence', 1],
        ['connection_sup', 1],
        ['listener', 2],
        ['sampler', 2],
      ]);
      return answer;
    });
    expect(tree.children[1]!.info).to.include({ state: 'connected' });
    const again = await ChatClient.connect(daemon().wsUrl('name=bystander&room=b1'));
    again.send({ type: 'say', text: 'back', id: 'b' });
    await again.next('ack', { id: 'b' });
    await again.next('message', { text: 'back' });
  });

  it('answers 404 for an actor that does not exist', async () => {
    const response = await killActor(daemon(), '/warren_sup/nobody');
    expect(response.status).to.equal(404);
  });
});
