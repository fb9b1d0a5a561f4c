import { expect } from 'chai';
import { type RelayRef, type DuplicateLookup, relay } from '../../lib/actors/relay';
import type { ConsumerRef } from '../../lib/actors/consumer';
import { encodeBatch, type Message } from '../../lib/broker/batch';
import { logPosition } from '../../lib/broker/position';
import { call, cast, startLink } from '../../lib/otp/gen_server';
import { Process } from '../../lib/otp/process';
import { getState } from '../../lib/otp/sys';
import { chatMessage, parseFrame } from '../support/chat_frames';
import { eventually } from '../support/eventually';
import { captureLogs } from '../support/logs';
import { type Recorded, startRecorder } from '../support/recorder';
import { useSystem } from '../support/system';

/** Each deliver a consumer got, as the frames' fields. */
const delivered = (recorded: Recorded[]) =>
  recorded.filter((m) => m.type === 'deliver').map((m) => (m['frames'] as Array<string | Uint8Array>).map(parseFrame));
/** The same, as texts, with `*` after a replayed one and the first frame's type when it is not a message. */
const texts = (recorded: Recorded[]) =>
  delivered(recorded).map((frames) => frames.map((f) => (f['type'] === 'message' ? `${f['text']}${f['replay'] ? '*' : ''}` : `${f['type']}:${f['recovered']}`)));

/** Four messages a room (and one more kept for recovery). */
const LIMITS = { size: 4, ttlMs: 60_000, maxBytes: 1 << 20, maxRecover: 10 };

