import { expect } from 'chai';
import { type RelayRef, relay } from '../../lib/actors/relay';
import type { ConsumerRef } from '../../lib/actors/consumer';
import { encodeBatch } from '../../lib/broker/batch';
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
  const info = () => (Process.of(relayRef)!.behaviour.info(Process.of(relayRef)!) as Record<string, number>);
  beforeEach(async () => {
    relayRef = await startLink(system.link('relay'), relay, undefined);
  });

  const member = async (name: string, ...rooms: string[]) => {
    const consumer = await startRecorder(system.link(name));
    for (const room of rooms) cast(relayRef, { type: 'join', room, consumer: consumer.ref as ConsumerRef });
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
