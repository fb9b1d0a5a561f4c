/**
 * Each room's recent messages on this node (PROTOCOL.md "Positions, history
 * and recovery"): what `join` with `history` replays.
 *
 * Three bounds, all O(1) per message:
 * - per room, the last `size` messages (a ring);
 * - per message, `ttlMs`: older ones are never served, and are dropped as
 *   the rooms are touched;
 * - per node, `maxBytes`: past it, the least recently active rooms are
 *   forgotten whole, oldest activity first, so that a burst in one room
 *   cannot starve every other room of a few messages each.
 *
 * Rooms are kept in a Map in order of their last message (a room is moved
 * to the end when it gets one), so the least recently active room is always
 * the first, and a room whose newest message passed the ttl takes all of its
 * messages with it: both evictions look only at the front.
 *
 * Frames are kept as strings: a 140-byte frame then costs about 190 bytes in
 * all, where a Buffer of its own costs over 300 (bench: `npm run bench:history`).
 */

export interface HistoryLimits {
  /** Messages kept per room. */
  readonly size: number;
  /** A message older than this is never replayed. */
  readonly ttlMs: number;
  /** Bytes kept on this node, all rooms together, as counted by `messageBytes`. */
  readonly maxBytes: number;
}

/**
 * What one kept message costs, as the budget counts it: its frame's length
 * plus the string's header and the ring's slots (16 + 8 + 8 bytes, measured
 * with heap snapshots on Node 20). Close to the real heap for ASCII frames;
 * a frame of other characters counts its UTF-16 length once, not twice.
 */
export const MESSAGE_OVERHEAD_BYTES = 32;

export function messageBytes(frame: string): number {
  return frame.length + MESSAGE_OVERHEAD_BYTES;
}

/** One room's ring: slot `(head + i) % size` for i < count, oldest first. */
class Ring {
  // Parallel arrays, filled by push until full: no object per message.
  readonly frames: string[] = [];
  readonly at: number[] = [];
  head = 0;
  count = 0;
  bytes = 0;
  /** When the newest message came; it stays when the ttl empties the ring. */
  newestAt = 0;

  constructor(private readonly size: number) {}

  /** Adds a frame; returns the frame it pushed out when the ring was full. */
  push(frame: string, at: number): string | undefined {
    let pushedOut: string | undefined;
    if (this.count < this.size) {
      const slot = (this.head + this.count) % this.size;
      this.frames[slot] = frame;
      this.at[slot] = at;
      this.count++;
    } else {
      pushedOut = this.frames[this.head]!;
      this.frames[this.head] = frame;
      this.at[this.head] = at;
      this.head = (this.head + 1) % this.size;
    }
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

  oldestAt(): number | undefined {
    return this.count === 0 ? undefined : this.at[this.head];
  }

  /** The last `n` frames, oldest first. */
  last(n: number): string[] {
    const taken = Math.min(n, this.count);
    const out: string[] = [];
    for (let i = this.count - taken; i < this.count; i++) out.push(this.frames[(this.head + i) % this.size]!);
    return out;
  }
}

export class RoomHistory {
  private readonly rooms = new Map<string, Ring>();
  private bytes = 0;
  private messages = 0;

  constructor(private readonly limits: HistoryLimits) {}

  /** Keeps `frame` as the newest message of `room`, received at `now` (ms). */
  append(room: string, frame: string, now: number): void {
    let ring = this.rooms.get(room);
    if (ring) this.rooms.delete(room); // re-inserted below: now the most recently active
    else ring = new Ring(this.limits.size);
    this.rooms.set(room, ring);
    const pushedOut = ring.push(frame, now);
    this.bytes += messageBytes(frame) - (pushedOut === undefined ? 0 : messageBytes(pushedOut));
    if (pushedOut === undefined) this.messages++;
    this.forgetExpired(now);
    this.forgetOverBudget(ring);
  }

  /** The last `n` messages of `room` still within the ttl, oldest first. */
  recent(room: string, n: number, now: number): string[] {
    const ring = this.rooms.get(room);
    if (!ring || n <= 0) return [];
    this.dropExpiredEntries(ring, now);
    return ring.last(n);
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

  private dropExpiredEntries(ring: Ring, now: number): void {
    for (let at = ring.oldestAt(); at !== undefined && now - at >= this.limits.ttlMs; at = ring.oldestAt()) this.dropOldest(ring);
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