describe('relay', () => {
  const system = useSystem();
  let relayRef: RelayRef;
  let nextOffset: number;
  const info = () => Process.of(relayRef)!.behaviour.info(Process.of(relayRef)!);
  beforeEach(async () => {
    nextOffset = 0;
    relayRef = await startLink(system.link('relay'), relay, LIMITS);
  });

  const join = (consumer: { ref: unknown }, room: string, options: { history?: number; since?: string; answer?: string } = {}) =>
    cast(relayRef, { type: 'join', room, consumer: consumer.ref as ConsumerRef, history: options.history ?? 0, ...options });
  const member = async (name: string, ...rooms: string[]) => {
    const consumer = await startRecorder(system.link(name));
    for (const room of rooms) join(consumer, room);
    return consumer;
  };
  /** One batch of the log, at the next offset (offsets skip, as a stream's do at segment ends). */
  const deliverMessages = (messages: Message[], to: RelayRef = relayRef) => {
    const offset = (nextOffset += 2);
    cast(to, { type: 'deliver', batch: encodeBatch(messages), offset });
    return offset;
  };
  const deliver = (...messages: Array<[room: string, text: string]>) => deliverMessages(messages.map(([room, text]) => chatMessage(room, text)));
  /** The `pos` of the message with `text`, as `watcher` got it. */
  const posOf = (watcher: { log: Recorded[] }, text: string) => delivered(watcher.log).flat().find((f) => f['text'] === text)!['pos'] as string;

  it('fans a batch out to the members of each room only: one message per consumer per room, frames in order', async () => {
    const a = await member('a', 'lobby');
    const b = await member('b', 'lobby', 'dev');
    const c = await member('c', 'other');
    deliver(['lobby', 'L1'], ['dev', 'D1'], ['lobby', 'L2']);
    await eventually(() => expect(texts(b.log)).to.have.length(2));
    expect(texts(a.log)).to.deep.equal([['L1', 'L2']]);
    expect(texts(b.log)).to.deep.equal([['L1', 'L2'], ['D1']]);
    expect(c.log).to.be.empty;
    expect(info()).to.include({ rooms: 3, members: 3, batches: 1, deliveries: 5 });
  });

  it("writes each message's log position into its frame: offset and index, the same for every node reading that batch", async () => {
    const other = await startLink(system.link('other-relay'), relay, LIMITS);
    const [here, there] = [await member('here', 'lobby'), await startRecorder(system.link('there'))];
    cast(other, { type: 'join', room: 'lobby', consumer: there.ref as unknown as ConsumerRef, history: 0 });
    const messages = [chatMessage('lobby', 'first'), chatMessage('lobby', 'second')];
    // Each node decodes its own copy of the batch, as each reads its own from RabbitMQ.
    const offset = deliverMessages(messages);
    cast(other, { type: 'deliver', batch: encodeBatch(messages), offset });
    await eventually(() => expect(texts(here.log)).to.deep.equal([['first', 'second']]));
    await eventually(() => expect(texts(there.log)).to.deep.equal([['first', 'second']]));
    const positions = delivered(here.log)[0]!.map((f) => f['pos'] as string);
    expect(positions.map((pos) => Number.parseInt(pos.slice(0, 16), 16))).to.deep.equal([logPosition(offset, 0), logPosition(offset, 1)]);
    expect(delivered(there.log)[0]!.map((f) => f['pos'])).to.deep.equal(positions);
  });

  it("tells each delivery how far into its room it brings the consumer (its last message's pos; on a join, the room's newest): where a restarted consumer resumes", async () => {
    const watcher = await member('watcher', 'lobby', 'dev');
    deliver(['lobby', 'L1'], ['dev', 'D1'], ['lobby', 'L2']);
    await eventually(() => expect(texts(watcher.log)).to.have.length(2));
    const reached = (recorded: Recorded[]) => recorded.filter((m) => m.type === 'deliver').map((m) => [m['room'], m['pos']]);
    expect(reached(watcher.log)).to.deep.equal([
      ['lobby', posOf(watcher, 'L2')],
      ['dev', posOf(watcher, 'D1')],
    ]);
    const late = await startRecorder(system.link('late'));
    join(late, 'lobby');
    await eventually(() => expect(reached(late.log)).to.deep.equal([['lobby', posOf(watcher, 'L2')]]));
    expect(texts(late.log)).to.deep.equal([[]]);
  });

  it("on a join with history, hands over the room's last messages as replays, then the live ones: none both, none missed", async () => {
    await member('watcher', 'lobby');
    deliver(['lobby', '1'], ['dev', 'd'], ['lobby', '2']);
    deliver(['lobby', '3'], ['lobby', '4'], ['lobby', '5']);
    const late = await startRecorder(system.link('late'));
    join(late, 'lobby', { history: 10 });
    deliver(['lobby', '6']);
    // The ring holds 4 (size), oldest first; the live batch follows.
    await eventually(() => expect(texts(late.log)).to.deep.equal([['2*', '3*', '4*', '5*'], ['6']]));
  });

  describe('recovery (a join with since)', () => {
    it('sends the answer with recovered: true, then exactly what followed the position as replays, then the live messages', async () => {
      const watcher = await member('watcher', 'lobby');
      deliver(['lobby', 'seen'], ['lobby', 'missed 1']);
      deliver(['dev', 'elsewhere'], ['lobby', 'missed 2']);
      await eventually(() => expect(texts(watcher.log)).to.have.length(2));
      const back = await startRecorder(system.link('back'));
      join(back, 'lobby', { since: posOf(watcher, 'seen'), answer: '{"type":"joined","room":"lobby"}' });
      deliver(['lobby', 'live']);
      await eventually(() => expect(texts(back.log)).to.deep.equal([['joined:true', 'missed 1*', 'missed 2*'], ['live']]));
    });

    it('sends nothing but the answer when the position is the newest', async () => {
      const watcher = await member('watcher', 'lobby');
      deliver(['lobby', 'last']);
      await eventually(() => expect(texts(watcher.log)).to.have.length(1));
      const back = await startRecorder(system.link('back'));
      join(back, 'lobby', { since: posOf(watcher, 'last'), answer: '{"type":"joined","room":"lobby"}' });
      await eventually(() => expect(texts(back.log)).to.deep.equal([['joined:true']]));
    });

    /** A watcher gets a to f (a alone, then b to f), and `back` joins with `since` the position `seen` names. */
    async function recoveringAfter(seen: (pos: (text: string) => string) => string, history = 0, to: RelayRef = relayRef, name = 'back') {
      const watcher = await startRecorder(system.link(`${name}-watcher`));
      cast(to, { type: 'join', room: 'lobby', consumer: watcher.ref as unknown as ConsumerRef, history: 0 });
      deliverMessages([chatMessage('lobby', 'a')], to);
      deliverMessages(['b', 'c', 'd', 'e', 'f'].map((text) => chatMessage('lobby', text)), to);
      await eventually(() => expect(texts(watcher.log)).to.have.length(2));
      const back = await startRecorder(system.link(name));
      const since = seen((text) => posOf(watcher, text));
      cast(to, { type: 'join', room: 'lobby', consumer: back.ref as unknown as ConsumerRef, history, since, answer: '{"type":"joined","room":"lobby"}' });
      return back;
    }

    // Size 4: the room serves c to f, and keeps b too, for recovery; a was pushed out.
    const cases: Array<[why: string, since: (pos: (text: string) => string) => string]> = [
      ['a position that is not ours', () => 'from-elsewhere'],
      ['our format from another deployment (the same number, another message)', (pos) => `${pos('c').slice(0, 17)}${pos('c').endsWith('zzzzzzz') ? '0000000' : 'zzzzzzz'}`],
      ['a position the history no longer keeps (more than `size` missed)', (pos) => pos('a')],
    ];
    for (const [why, since] of cases) {
      it(`answers recovered: false, then the room's recent history, for ${why}`, async () => {
        const back = await recoveringAfter(since, 2);
        await eventually(() => expect(texts(back.log)).to.deep.equal([['joined:false', 'e*', 'f*']]));
      });
    }

    it('recovers a client that missed exactly `size` messages', async () => {
      const back = await recoveringAfter((pos) => pos('b'));
      await eventually(() => expect(texts(back.log)).to.deep.equal([['joined:true', 'c*', 'd*', 'e*', 'f*']]));
    });

    it("without history asked for, a failed recovery sends the room's whole history, `size` messages", async () => {
      const back = await recoveringAfter((pos) => pos('a'));
      await eventually(() => expect(texts(back.log)).to.deep.equal([['joined:false', 'c*', 'd*', 'e*', 'f*']]));
    });

    it('answers recovered: false past maxRecover missed messages, and recovers exactly maxRecover', async () => {
      const strict = await startLink(system.link('strict-relay'), relay, { ...LIMITS, maxRecover: 2 });
      const tooMany = await recoveringAfter((pos) => pos('c'), 1, strict, 'too-many');
      await eventually(() => expect(texts(tooMany.log)).to.deep.equal([['joined:false', 'f*']]));
      const strictToo = await startLink(system.link('strict-relay-2'), relay, { ...LIMITS, maxRecover: 2 });
      const enough = await recoveringAfter((pos) => pos('d'), 1, strictToo, 'enough');
      await eventually(() => expect(texts(enough.log)).to.deep.equal([['joined:true', 'e*', 'f*']]));
    });
  });

  it('answers a join call only once its consumer has been sent the answer and the replay', async () => {
    const watcher = await member('watcher', 'lobby');
    deliver(['lobby', 'seen'], ['lobby', 'missed']);
    await eventually(() => expect(texts(watcher.log)).to.have.length(1));
    const back = await startRecorder(system.link('back'));
    const answered = await call(relayRef, { type: 'join', room: 'lobby', consumer: back.ref as unknown as ConsumerRef, history: 0, since: posOf(watcher, 'seen'), answer: '{"type":"welcome"}' });
    expect(answered).to.equal('joined');
    await eventually(() => expect(texts(back.log)).to.deep.equal([['welcome:true', 'missed*']]));
  });

  it('drops a resend already delivered, on every node alike: not fanned out, not kept, counted; and lends its window to the broker', async () => {
    const watcher = await member('watcher', 'lobby');
    const key = 'client:tab-0123456789abcdef\nc1';
    deliverMessages([chatMessage('lobby', 'original', { key, msgId: 'n1-r-1' }), chatMessage('lobby', 'other', { key: 'client:x\nc1' })]);
    deliverMessages([chatMessage('lobby', 'resent', { key, msgId: 'n2-r-9' }), chatMessage('lobby', 'after')]);
    await eventually(() => expect(texts(watcher.log)).to.deep.equal([['original', 'other'], ['after']]));
    expect(info()).to.include({ duplicatesDropped: 1, historyMessages: 3 });
    const late = await startRecorder(system.link('late'));
    join(late, 'lobby', { history: 3 });
    await eventually(() => expect(texts(late.log)).to.deep.equal([['original*', 'other*', 'after*']]));
    const window = (await call(relayRef, { type: 'duplicates' })) as DuplicateLookup;
    expect(window.lookup('lobby', key, Date.now()), "a resend now: the original's msgId").to.equal('n1-r-1');
  });

  it('tells how late the last batch was read, from the time its message was accepted', async () => {
    deliverMessages([chatMessage('lobby', 'slow', { at: Date.now() - 5_000 })]);
    await eventually(() => expect(info()['lagMs']).to.be.within(5_000, 60_000));
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
      cast(relayRef, { type: 'deliver', batch: Buffer.from([5, 1, 2]), offset: 0 });
      deliver(['lobby', 'after']);
      await eventually(() => expect(texts(a.log)).to.deep.equal([['after']]));
    } finally {
      logs.restore();
    }
    expect(logs.messages()).to.include('dropped a malformed batch from the broker');
  });
});
