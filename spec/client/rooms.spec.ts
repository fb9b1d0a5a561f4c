/**
 * The client library's rooms against the daemon's real frames: the first
 * join's history, told as replays before the live messages, and the member
 * list kept from `presence` and `presence_diff` as others come and go.
 */
import { expect } from 'chai';
import { ChatClient } from '../support/client';
import { eventually } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';
import { RecordedClient } from '../support/warren_client';

describe('the client library\'s rooms, on the in-process bus', function () {
  this.timeout(30_000);
  const daemon = useDaemon();
  const connect = (name: string, room: string) => ChatClient.connect(daemon().wsUrl(`name=${name}&room=${room}`));

  it('joins with history: the room\'s last messages as replays, then the live ones', async () => {
    const talker = await connect('talker', 'rm1');
    for (const text of ['h0', 'h1', 'h2', 'h3']) talker.send({ type: 'say', room: 'rm1', text, id: text });
    await talker.next('ack', { id: 'h3' });
    const recorded = await RecordedClient.open({ url: daemon().wsUrl(), name: 'reader', room: 'rm1', roomOptions: { history: 3 } });
    await recorded.received('rm1', 'h3');
    talker.send({ type: 'say', room: 'rm1', text: 'live', id: 'live' });
    await recorded.received('rm1', 'live');
    expect(recorded.texts('rm1')).to.deep.equal(['h1 (replay)', 'h2 (replay)', 'h3 (replay)', 'live']);
  });

  it('keeps the member list from presence and presence_diff as others join and leave, with the counts', async () => {
    const recorded = await RecordedClient.open({ url: daemon().wsUrl(), name: 'watcher', room: 'rp', roomOptions: { presence: true } });
    const room = recorded.client.rooms.get('rp')!;
    const names = () => room.presence?.members.map((member) => member.name);
    await eventually(() => expect(names()).to.deep.equal(['watcher']));

    const [bob, ann] = [await connect('bob', 'rp'), await connect('ann', 'rp')];
    await eventually(() => expect(names()).to.deep.equal(['ann', 'bob', 'watcher']));
    expect(room.presence).to.include({ room: 'rp', users: 3, connections: 3, truncated: false });
    await bob.close();
    await eventually(() => expect(names()).to.deep.equal(['ann', 'watcher']));
    expect(room.presence).to.include({ users: 2, connections: 2 });

    const asked = await recorded.client.presence('rp');
    expect(asked.members.map((member) => member.name)).to.deep.equal(['ann', 'watcher']);
    expect(asked.members.find((member) => member.name === 'ann')).to.include({ user: ann.welcome['user'], connections: 1 });
  });
});
