/**
 * Each room's recent messages on this node (PROTOCOL.md "Positions, history
 * and recovery"): what `join` with `history` replays.
 *
 * Every node reads the same log in the same order, and each message carries
 * `at`, its `ts` set by the node that accepted it: append takes its clock
 * from there, never from the local one, so two nodes that read the same log
 * hold the same history, message for message and byte for byte, and reading
 * it (`recent`, `after`) changes nothing. Only what is served is cut by the
 * local clock.
 *
 * Three bounds, all O(1) per message:
 * - per room, the last `size` messages (a ring);
 * - per message, `ttlMs`: older ones are never served, and are dropped as
 *   their room gets a message;
 * - per node, `maxBytes`: past it, the least recently active rooms are
 *   forgotten whole, oldest activity first, so that a burst in one room
 *   cannot starve every other room of a few messages each.
 *
 * Rooms are kept in a Map in order of their last message (a room is moved
 * to the end when it gets one), so the least recently active room is always
 * the first, and a room whose newest message passed the ttl takes all of its
 * messages with it: both evictions look only at the front.
 *
 * Frames are kept as strings: a 140-byte frame then costs about 200 bytes in
 * all, where a Buffer of its own costs over 300 (bench: `npm run bench:history`).
 */

export interface HistoryLimits {
  /** Messages kept per room. */
  readonly size: number;
  /** A message older than this is never replayed; at least 1 (the config's ttlSeconds is). */
  readonly ttlMs: number;
  /** Bytes kept on this node, all rooms together, as counted by `messageBytes`. */
  readonly maxBytes: number;
}

/**
 * What one kept message costs, as the budget counts it: its frame's length
 * plus the string's header and the ring's slots for the frame, its time and
 * its position (16 + 8 + 8 + 8 bytes, measured with `npm run bench:history`
 * on Node 20). Close to the real heap for ASCII frames;
 * a frame of other characters counts its UTF-16 length once, not twice.
 */
export const MESSAGE_OVERHEAD_BYTES = 40;

export function messageBytes(frame: string): number {
  return frame.length + MESSAGE_OVERHEAD_BYTES;
}

/** One room's ring: slot `(head + i) % size` for i < count, oldest first. */
class Ring {
  // Parallel arrays, filled by push until full: no object per message.
  readonly frames: string[] = [];
  readonly at: number[] = [];
  readonly positions: number[] = [];
  head = 0;
  count = 0;
  bytes = 0;
  /** When the newest message came; it stays when the ttl empties the ring. */
  newestAt = 0;

  constructor(private readonly size: number) {}

  /** Adds a frame; returns the frame it pushed out when the ring was full. */
  push(frame: string, at: number, position: number): string | undefined {
    let pushedOut: string | undefined;
    let slot = this.head;
    if (this.count < this.size) {
      slot = this.slot(this.count);
      this.count++;
    } else {
      pushedOut = this.frames[slot]!;
      this.head = (this.head + 1) % this.size;
    }
    this.frames[slot] = frame;
    this.at[slot] = at;
    this.positions[slot] = position;
    this.bytes += messageBytes(frame) - (pushedOut === undefined ? 0 : messageBytes(pushedOut));
    this.newestAt = at;
    return pushedOut;
  }

  /** Drops the oldest frame; returns its bytes. */
  shift(): number {
    const bytes = messageBytes(this.frames[this.head]!);
    this.frames[this.head] = ''; // let the frame go
    this.head = (this.head + 1) % this.size;
    this.count--;
    this.bytes -= bytes;
    return bytes;
  }

  /** The slot of the i-th message, oldest first. */
  slot(i: number): number {
    return (this.head + i) % this.size;
  }
}

export class RoomHistory {
  private readonly rooms = new Map<string, Ring>();
  private bytes = 0;
  private messages = 0;

  constructor(private readonly limits: HistoryLimits) {}

