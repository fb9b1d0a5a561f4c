// Node limits before the upgrade (PROTOCOL.md "Connecting"): a refused
// upgrade gets HTTP 503 with Retry-After. They protect a node from the
// reconnect storm after another node dies: its clients all come back at once.

export type Refusal = { readonly reason: 'max_connections' | 'connect_rate'; readonly retryAfterSeconds: number };

// Thousandths of a token, as in lib/rate_limiter.ts: with whole milliseconds
// the refill (elapsed ms × tokens per second) is exact.
const TOKEN = 1000;

// A node at its cap frees sockets only as clients leave, and a node refuses
// the many clients of a dead node at once: a fixed Retry-After would bring
// them back together, in one wave that is refused again. Spread over 1 to 5 s
// they come back as sockets free up, and soon enough for a chat.
const FULL_RETRY_MIN_SECONDS = 1;
const FULL_RETRY_SPREAD_SECONDS = 5;

// The bucket is not lib/rate_limiter.ts's RateLimiter, though the arithmetic
// is the same line: there is one of these per node, and one RateLimiter per
// socket, kept small. Sharing a class would put an extra object in every
// connection's limiter (composition) or give it what only this one needs (a
// clock that may not go back, Retry-After).
export class ConnectionAdmission {
  private readonly capacity: number;
  private credit: number;
  private refilledAt: number | undefined;

  /**
   * `connectRate` new sockets per second sustained, in bursts of twice that:
   * the bucket starts full. `random` (as Math.random) spreads the Retry-After
   * of a full node.
   */
  constructor(
    private readonly limits: { readonly maxConnections: number; readonly connectRate: number },
    private readonly random: () => number = Math.random,
  ) {
    this.capacity = 2 * limits.connectRate * TOKEN;
    this.credit = this.capacity;
  }

  /**
   * `open`: the sockets this node holds plus the upgrades in flight, not
   * counting this one. `nowMs`: a monotonic clock (performance.now()), taken
   * in whole milliseconds. undefined: admitted, and one token taken. A
   * refused upgrade takes none.
   */
  admit(open: number, nowMs: number): Refusal | undefined {
    if (open >= this.limits.maxConnections) {
      return { reason: 'max_connections', retryAfterSeconds: FULL_RETRY_MIN_SECONDS + Math.floor(this.random() * FULL_RETRY_SPREAD_SECONDS) };
    }
    this.refill(Math.floor(nowMs));
    if (this.credit < TOKEN) {
      // connectRate is at least 1 (the schema), so the next token is at most
      // a second away: the whole seconds until it is free are 1.
      return { reason: 'connect_rate', retryAfterSeconds: 1 };
    }
    this.credit -= TOKEN;
    return undefined;
  }

  private refill(nowMs: number): void {
    if (this.refilledAt !== undefined) {
      // A clock seen going back (it should not) neither takes credit away
      // nor becomes the time the next refill counts from.
      if (nowMs < this.refilledAt) return;
      this.credit = Math.min(this.capacity, this.credit + (nowMs - this.refilledAt) * this.limits.connectRate);
    }
    this.refilledAt = nowMs;
  }
}
