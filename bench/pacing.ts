/**
 * How fast a bench client may send and stay under the daemon's per-connection
 * rate limit (PROTOCOL.md: a token bucket of `burst` frames, refilled at
 * `rate` per second, full when the connection opens): one burst at 90% of
 * the bucket, then 90% of the refill rate. The headroom absorbs the jitter
 * between when the load generator sends and when the daemon reads.
 */
const HEADROOM = 0.9;

/** How many says a client may have sent `elapsedMs` after the start signal, of `messages`. */
export function saysAllowed(elapsedMs: number, messages: number, rate: number, burst: number): number {
  const firstBurst = Math.floor(burst * HEADROOM);
  return Math.min(messages, firstBurst + Math.floor((Math.max(0, elapsedMs) / 1000) * rate * HEADROOM));
}

/**
 * When each client's says go, and the send time each carries (frames.ts):
 * the latency of a delivery is taken from that time.
 */
export interface Schedule {
  /** How often the load generator sends what is due. */
  readonly tickMs: number;
  /** How many says client `index` (of the run) is due to have sent `elapsedUs` after the start signal. */
  due(index: number, elapsedUs: number): number;
  /** The send time say `k` of client `index` carries, given the start signal's and the present time. */
  stampUs(index: number, k: number, startUs: number, nowUs: number): number;
}

// Ten per second would be visible in a paced run's latency, which is taken
// from the scheduled time: 1 ms is the finest a node timer gives.
const BURST_TICK_MS = 10;
const PACED_TICK_MS = 1;

/** The burst: every client sends its says as fast as the rate limit lets it, each stamped when it is sent. */
export function burstSchedule(messages: number, rate: number, burst: number): Schedule {
  return {
    tickMs: BURST_TICK_MS,
    due: (_index, elapsedUs) => saysAllowed(elapsedUs / 1000, messages, rate, burst),
    stampUs: (_index, _k, _startUs, now) => now,
  };
}

/**
 * Paced: client i of N sends say k at (i / N + k) / R seconds after the
 * start signal, so that the clients' phases spread over one period instead
 * of firing together. Each say carries that scheduled time, not the time it
 * went: a load generator that falls behind does not hide the server's
 * queueing (no coordinated omission).
 */
export function pacedSchedule(clients: number, messages: number, ratePerClient: number): Schedule {
  const periodUs = 1e6 / ratePerClient;
  const offsetUs = (index: number, k: number) => Math.round(((index / clients) + k) * periodUs);
  return {
    tickMs: PACED_TICK_MS,
    due: (index, elapsedUs) => {
      // The estimate, then corrected so that it agrees with offsetUs's rounding exactly.
      let k = Math.max(0, Math.min(messages, Math.floor(elapsedUs / periodUs - index / clients) + 1));
      while (k < messages && offsetUs(index, k) <= elapsedUs) k++;
      while (k > 0 && offsetUs(index, k - 1) > elapsedUs) k--;
      return k;
    },
    stampUs: (index, k, startUs) => startUs + offsetUs(index, k),
  };
}