  /**
   * Keeps `frame` as the newest message of `room`: `at` is its `ts` and
   * `position` its place in the log, both read from the log.
   */
  append(room: string, frame: string, at: number, position: number): void {
    let ring = this.rooms.get(room);
    if (ring) this.rooms.delete(room); // re-inserted below: now the most recently active
    else ring = new Ring(this.limits.size);
    this.rooms.set(room, ring);
    const pushedOut = ring.push(frame, at, position);
    this.bytes += messageBytes(frame) - (pushedOut === undefined ? 0 : messageBytes(pushedOut));
    if (pushedOut === undefined) this.messages++;
    this.dropExpiredEntries(ring, at);
    this.forgetExpired(at);
    this.forgetOverBudget(ring);
  }

  /** The last `n` messages of `room` still within the ttl at `now` (the local clock), oldest first. */
  recent(room: string, n: number, now: number): string[] {
    const ring = this.rooms.get(room);
    const out: string[] = [];
    if (!ring) return out;
    // Accepting nodes' clocks differ: an older `at` may follow a newer one.
    for (let i = ring.count - 1; i >= 0 && out.length < n; i--) {
      const slot = ring.slot(i);
      if (this.fresh(ring, slot, now)) out.push(ring.frames[slot]!);
    }
    return out.reverse();
  }

  /**
   * The messages of `room` that followed the kept message at `position`,
   * whose frame also contains `frameHas` (so that the same number from
   * another deployment or an earlier stream matches nothing), oldest first;
   * `[]` when it is the newest. Undefined when that message is not kept, or
   * when it or one that followed it is past the ttl at `now`, or more than
   * `max` followed it: the caller cannot recover the room then.
   *
   * From the newest backwards, never past `max + 1` messages: a message
   * further back has more than `max` followers. Positions start over with a
   * recreated stream, so a smaller one is no reason to stop.
   */
  after(room: string, position: number, frameHas: string, max: number, now: number): string[] | undefined {
    const ring = this.rooms.get(room);
    if (!ring) return undefined;
    const followers: string[] = [];
    for (let i = ring.count - 1; i >= 0 && followers.length <= max; i--) {
      const slot = ring.slot(i);
      if (!this.fresh(ring, slot, now)) return undefined;
      const frame = ring.frames[slot]!;
      if (ring.positions[slot] === position && frame.includes(frameHas)) return followers.reverse();
      followers.push(frame);
    }
    return undefined;
  }

  /** For /debug/tree and metrics. */
  stats(): { rooms: number; messages: number; bytes: number } {
    return { rooms: this.rooms.size, messages: this.messages, bytes: this.bytes };
  }

  /** Rooms at the front whose newest message is past the ttl: every message of theirs is. */
  private forgetExpired(now: number): void {
    for (const [room, ring] of this.rooms) {
      if (now - ring.newestAt < this.limits.ttlMs) return;
      this.forget(room, ring);
    }
  }

  /**
   * The least recently active rooms go first. The room that just grew is the
   * most recently active; alone over the budget, it loses its oldest messages
   * down to the newest one.
   */
  private forgetOverBudget(growing: Ring): void {
    for (const [room, ring] of this.rooms) {
      if (this.bytes <= this.limits.maxBytes) return;
      if (ring !== growing) this.forget(room, ring);
      else {
        while (this.bytes > this.limits.maxBytes && ring.count > 1) this.dropOldest(ring);
        return;
      }
    }
  }

  /**
   * The ring's oldest messages past the ttl at `now`, stopping at the first
   * one within it: at the latest the one just appended at `now`, as the ttl
   * is at least 1 ms.
   */
  private dropExpiredEntries(ring: Ring, now: number): void {
    while (!this.fresh(ring, ring.head, now)) this.dropOldest(ring);
  }

  private fresh(ring: Ring, slot: number, now: number): boolean {
    return now - ring.at[slot]! < this.limits.ttlMs;
  }

  private dropOldest(ring: Ring): void {
    this.bytes -= ring.shift();
    this.messages--;
  }

  private forget(room: string, ring: Ring): void {
    this.rooms.delete(room);
    this.bytes -= ring.bytes;
    this.messages -= ring.count;
  }
}
