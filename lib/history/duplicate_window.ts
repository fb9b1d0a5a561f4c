/**
 * Which `say`s read from the log are resends of one already delivered
 * (PROTOCOL.md "Idempotent resends"): a client resends every `say` it never
 * saw acked, and the copy may reach the log through another node, after the
 * first copy or even before that node heard of it. Only the log sees both,
 * so each node decides from the log alone, in its order, and with the `ts`
 * each message carries (set by the node that accepted it, the same on every
 * node): every node then drops the same copies, and a node that reads the
 * log again after a restart drops them too.
 *
 * The rule: a message with a key (the sender's client key or user, the room
 * and the `say`'s id) is a copy when the latest earlier message of its room
 * with that key is among the room's last `size` messages and less than
 * `ttlMs` older (by `ts`); it is then a copy of the message delivered first
 * with that key, and its own arrival slides the window on. Every message
 * counts toward `size`, copies too, and a copy is judged against the latest
 * message with its key, copy or not: so a decision depends only on the
 * window before it, and a node that read the log from any point at least
 * `ttlMs + CLOCK_SKEW_MARGIN_MS` of log time before a message decides it as
 * every other node does. (Judged against the last *delivered* message only,
 * a key resent every 0.9 ttl would be dropped and delivered in turn, and a
 * node that started reading between two copies would take the other turn
 * for ever.)
 *
 * No byte budget: where a budget would cut depends on what else the node
 * holds, and nodes would decide differently. The bounds come from the log
 * instead: a room keeps only its keyed entries, each dropped as soon as the
 * room's later messages push it out of the last `size`, and a whole room
 * goes once its newest entry is older than ttl + the skew margin than the
 * newest `ts` read anywhere. A room without entries costs nothing, and a
 * message without a key allocates nothing.
 *
 * An entry costs about 215 bytes of heap with a key of 40 characters (the
 * key, its msgId of some 20, the entry object and its slot in the room's
 * Map), measured over 100,000 entries by `npm run bench:history`.
 */

/**
 * How far the clocks of two accepting nodes may differ: a message logged
 * after another may carry a `ts` up to this much older. A room is forgotten
 * only when no message that can still come could be judged a copy in it.
 */
export const CLOCK_SKEW_MARGIN_MS = 60_000;

export interface DuplicateLimits {
  /** A copy is caught among the room's last `size` messages. */
  readonly size: number;
  /** ... when less than this older (ms of `ts`). */
  readonly ttlMs: number;
}

interface Entry {
  /** The room's count of messages when the latest message with this key came. */
  readonly seq: number;
  readonly at: number;
  /** The message delivered with this key, which every later copy repeats. */
  readonly msgId: string;
}

class RoomKeys {
  /** In the order their latest message came, so the first leaves the window first. */
  readonly entries = new Map<string, Entry>();
  /** Messages of the room since it got its first entry. */
  count = 0;
  /** At most the first entry's `seq` (it lags when that entry moves on): no entry leaves the window before it does. */
  oldestSeq = 0;
  /** The greatest `at` of its entries. */
  newestAt = -Infinity;
}

export class DuplicateWindow {
  private readonly rooms = new Map<string, RoomKeys>(); // in order of their last keyed message
  private readonly forgetAfterMs: number;
  private keys = 0;
  private newestAt = -Infinity;
  /** The first room, where the last sweep stopped; undefined when that sweep emptied the Map. */
  private front: RoomKeys | undefined;
  /** Before this newest `at`, the front room is not old enough to forget: no need to look. */
  private nextSweepAt = Infinity;

  constructor(private readonly limits: DuplicateLimits) {
    this.forgetAfterMs = limits.ttlMs + CLOCK_SKEW_MARGIN_MS;
  }

  /**
   * Judges the next message read from the log (every one, in log order):
   * undefined when it is to be delivered, or the msgId of the delivered
   * message it is a copy of.
   */
  admit(room: string, key: string | undefined, at: number, msgId: string): string | undefined {
    if (at > this.newestAt) this.newestAt = at;
    let keys = this.rooms.get(room);
    let duplicate: string | undefined;
    if (key !== undefined) {
      if (keys) this.leave(room, keys); // re-inserted below: now the most recently active
      else keys = new RoomKeys();
      if (!this.front) this.nextSweepAt = -Infinity; // the first room there is: look at it
      this.rooms.set(room, keys);
      duplicate = this.copyOf(keys, key, at);
      if (keys.entries.delete(key)) this.keys--;
      keys.entries.set(key, { seq: keys.count, at, msgId: duplicate ?? msgId });
      this.keys++;
      if (at > keys.newestAt) keys.newestAt = at;
    }
    if (keys) this.count(room, keys);
    this.sweep();
    return duplicate;
  }

  /** The msgId that a message with `key`, accepted at `now`, would repeat if it were the room's next. */
  lookup(room: string, key: string, now: number): string | undefined {
    const keys = this.rooms.get(room);
    return keys && this.copyOf(keys, key, now);
  }

  /** For /debug/tree and metrics. */
  stats(): { rooms: number; keys: number } {
    return { rooms: this.rooms.size, keys: this.keys };
  }

  /** Every entry left is within the room's last `size` messages: `count` prunes the others at once. */
  private copyOf(keys: RoomKeys, key: string, at: number): string | undefined {
    const entry = keys.entries.get(key);
    return entry && at - entry.at < this.limits.ttlMs ? entry.msgId : undefined;
  }

  private count(room: string, keys: RoomKeys): void {
    keys.count++;
    const horizon = keys.count - this.limits.size;
    if (keys.oldestSeq >= horizon) return;
    for (const [key, entry] of keys.entries) {
      if (entry.seq >= horizon) {
        keys.oldestSeq = entry.seq;
        return;
      }
      keys.entries.delete(key);
      this.keys--;
    }
    this.leave(room, keys);
  }

  /** Takes the room out of the order; another room is first now if it was. */
  private leave(room: string, keys: RoomKeys): void {
    this.rooms.delete(room);
    if (keys !== this.front) return;
    this.front = undefined;
    this.nextSweepAt = -Infinity;
  }

  /** Forgets the rooms at the front whose newest entry no message still to come could match. */
  private sweep(): void {
    if (this.newestAt < this.nextSweepAt) return;
    for (const [room, keys] of this.rooms) {
      if (this.newestAt - keys.newestAt < this.forgetAfterMs) {
        this.front = keys;
        this.nextSweepAt = keys.newestAt + this.forgetAfterMs;
        return;
      }
      this.rooms.delete(room);
      this.keys -= keys.entries.size;
    }
    this.front = undefined;
    this.nextSweepAt = Infinity;
  }
}
