/**
 * The scheduler warren's actors run on (lib/otp/nact.ts): slices of up to
 * MESSAGES_PER_SLICE messages per turn of the event loop instead of nact's
 * one message per `setImmediate`, with nact's promises kept: mailbox order,
 * one message at a time, a pending handler holding the mailbox, faults to
 * `onCrash`, nothing handled once stopped.
 */
import { expect } from 'chai';
import { stop } from 'nact';
import { findActor, MESSAGES_PER_SLICE, type Ref, deliver, spawn } from '../../lib/otp/nact';
import { eventually } from '../support/eventually';
import { useSystem } from '../support/system';

type Entry = number | string;

describe('the scheduler of warren\'s actors', () => {
  const system = useSystem();

  /** An actor that logs each message it handles; `handle` may do more first. */
  function logger(name: string, handle: (message: number, self: Ref) => unknown = () => undefined, properties: object = {}) {
    const log: Entry[] = [];
    const self: Ref = spawn<Entry[]>(system.ref, (state, message) => {
      const pending = handle(message as number, self);
      const logged = () => (log.push(message as number), state);
      return pending instanceof Promise ? pending.then(logged) : logged();
    }, name, { initialState: log, ...properties });
    return { self, log };
  }

  it('handles a burst in mailbox order, MESSAGES_PER_SLICE per turn, letting the event loop run between slices', async () => {
    const { self, log } = logger('burst');
    const count = 2 * MESSAGES_PER_SLICE + 10;
    for (let n = 0; n < count; n++) deliver(self, n);
    setImmediate(() => log.push('event loop'));
    await eventually(() => expect(log).to.have.length(count + 1));
    const numbers = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    expect(log).to.deep.equal([...numbers(0, MESSAGES_PER_SLICE), 'event loop', ...numbers(MESSAGES_PER_SLICE, count)]);
  });

  it('runs the synchronous messages of a slice back to back: a microtask queued by one runs after the slice', async () => {
    const { self, log } = logger('back-to-back', (n) => n === 0 && queueMicrotask(() => log.push('microtask')));
    for (const n of [0, 1, 2]) deliver(self, n);
    await eventually(() => expect(log).to.have.length(4));
    expect(log).to.deep.equal([0, 1, 2, 'microtask']);
  });

  it('holds the mailbox while a handler\'s promise is pending, then goes on in order', async () => {
    const { self, log } = logger('pending', (n) => (n === 1 ? new Promise((resolve) => setTimeout(resolve, 30)) : undefined));
    for (const n of [0, 1, 2, 3]) deliver(self, n);
    setTimeout(() => log.push('timer at 10 ms'), 10);
    await eventually(() => expect(log).to.have.length(5));
    expect(log).to.deep.equal([0, 'timer at 10 ms', 1, 2, 3]);
  });

  describe('a handler that fails', () => {
    for (const [how, fail] of [
      ['throws', () => { throw new Error('boom'); }],
      ['rejects', () => Promise.reject(new Error('boom'))],
    ] as const) {
      it(`${how}: nact's onCrash gets the message, and a resume goes on with the next one`, async () => {
        const crashed: unknown[] = [];
        const onCrash = (message: unknown, error: Error, ctx: { resume: symbol }) => (crashed.push([message, error.message]), ctx.resume);
        const { self, log } = logger(`fails-${how}`, (n) => (n === 1 ? fail() : undefined), { onCrash });
        for (const n of [0, 1, 2, 3]) deliver(self, n);
        await eventually(() => expect(log).to.have.length(3));
        expect(log).to.deep.equal([0, 2, 3]);
        expect(crashed).to.deep.equal([[1, 'boom']]);
      });
    }
  });

  it('handles nothing more of its slice once stopped: the rest of the mailbox goes to afterStop', async () => {
    let left: unknown[] | undefined;
    const afterStop = (_state: unknown, ctx: { mailbox: Array<{ message: unknown }> }) => (left = ctx.mailbox.map((queued) => queued.message));
    const { self, log } = logger('stops', (n, me) => n === 1 && stop(me as never), { afterStop });
    for (const n of [0, 1, 2, 3]) deliver(self, n);
    await eventually(() => expect(left).to.deep.equal([2, 3]));
    expect(log).to.deep.equal([0, 1]);
    expect(deliver(self, 4), 'nobody there').to.equal(false);
  });

  it('keeps no Immediate once its mailbox is empty (memory per idle actor), and handles the next message', async () => {
    const { self, log } = logger('idle');
    deliver(self, 0);
    expect(findActor(self)!.immediate, 'a slice is due').to.not.equal(undefined);
    await eventually(() => expect(log).to.deep.equal([0]));
    expect(findActor(self)!.immediate).to.equal(undefined);
    deliver(self, 1);
    await eventually(() => expect(log).to.deep.equal([0, 1]));
  });
});
