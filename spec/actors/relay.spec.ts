import { expect } from 'chai';
import { type RelayRef, relay } from '../../lib/actors/relay';
import type { ConsumerRef } from '../../lib/actors/consumer';
import { encodeBatch } from '../../lib/broker/batch';
import { messageBytes } from '../../lib/history/room_history';
import { cast, startLink } from '../../lib/otp/gen_server';
import { Process } from '../../lib/otp/process';
import { getState } from '../../lib/otp/sys';
import { eventually } from '../support/eventually';
import { captureLogs } from '../support/logs';
import { type Recorded, startRecorder } from '../support/recorder';
import { useSystem } from '../support/system';

const frames = (recorded: Recorded[]) =>
  recorded.filter((m) => m.type === 'deliver').map((m) => (m['frames'] as Uint8Array[]).map((f) => Buffer.from(f).toString()));

describe('relay', () => {
  const system = useSystem();
  let relayRef: RelayRef;
  const info = () => Process.of(relayRef)!.behaviour.info(Process.of(relayRef)!);
  beforeEach(async () => {
    relayRef = await startLink(system.link('relay'), relay, { size: 3, ttlMs: 60_000, maxBytes: 1 << 20 });
  });

  const join = (consumer: { ref: unknown }, room: string, history = 0) =>
    cast(relayRef, { type: 'join', room, consumer: consumer.ref as ConsumerRef, history });
  const member = async (name: string, ...rooms: string[]) => {
    const consumer = await startRecorder(system.link(name));
    for (const room of rooms) join(consumer, room);
    return consumer;
  };
  const deliver = (...messages: Array<[room: string, frame: string]>) =>
    cast(relayRef, { type: 'deliver', batch: encodeBatch(messages.map(([room, frame]) => ({ room, frame }))) });

  it('fans a batch out to the members of each room only: one message per consumer per room, frames in order', async () => {
    const a = await member('a', 'lobby');
    const b = await member('b', 'lobby', 'dev');
    const c = await member('c', 'other');
    deliver(['lobby', 'L1'], ['dev', 'D1'], ['lobby', 'L2']);
    await eventually(() => expect(frames(b.log)).to.have.length(2));
    expect(frames(a.log)).to.deep.equal([['L1', 'L2']]);
    expect(frames(b.log)).to.deep.equal([['L1', 'L2'], ['D1']]);
    expect(c.log).to.be.empty;
    expect(info()).to.include({ rooms: 3, members: 3, batches: 1, deliveries: 5 });
  });

  it('on a join with history, hands over the room\'s last messages as replays, then the live ones: none both, none missed', async () => {
    const watcher = await member('watcher', 'lobby');
    deliver(['lobby', '{"n":1}'], ['dev', '{"d":1}'], ['lobby', '{"n":2}']);
    deliver(['lobby', '{"n":3}'], ['lobby', '{"n":4}']);
    const late = await startRecorder(system.link('late'));
    join(late, 'lobby', 10);
    deliver(['lobby', '{"n":5}']);
    await eventually(() => expect(frames(late.log)).to.have.length(2));
    // The ring holds 3 (size), oldest first; the live batch follows.
    expect(frames(late.log)).to.deep.equal([['{"n":2,"replay":true}', '{"n":3,"replay":true}', '{"n":4,"replay":true}'], ['{"n":5}']]);
    await eventually(() => expect(frames(watcher.log)).to.have.length(3));
    const again = await startRecorder(system.link('again'));
    join(again, 'lobby', 1);
    join(again, 'dev', 0);
    await eventually(() => expect(frames(again.log)).to.deep.equal([['{"n":5,"replay":true}']]));
    expect(info()).to.include({ historyRooms: 2, historyMessages: 4, historyBytes: 4 * messageBytes('{"n":5}') });
  });

  it('stops delivering a room to a member that left it, and forgets a member with no room left', async () => {
    const a = await member('a', 'lobby', 'dev');
    cast(relayRef, { type: 'leave', room: 'lobby', consumer: a.ref as ConsumerRef });
    deliver(['lobby', 'L'], ['dev', 'D']);
    await eventually(() => expect(frames(a.log)).to.deep.equal([['D']]));
    cast(relayRef, { type: 'leave', room: 'dev', consumer: a.ref as ConsumerRef });
    await eventually(() => expect(info()).to.include({ rooms: 0, members: 0 }));
  });

  it('drops a member from every room when it stops, through its monitor', async () => {
    const a = await member('a', 'lobby', 'dev');
    await eventually(() => expect(info()).to.include({ members: 1 }));
    await Process.of(a.ref)!.shutdown('shutdown');
    await eventually(() => expect(info()).to.include({ rooms: 0, members: 0 }));
    expect(getState<{ members: Map<unknown, unknown> }>(relayRef)!.members.size).to.equal(0);
  });

  it('logs and drops a malformed batch, and carries on', async () => {
    const a = await member('a', 'lobby');
    const logs = captureLogs('error');
    try {
      cast(relayRef, { type: 'deliver', batch: Buffer.from([5, 1, 2]) });
      deliver(['lobby', 'after']);
      await eventually(() => expect(frames(a.log)).to.deep.equal([['after']]));
    } finally {
      logs.restore();
    }
    expect(logs.messages()).to.include('dropped a malformed batch from the broker');
  });
});
