import { expect } from 'chai';
import { call, cast } from '../../lib/otp/gen_server';
import { Process, send } from '../../lib/otp/process';
import { type TraceEnd, type TraceEvent, type TraceLimits, messageSize, trace } from '../../lib/otp/trace';
import { eventually } from '../support/eventually';
import { type ProbeRef, startProbe } from '../support/probe';
import { useSystem } from '../support/system';

/** What a trace told its sink. */
class Recorded {
  readonly events: TraceEvent[] = [];
  ended: { reason: TraceEnd; traced: number } | undefined;
  message(event: TraceEvent): void {
    this.events.push(event);
  }
  end(reason: TraceEnd, traced: number): void {
    expect(this.ended, 'ended once').to.equal(undefined);
    this.ended = { reason, traced };
  }
}

const LIMITS: TraceLimits = { count: 100, rate: 1000, seconds: 60 };

describe('trace: the messages one process handles (sys:trace, recon_trace)', () => {
  const system = useSystem();
  let probe: ProbeRef;
  let proc: Process;
  beforeEach(async () => {
    probe = await startProbe(system.link('traced'), { id: 'traced', journal: [] });
    proc = Process.of(probe)!;
  });
  const notes = (n: number) => {
    for (let i = 0; i < n; i++) cast(probe, { type: 'note', text: `note ${i}` });
  };

  it('gives each message its kind, type, size, the mailbox left and the time it took, never its payload', async () => {
    const started = performance.now();
    const sink = new Recorded();
    trace(proc, LIMITS, sink);
    notes(2);
    send(probe, { type: 'tick' });
    await call(probe, { type: 'slow', ms: 30 });
    // A call's event comes once its handler has settled, just after its reply.
    await eventually(() => expect(sink.events).to.have.length(4));
    expect(sink.events.map(({ n, kind, type, size }) => ({ n, kind, type, size }))).to.deep.equal([
      { n: 1, kind: 'cast', type: 'note', size: 4 + 6 },
      { n: 2, kind: 'cast', type: 'note', size: 4 + 6 },
      { n: 3, kind: 'info', type: 'tick', size: 4 },
      { n: 4, kind: 'call', type: 'slow', size: 4 + 8 },
    ]);
    expect(sink.events[0]!.mailbox, 'three more waited behind the first').to.equal(3);
    expect(sink.events[3]!.mailbox).to.equal(0);
    expect(sink.events[3]!.us, 'until the awaited handler settled').to.be.at.least(25_000).and.at.most((performance.now() - started) * 1000);
    expect(sink.events[0]!.at).to.be.closeTo(Date.now(), 1000);
    expect(JSON.stringify(sink.events)).not.to.include('note 0');
  });

  it('stops after its count, and the process is no longer traced', async () => {
    const sink = new Recorded();
    trace(proc, { ...LIMITS, count: 3 }, sink);
    notes(5);
    await call(probe, { type: 'seen' });
    expect(sink.events.map((event) => event.n)).to.deep.equal([1, 2, 3]);
    expect(sink.ended).to.deep.equal({ reason: 'count', traced: 3 });
    const again = new Recorded();
    expect(trace(proc, LIMITS, again), 'free to trace again').not.to.equal(undefined);
  });

  it('ends once: a stop after the end tells nothing more, and a handler that settles after the end is not traced', async () => {
    const sink = new Recorded();
    const handle = trace(proc, { ...LIMITS, count: 1 }, sink)!;
    notes(1);
    await call(probe, { type: 'seen' });
    handle.stop(); // Recorded fails on a second end
    expect(sink.ended).to.deep.equal({ reason: 'count', traced: 1 });

    const late = new Recorded();
    const lateHandle = trace(proc, LIMITS, late)!;
    const slow = call(probe, { type: 'slow', ms: 50 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    lateHandle.stop();
    await slow;
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(late.events).to.deep.equal([]);
  });

  it('counts its rate per second: as many again in the next second go on', async () => {
    const sink = new Recorded();
    trace(proc, { ...LIMITS, rate: 2 }, sink);
    notes(2);
    await eventually(() => expect(sink.events).to.have.length(2));
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    notes(2);
    await eventually(() => expect(sink.events).to.have.length(4));
    expect(sink.ended).to.equal(undefined);
  });

  it('stops when more than its rate arrive within a second, without the one over it', async () => {
    const sink = new Recorded();
    trace(proc, { ...LIMITS, rate: 4 }, sink);
    notes(6);
    await call(probe, { type: 'seen' });
    expect(sink.events).to.have.length(4);
    expect(sink.ended).to.deep.equal({ reason: 'rate', traced: 4 });
  });

  it('stops after its time, when the process exits, and when its reader leaves', async () => {
    const timed = new Recorded();
    trace(proc, { ...LIMITS, seconds: 0.05 }, timed);
    await eventually(() => expect(timed.ended).to.deep.equal({ reason: 'timeout', traced: 0 }));

    const closed = new Recorded();
    trace(proc, LIMITS, closed)!.stop();
    expect(closed.ended).to.deep.equal({ reason: 'closed', traced: 0 });
    notes(1);
    await call(probe, { type: 'seen' });
    expect(closed.events).to.deep.equal([]);

    const exited = new Recorded();
    trace(proc, LIMITS, exited);
    notes(1);
    await eventually(() => expect(exited.events).to.have.length(1));
    await proc.shutdown('shutdown');
    expect(exited.ended).to.deep.equal({ reason: 'exited', traced: 1 });
  });

  it('refuses a second trace of the same process, and leaves the first running', async () => {
    const first = new Recorded();
    trace(proc, LIMITS, first);
    expect(trace(proc, LIMITS, new Recorded())).to.equal(undefined);
    notes(2);
    await eventually(() => expect(first.events).to.have.length(2));
    expect(first.ended).to.equal(undefined);
  });

  it('sees a crash as the message that caused it, then the exit', async () => {
    const sink = new Recorded();
    trace(proc, LIMITS, sink);
    cast(probe, { type: 'crash' });
    await eventually(() => expect(sink.ended).to.deep.equal({ reason: 'exited', traced: 1 }));
    expect(sink.events[0]).to.include({ kind: 'cast', type: 'crash' });
  });

  it('sizes a message by what it carries: UTF-8 text, buffer lengths, 8 per number or reference, three levels deep', () => {
    expect(messageSize('héllo')).to.equal(6);
    expect(messageSize(Buffer.alloc(100))).to.equal(100);
    expect(messageSize(new ArrayBuffer(7))).to.equal(7);
    expect(messageSize({ type: 'x', n: 1, flag: true, none: undefined, empty: null })).to.equal(1 + 8 + 8 + 8);
    expect(messageSize([new Uint8Array(3), 'ab'])).to.equal(5);
    expect(messageSize(new Map([['k', 'value']]))).to.equal(5);
    expect(messageSize({ a: { b: { c: 'deep' } } })).to.equal(4);
    expect(messageSize({ a: { b: { c: { d: 'deeper' } } } }), 'the fourth level counts as a reference').to.equal(8);
  });
});
