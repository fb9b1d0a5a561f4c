/**
 * erlang:send_after for timers that many processes hold for long and that
 * need no finer grain than a second, such as a connection's token expiry.
 *
 * A Node timer per process would cost about 450 bytes each when their
 * durations differ (measured: 10,000 timers, V8 heap after a GC), more than a
 * tenth of an idle connection, because Node keeps one timer list per
 * distinct duration. Here the processes due in the same second share one
 * Set, and a single Node timer waits for the earliest second: the timer
 * wheel the BEAM itself keeps, at one-second resolution.
 */
import { type Ref, send } from './process';

// setTimeout takes at most 2^31 - 1 ms (24.8 days) and fires at once beyond
// it: a farther second is looked at again after that long.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SecondTimers<Message> {
  private readonly due = new Map<number, Set<Ref>>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  /** Every timer sends the same `message`: one object, shared, whatever the number of processes. */
  constructor(
    private readonly message: Message,
    private readonly deliver: (to: Ref, message: Message) => unknown = send,
  ) {}

  /** Sends the message to `ref` in the first whole second at or after `atMs` (epoch ms); returns the second, to cancel with. */
  sendAt(ref: Ref, atMs: number): number {
    const second = Math.ceil(atMs / 1000);
    let refs = this.due.get(second);
    if (refs === undefined) this.due.set(second, (refs = new Set()));
    refs.add(ref);
    if (second < this.armedFor) this.arm(second);
    return second;
  }

  cancel(ref: Ref, second: number): void {
    const refs = this.due.get(second);
    if (refs?.delete(ref) && refs.size === 0) this.due.delete(second);
    // The Node timer stays armed: waking for a second with nobody left costs one scan.
  }

  /** How many processes wait, for the observer. */
  get size(): number {
    let size = 0;
    for (const refs of this.due.values()) size += refs.size;
    return size;
  }

  private arm(second: number): void {
    clearTimeout(this.timer);
    this.armedFor = second;
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(second * 1000 - Date.now(), 0), MAX_TIMER_MS));
    // Waiting timers alone do not keep the process alive, as in Erlang.
    this.timer.unref();
  }

  // One scan of the seconds per wake-up: there are as many as distinct due
  // seconds (a few thousand for tokens of an hour), not one per process.
  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [second, refs] of this.due) {
      if (second * 1000 > now) {
        next = Math.min(next, second);
        continue;
      }
      this.due.delete(second);
      for (const ref of refs) this.deliver(ref, this.message);
    }
    if (next !== Infinity) this.arm(next);
  }
}
