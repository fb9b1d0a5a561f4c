/**
 * The presence process in the spec's own process: two applications on one
 * in-process bus are two nodes (the in-process broker takes the code path
 * RabbitMQ does), so what only the process knows can be read and pressed:
 * the nodes it knows, the goodbye of a node that stops, and the order of
 * its frames behind a relay that is behind.
 */
import { expect } from 'chai';
import type { RelayRef } from '../../lib/actors/relay';
import { cast } from '../../lib/otp/gen_server';
import { childRef } from '../../lib/otp/sys';
import { stop, type Warren } from '../../lib/warren_app';
import { ChatClient } from '../support/client';
import { until } from '../support/eventually';
import { childOf, startWarren, testConfig } from '../support/in_process';
import { parseMetrics } from '../support/metrics';

describe('actors/presence', function () {
  this.timeout(20_000);
  let first: { warren: Warren; port: number };
  let second: { warren: Warren; port: number } | undefined;
  const connect = (node: { port: number }, query: string) => ChatClient.connect(`ws://127.0.0.1:${node.port}/websocket?${query}`);
  const presenceOf = (node: { warren: Warren }) => childOf(node.warren, 'presence').info;

  beforeEach(async () => {
    // Heartbeats far apart, so that nothing here waits for one by chance.
    const config = { ...testConfig(), presence: { maxListed: 100, downAfterSeconds: 3600, heartbeatMs: 60_000 } };
    first = await startWarren(config);
    second = await startWarren(config);
  });
  afterEach(async () => {
    await stop(first.warren);
    if (second) await stop(second.warren);
  });

  it('knows the other node (up, its incarnation, its seq), and shows rooms and connections in its info', async () => {
    await connect(second!, 'name=ann&room=a1');
    await connect(second!, 'name=bob&room=a2');
    const info = await until('the first node to know the second', () => presenceOf(first), (now) => now['rooms'] === 2);
    const [node] = info['nodes'] as Array<Record<string, unknown>>;
    expect(node).to.include({ node: second!.warren.nodeId, up: true, incarnation: presenceOf(second!)['incarnation'], entries: 2 });
    expect(node!['seq']).to.be.at.least(1);
    expect(Date.parse(node!['lastHeardAt'] as string)).to.be.closeTo(Date.now(), 5_000);
    expect(presenceOf(second!)).to.include({ node: second!.warren.nodeId, connections: 2, rooms: 2 });
    const metrics = parseMetrics(await (await fetch(`http://127.0.0.1:${String(childOf(first.warren, 'listener').info['adminPort'])}/metrics`)).text());
    expect(metrics.get('warren_presence_rooms')).to.equal(2);
    expect(metrics.get('warren_presence_nodes{state="up"}')).to.equal(1);
    expect(metrics.get('warren_presence_nodes{state="down"}')).to.equal(0);
  });

  it('counts its frames as frames out, not as chat deliveries', async () => {
    const metrics = async () => parseMetrics(await (await fetch(`http://127.0.0.1:${String(childOf(first.warren, 'listener').info['adminPort'])}/metrics`)).text());
    const asker = await connect(first, 'name=asker&room=m1');
    const before = await metrics();
    asker.send({ type: 'presence', room: 'm1', id: 'who' });
    await asker.next('presence', { id: 'who' });
    const after = await metrics();
    expect(after.get('warren_deliveries_total')).to.equal(before.get('warren_deliveries_total'));
    expect(after.get('warren_frames_out_total{type="presence"}')).to.equal((before.get('warren_frames_out_total{type="presence"}') ?? 0) + 1);
  });

  it('a node that stops says goodbye: its members leave the other node at once, and it is known as down', async () => {
    const watcher = await connect(first, 'name=watcher&room=g1');
    watcher.send({ type: 'join', room: 'g1', presence: true });
    await connect(second!, 'name=leaver&room=g1');
    await until('the leaver', () => presenceOf(first), (now) => (now['nodes'] as Array<{ entries: number }>)[0]?.entries === 1);
    const leaving = second!;
    second = undefined;
    // Closing the sockets as the drain does, and the goodbye: well before presence.downAfterSeconds (15 s).
    await stop(leaving.warren);
    const diff = await watcher.next('presence_diff', { users: 1 }, 3_000);
    expect(diff['leaves']).to.have.length(1);
    const [node] = presenceOf(first)['nodes'] as Array<Record<string, unknown>>;
    expect(node).to.include({ node: leaving.warren.nodeId, up: false, entries: 0 });
  });

  it('takes a large slice that said goodbye off its view a budget per turn, not at the next heartbeat', async () => {
    // 80 sockets in 32 rooms each: 2,560 entries, more than one turn's budget (2,000).
    const sockets = await Promise.all(Array.from({ length: 80 }, (_, index) => connect(second!, `name=s${index}&room=big-0`)));
    for (const socket of sockets) for (let room = 1; room < 32; room++) socket.send({ type: 'join', room: `big-${room}` });
    await until('every entry on the first node', () => presenceOf(first), (now) => (now['nodes'] as Array<{ entries: number }>)[0]?.entries === 80 * 32, 15_000);
    const leaving = second!;
    second = undefined;
    const stopped = stop(leaving.warren);
    // Heartbeats (and with them ticks) are 60 s apart here: only the turns spread the drop.
    await until('the first node to drop them all', () => presenceOf(first), (now) => now['rooms'] === 0, 5_000);
    await stopped;
  });

  it('sends the presence frame after the replay also when the relay is behind (the connection waits for it)', async () => {
    const speaker = await connect(first, 'name=speaker&room=busy');
    for (const text of ['one', 'two', 'three']) speaker.send({ type: 'say', text, id: text });
    await speaker.next('ack', { id: 'three' });
    const joiner = await connect(first, 'name=joiner&room=lobby');
    const from = joiner.frames.length;
    // The relay handles one message per turn of the event loop: behind this
    // many, it answers the join long after presence could have sent its frame.
    const relay = childRef(first.warren.app.root, 'relay') as RelayRef;
    joiner.send({ type: 'join', room: 'busy', history: 3, presence: true });
    for (let index = 0; index < 20_000; index++) cast(relay, { type: 'broker_state', state: 'connected' });
    await joiner.next('presence', { room: 'busy' }, 10_000);
    expect(joiner.frames.slice(from).map((frame) => frame.type)).to.deep.equal(['joined', 'message', 'message', 'message', 'presence']);
  });
});
