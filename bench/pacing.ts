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
