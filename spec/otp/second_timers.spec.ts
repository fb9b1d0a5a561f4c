import { expect } from 'chai';
import type { Ref } from '../../lib/otp/process';
import { SecondTimers } from '../../lib/otp/second_timers';
import { until } from '../support/eventually';

/** Stand-ins for process refs: the wheel only keeps them and hands them back. */
const refs = (count: number) => Array.from({ length: count }, (_, i) => ({ name: `p${i}` }) as unknown as Ref);

function recordingTimers() {
  const delivered: Array<{ to: Ref; at: number; message: string }> = [];
  const timers = new SecondTimers('wake', (to, message) => delivered.push({ to, at: Date.now(), message }));
  return { timers, delivered };
}

describe('otp/second_timers', function () {
  this.timeout(10_000);

  it('sends the one message to every process due in a second, once, never before its time', async () => {
    const { timers, delivered } = recordingTimers();
    const due = Date.now() + 1200;
    const processes = refs(50);
    for (const ref of processes) timers.sendAt(ref, due);
    expect(timers.size).to.equal(50);
    await until('all 50 to be woken', () => delivered.length, (count) => count === 50);
    expect(delivered.map((entry) => entry.to)).to.have.members(processes);
    expect(delivered.every((entry) => entry.message === 'wake' && entry.at >= due)).to.equal(true);
    expect(timers.size).to.equal(0);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(delivered).to.have.length(50, 'no second wake-up');
  });

  it('rounds up to a whole second, and says which one, to cancel with', () => {
    const { timers } = recordingTimers();
    const [ref] = refs(1);
    expect(timers.sendAt(ref!, 1_764_100_000_001)).to.equal(1_764_100_001);
    expect(timers.sendAt(ref!, 1_764_100_000_000)).to.equal(1_764_100_000);
    timers.cancel(ref!, 1_764_100_001);
    timers.cancel(ref!, 1_764_100_000);
    expect(timers.size).to.equal(0);
  });

  it('sends nothing to a process that cancelled, and still wakes the others of its second', async () => {
    const { timers, delivered } = recordingTimers();
    const [kept, cancelled] = refs(2);
    const second = timers.sendAt(kept!, Date.now() + 500);
    expect(timers.sendAt(cancelled!, Date.now() + 500)).to.equal(second);
    timers.cancel(cancelled!, second);
    await until('the kept one to be woken', () => delivered.length, (count) => count === 1);
    expect(delivered[0]!.to).to.equal(kept);
  });

  it('wakes an earlier second first when it comes after a later one, and then the later one', async () => {
    const { timers, delivered } = recordingTimers();
    const [late, early] = refs(2);
    timers.sendAt(late!, Date.now() + 2100);
    timers.sendAt(early!, Date.now() + 100);
    await until('both to be woken', () => delivered.length, (count) => count === 2);
    expect(delivered.map((entry) => entry.to)).to.deep.equal([early, late]);
  });

  it('keeps the earlier second armed when a later one comes after it', async () => {
    const { timers, delivered } = recordingTimers();
    const [early, late] = refs(2);
    const earlyDue = Date.now() + 100;
    timers.sendAt(early!, earlyDue);
    timers.sendAt(late!, Date.now() + 3000);
    await until('the early one to be woken', () => delivered.length, (count) => count === 1);
    expect(delivered[0]!.to).to.equal(early);
    expect(delivered[0]!.at - earlyDue, 'woken in its own second, not with the later one').to.be.below(2000);
  });

  it('ignores a cancel for a second nobody waits in', () => {
    const { timers } = recordingTimers();
    const [ref] = refs(1);
    expect(() => timers.cancel(ref!, 1_764_100_000)).to.not.throw();
  });

  it('sets one Node timer for a second, not one per turn until it comes', async () => {
    const { timers, delivered } = recordingTimers();
    const original = globalThis.setTimeout;
    let armed = 0;
    // Only the wheel's own timers count, not those of the polling below.
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      if (new Error().stack?.includes('second_timers.ts')) armed++;
      return original(...args);
    }) as typeof setTimeout;
    try {
      timers.sendAt(refs(1)[0]!, Date.now() + 1200);
      await until('the wake-up', () => delivered.length, (count) => count === 1);
    } finally {
      globalThis.setTimeout = original;
    }
    expect(armed).to.be.within(1, 2);
  });

  it('keeps a process due beyond what one Node timer can wait (24.8 days) while it wakes the nearer ones', async () => {
    const { timers, delivered } = recordingTimers();
    const [near, far] = refs(2);
    timers.sendAt(far!, Date.now() + 30 * 86_400_000);
    timers.sendAt(near!, Date.now() + 100);
    await until('the near one to be woken', () => delivered.length, (count) => count === 1);
    expect(delivered[0]!.to).to.equal(near);
    expect(timers.size).to.equal(1);
  });
});
