/**
 * The client library against the daemon as users run it: after its
 * connection crashed (1011) or its network was down, it reconnects by
 * itself, rejoins every room it wanted with `since` its last position, and
 * tells the messages it missed as replays, in order, none doubled, none
 * missing; a `gap` when the server could not recover them. A socket that
 * stopped answering is noticed by the heartbeat; a rename reconnects on
 * purpose. Each time the say that was not acked is resent, delivered once.
 */
import { expect } from 'chai';
import { connectionOf, fetchTree, killActor } from '../support/admin';
import { ChatClient } from '../support/client';
import { eventually } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';
import { RecordedClient, timesDelivered } from '../support/warren_client';

/** A recovery sends at most this many messages; past it the client is told of a gap. */
const MAX_RECOVER = 10;

const lines = (prefix: string, count: number) => Array.from({ length: count }, (_, n) => `${prefix}${n}`);

/** Says every text in `room` from a raw client and waits for the acks: all are in the log then, in this order. */
async function sayAll(talker: ChatClient, room: string, texts: readonly string[]): Promise<void> {
  for (const text of texts) talker.send({ type: 'say', room, text, id: `${room}-${text}` });
  for (const text of texts) await talker.next('ack', { id: `${room}-${text}` });
}

describe('the client library reconnecting by itself, on the in-process bus', function () {
  this.timeout(30_000);
  const daemon = useDaemon(undefined, { env: { HISTORY_MAX_RECOVER: String(MAX_RECOVER) } });
  const talker = (room: string) => ChatClient.connect(daemon().wsUrl(`name=talker&room=${room}`));
  const roomsOf = async (name: string) => connectionOf((await fetchTree(daemon())).tree, name)?.info['rooms'];

  it('after its connection crashed (1011): connecting, open, reconnecting, connecting, open, every room rejoined (with presence where asked), the unacked say resent and delivered once', async () => {
    const other = await talker('rc2');
    const recorded = await RecordedClient.open({ url: daemon().wsUrl(), name: 'phoenix', room: 'rc1' });
    recorded.client.join('rc2');
    const watched = recorded.client.join('rc3', { presence: true });
    await eventually(async () => expect(await roomsOf('phoenix')).to.have.members(['rc1', 'rc2', 'rc3']));
    const crashed = connectionOf((await fetchTree(daemon())).tree, 'phoenix')!;
    recorded.socket.lose = (frame) => frame.type === 'ack';
    const acked = recorded.client.say('rc2', 'said before the crash');
    const delivered = await other.next('message', { text: 'said before the crash' });

    await killActor(daemon(), crashed.path);
    await recorded.reached('open', 2);
    expect(recorded.states.map((change) => change.state)).to.deep.equal(['connecting', 'open', 'reconnecting', 'connecting', 'open']);
    expect(recorded.states[2]).to.include({ code: 1011, attempt: 1 });
    expect(recorded.welcomes).to.have.length(2);
    await eventually(async () => expect(await roomsOf('phoenix')).to.have.members(['rc1', 'rc2', 'rc3']));
    expect(connectionOf((await fetchTree(daemon())).tree, 'phoenix')!.path, 'a new connection').to.not.equal(crashed.path);
    expect(await acked).to.include({ msgId: delivered['msgId'] });
    expect(await timesDelivered(other, 'rc2', 'said before the crash')).to.equal(1);

    other.send({ type: 'say', room: 'rc2', text: 'still heard', id: 'h' });
    await recorded.received('rc2', 'still heard');
    other.send({ type: 'join', room: 'rc3', id: 'j' });
    await other.next('joined', { id: 'j' });
    await eventually(() => expect(watched.presence?.members.map((member) => member.name)).to.have.members(['phoenix', 'talker']));
  });

  it('tells what a raw client said while it was away as replays, in order, none doubled, in every room, then the live ones', async () => {
    const recorded = await RecordedClient.open({ url: daemon().wsUrl(), name: 'away', room: 'rv1' });
    recorded.client.join('rv2');
    const other = await talker('rv1');
    other.send({ type: 'join', room: 'rv2', id: 'j' });
    await other.next('joined', { id: 'j' });
    await sayAll(other, 'rv1', ['before']);
    await sayAll(other, 'rv2', ['before']);
    await recorded.received('rv2', 'before');

    recorded.networkDown();
    await recorded.reached('reconnecting');
    const missed1 = lines('one', MAX_RECOVER);
    const missed2 = lines('two', 3);
    await sayAll(other, 'rv1', missed1);
    await sayAll(other, 'rv2', missed2);
    recorded.networkUp();
    await recorded.reached('open', 2);
    await sayAll(other, 'rv1', ['live']);
    await recorded.received('rv1', 'live');
    await sayAll(other, 'rv2', ['live']);
    await recorded.received('rv2', 'live');

    expect(recorded.texts('rv1')).to.deep.equal(['before', ...missed1.map((text) => `${text} (replay)`), 'live']);
    expect(recorded.texts('rv2')).to.deep.equal(['before', ...missed2.map((text) => `${text} (replay)`), 'live']);
    expect(recorded.told.some((told) => told.event === 'gap'), 'no gap').to.equal(false);
  });

  it(`tells a gap, then the history, when it missed more than history.maxRecover (${MAX_RECOVER}), in the connect room and a joined one: nothing doubled, nothing missing`, async () => {
    const rooms = ['rg1', 'rg2'];
    const recorded = await RecordedClient.open({ url: daemon().wsUrl(), name: 'gone', room: 'rg1' });
    recorded.client.join('rg2');
    const other = await talker('rg1');
    other.send({ type: 'join', room: 'rg2', id: 'j' });
    await other.next('joined', { id: 'j' });
    const before = lines('seen', 3);
    for (const room of rooms) await sayAll(other, room, before);
    for (const room of rooms) await recorded.received(room, 'seen2');

    recorded.networkDown();
    await recorded.reached('reconnecting');
    const missed = lines('missed', MAX_RECOVER + 1);
    for (const room of rooms) await sayAll(other, room, missed);
    recorded.networkUp();
    for (const room of rooms) await recorded.received(room, missed.at(-1)!);

    for (const room of rooms) {
      const afterGap = recorded.told.slice(recorded.told.findIndex((told) => told.event === 'gap' && told.room === room));
      expect(afterGap[0], room).to.deep.equal({ event: 'gap', room });
      const replayed = afterGap.flatMap((told) => (told.event === 'message' && told.message.room === room ? [`${told.message.text}${told.message.replay ? ' (replay)' : ''}`] : []));
      expect(replayed, `${room}: the history after the gap, without what was seen before`).to.deep.equal(missed.map((text) => `${text} (replay)`));
      expect(recorded.messages(room).map((message) => message.text), room).to.deep.equal([...before, ...missed]);
    }
  });

  it('notices a socket that stopped answering by its heartbeat (no pong within timeoutMs), and reconnects', async () => {
    const recorded = await RecordedClient.open({ url: daemon().wsUrl(), name: 'silent', room: 'rh', heartbeatMs: 200, timeoutMs: 2_000 });
    recorded.socket.lose = (frame) => frame.type === 'pong';
    expect(await recorded.reached('reconnecting')).to.include({ code: 1006, reason: 'heartbeat timed out' });
    await recorded.reached('open', 2);
    const latency = await new Promise<number>((resolve) => recorded.client.on('latency', resolve));
    expect(latency).to.be.a('number');
  });

  it('rename: reconnects under the new name, keeping its rooms and its pending say', async () => {
    const other = await talker('rn');
    const recorded = await RecordedClient.open({ url: daemon().wsUrl(), name: 'before', room: 'rn' });
    recorded.client.join('rn2');
    await eventually(async () => expect(await roomsOf('before')).to.have.members(['rn', 'rn2']));
    recorded.socket.lose = (frame) => frame.type === 'ack';
    const acked = recorded.client.say('rn', 'said before the rename');
    const delivered = await other.next('message', { text: 'said before the rename' });

    recorded.client.rename('after');
    await recorded.reached('open', 2);
    expect(recorded.client.welcome).to.include({ name: 'after' });
    await eventually(async () => expect(await roomsOf('after')).to.have.members(['rn', 'rn2']));
    expect(await acked).to.include({ msgId: delivered['msgId'] });
    expect(await timesDelivered(other, 'rn', 'said before the rename')).to.equal(1);
  });
});

describe('the client library and a node that refuses it, on the in-process bus', function () {
  this.timeout(30_000);
  const full = useDaemon(undefined, { env: { MAX_CONNECTIONS: '1' } });
  const other = useDaemon();

  it('an upgrade refused with 503 (the node is full) is an attempt never welcomed: the next url at once', async () => {
    const occupant = await ChatClient.connect(full().wsUrl('name=occupant'));
    const recorded = await RecordedClient.open({ url: [full().wsUrl(), other().wsUrl()], name: 'turned-away', room: 'r503' });
    expect(recorded.sockets.map((socket) => socket.asked.split('?')[0])).to.deep.equal([full().wsUrl(), other().wsUrl()]);
    expect(recorded.states.find((change) => change.state === 'reconnecting')).to.include({ code: 1006, attempt: 1 });
    expect(recorded.client.welcome).to.include({ node: (await fetchTree(other())).node });
    await occupant.close();
  });
});
