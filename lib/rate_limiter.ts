// Per-connection rate limit (PROTOCOL.md): a token bucket admits frames, and
// a count of the frames it dropped decides when the connection must close
// with 1008. O(1) time and constant memory per call, whatever the traffic.

export interface RateOptions {
  /** Sustained frames per second: the bucket's refill rate. */
  readonly perSecond: number;
  /** Most frames admitted at once: the bucket's capacity. */
  readonly burst: number;
}

export interface DropPolicy {
  /** More frames than this dropped within `windowMs`: close the connection. */
  readonly maxDropped: number;
  readonly windowMs: number;
}

export type Admission = 'ok' | 'limited' | 'close';

// Drops are counted in a ring of SLOTS time slots of windowMs / SLOTS each,
// with a running total. The counted span is the current slot plus the
// SLOTS - 1 before it: between 90% and 100% of the window. So the limiter
// never closes a connection that dropped no more than maxDropped frames in
// any window, and always closes one that dropped more within 90% of one.
// An exponentially decaying count would also be O(1) but has no window to
// state a policy in; keeping the time of every drop would take memory that
// grows with traffic.
const SLOTS = 10;

// The bucket counts in thousandths of a frame, so that with whole
// milliseconds the refill (elapsed ms × frames per second) is exact: 20 ms at
// 50 frames/s gives one whole frame, not 0.9999999.
const FRAME = 1000;

export class RateLimiter {
  // One limiter per connection: it keeps a reference to the shared limits
  // rather than copies, and whole numbers (small integers, not boxed
  // doubles) or undefined in its fields.
  private credit: number;
  private refilledAt: number | undefined;
  // Allocated at the first drop: most connections never have one.
  private droppedPerSlot: number[] | undefined;
  private droppedInWindow = 0;
  private lastDropSlot: number | undefined;

  /** Takes `config.limits` as it is. The bucket starts full. */
  constructor(private readonly limits: { readonly rate: RateOptions; readonly ratePolicy: DropPolicy }) {
    this.credit = limits.rate.burst * FRAME;
  }

  /**
   * Call once per client frame with a monotonic clock in whole milliseconds
   * that never goes back (Math.floor(performance.now())). 'ok': handle the
   * frame; 'limited': drop it with a rate_limited error; 'close': drop it
   * and close the connection with 1008.
   */
  admit(nowMs: number): Admission {
    this.refill(nowMs);
    if (this.credit >= FRAME) {
      this.credit -= FRAME;
      return 'ok';
    }
    return this.countDrop(nowMs) > this.limits.ratePolicy.maxDropped ? 'close' : 'limited';
  }

  private refill(nowMs: number): void {
    if (this.refilledAt !== undefined) {
      const { perSecond, burst } = this.limits.rate;
      this.credit = Math.min(burst * FRAME, this.credit + (nowMs - this.refilledAt) * perSecond);
    }
    this.refilledAt = nowMs;
  }

  /** Counts one drop at `nowMs`; returns the drops within the window. */
  private countDrop(nowMs: number): number {
    const slot = Math.floor(nowMs / (this.limits.ratePolicy.windowMs / SLOTS));
    const droppedPerSlot = (this.droppedPerSlot ??= new Array<number>(SLOTS).fill(0));
    if (this.lastDropSlot === undefined || slot - this.lastDropSlot >= SLOTS) {
      droppedPerSlot.fill(0);
      this.droppedInWindow = 0;
    } else {
      // Empty the slots entered since the last drop (fewer than SLOTS): they
      // still hold the drops of one window ago.
      for (let passed = this.lastDropSlot + 1; passed <= slot; passed++) {
        this.droppedInWindow -= droppedPerSlot[passed % SLOTS]!;
        droppedPerSlot[passed % SLOTS] = 0;
      }
    }
    this.lastDropSlot = slot;
    droppedPerSlot[slot % SLOTS]! += 1;
    return ++this.droppedInWindow;
  }
}
