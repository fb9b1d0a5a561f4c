/**
 * What this node tells its presence subscribers about each room
 * (PROTOCOL.md "Presence"): at most one `presence_diff` per room per window,
 * and the `presence` frame a subscriber gets when it asks or joins.
 *
 * Each open room (one with a local subscriber) keeps its *published view*:
 * the members as the frames sent so far describe them. A diff is that view
 * against the current state, for the users touched in the window only, and
 * a flush moves the view on. A subscriber that joins mid-window is given the
 * published view (and itself), not the current state, so the diff that
 * follows applies to its list exactly as to every other subscriber's. A user
 * who joins and leaves within one window is absent from both sides of the
 * comparison: the pair cancels out, and a flapping connection costs nothing.
 *
 * The members a `presence` frame lists (sorted, at most maxListed) are cached
 * per open room until a flush changes who is in the view: 10,000 joiners of a
 * 10,000-member room then select and sort once, not 10,000 times.
 *
 * Costs: touch O(1); flush O(touched users), except when the listed cache is
 * recomputed (a bounded selection, O(n log maxListed)) or a room falls back
 * under maxListed (a full `presence` frame, since the clients' truncated
 * lists are stale).
 *
 * Pure: no timers; time is passed in, and the caller sets its timer from
 * nextDueAt().
 */
import { encodePresenceDiff, encodePresenceMember, encodePresenceOf, type PresenceMember } from '../protocol/server_frames';
import type { Member } from './replica';

export interface MemberSource {
  member(room: string, user: string): Member | undefined;
  counts(room: string): { readonly users: number; readonly connections: number };
  members(room: string): Iterable<[string, Member]>;
}
export interface CoalescerOptions {
  /** At most one frame per room per window (250 ms). */
  readonly windowMs: number;
  /** Above this many users a room lists only this many, and its diffs carry only counts (100). */
  readonly maxListed: number;
  readonly source: MemberSource;
}
export interface Flushed { readonly room: string; readonly frame: string }

interface Counts { readonly users: number; readonly connections: number }

/** One member of a published view: the name its join announced; connections as of the last flush. */
interface Published { readonly name: string; connections: number }
type Listed = readonly [user: string, member: Published];

/**
 * A room's listed members, sorted, each encoded once: every presence frame
 * until the list changes reuses the encodings (encoding 100 members was
 * about 55 µs of each join of a 10,000-member room, measured by
 * `npm run bench -- --presence`), and only the subscriber's own entry is
 * encoded per frame.
 */
interface List {
  readonly entries: readonly Listed[];
  readonly encoded: readonly string[];
  /** user -> its place in `entries`. */
  readonly places: ReadonlyMap<string, number>;
}

class OpenRoom {
  /** Users whose count changed since the last flush. */
  readonly touched = new Set<string>();
  /** When flush() has this room's frame to write; undefined while nothing is touched. */
  dueAt: number | undefined;
  lastFrameAt = -Infinity;
  /** The members of the published view, sorted, at most maxListed; undefined until asked for since a flush changed them. */
  listed: List | undefined;
  /** A subscriber was given other counts than `counts` since the last flush: the next one sends the counts whatever they are. */
  unevenCounts = false;

  constructor(
    readonly room: string,
    readonly published: Map<string, Published>,
    /** The counts the last frame carried (at open: the counts then). */
    public counts: Counts,
  ) {}
}

export class Coalescer {
  private readonly rooms = new Map<string, OpenRoom>();
  /** Rooms with a dueAt, soonest first; an entry whose room was closed since is skipped. */
  private readonly due = new Heap<OpenRoom>((a, b) => a.dueAt! < b.dueAt!);

  constructor(private readonly options: CoalescerOptions) {}

  get openRooms(): number {
    return this.rooms.size;
  }

  open(room: string): void {
    if (this.rooms.has(room)) return;
    const { source } = this.options;
    const published = new Map<string, Published>();
    for (const [user, { name, connections }] of source.members(room)) published.set(user, { name, connections });
    this.rooms.set(room, new OpenRoom(room, published, source.counts(room)));
  }

  close(room: string): void {
    this.rooms.delete(room);
  }

  isOpen(room: string): boolean {
    return this.rooms.has(room);
  }

  touch(room: string, user: string, now: number): void {
    const open = this.rooms.get(room);
    if (open === undefined) return;
    open.touched.add(user);
    if (open.dueAt !== undefined) return;
    open.dueAt = Math.max(now, open.lastFrameAt + this.options.windowMs);
    this.due.push(open);
  }

  flush(now: number): Flushed[] {
    const flushed: Flushed[] = [];
    for (let open = this.soonest(); open !== undefined && open.dueAt! <= now; open = this.soonest()) {
      this.due.pop();
      open.dueAt = undefined;
      const frame = this.frameOf(open);
      if (frame === undefined) continue;
      open.lastFrameAt = now;
      flushed.push({ room: open.room, frame });
    }
    return flushed;
  }

  nextDueAt(): number | undefined {
    return this.soonest()?.dueAt;
  }

  presenceFrame(room: string, self: { readonly user: string; readonly name: string }, id: string | undefined): string {
    const { source, maxListed } = this.options;
    const open = this.rooms.get(room);
    const list = open === undefined ? listOf(source.members(room), maxListed) : (open.listed ??= listOf(open.published, maxListed));
    const truncated = (open === undefined ? source.counts(room).users : open.published.size) > maxListed;
    let { users, connections } = source.counts(room);
    const current = source.member(room, self.user);
    // Not tracked yet: its own connection counts all the same.
    if (current === undefined) {
      users += 1;
      connections += 1;
    }
    const own = encodePresenceMember(wire(self.user, self.name, current ?? { connections: 1 }));
    const members = list.encoded.slice();
    const place = list.places.get(self.user);
    // Listed: with its current connections (it may have just opened another); else in its sorted place.
    if (place !== undefined) members[place] = own;
    else members.splice(placeOf(list.entries, self.name, self.user), 0, own);
    if (open !== undefined && (users !== open.counts.users || connections !== open.counts.connections)) open.unevenCounts = true;
    return encodePresenceOf({ room, members, users, connections, truncated: truncated || undefined, id });
  }

  /** The due queue's first live entry, after dropping those of closed rooms. */
  private soonest(): OpenRoom | undefined {
    let open = this.due.peek();
    while (open !== undefined && this.rooms.get(open.room) !== open) {
      this.due.pop();
      open = this.due.peek();
    }
    return open;
  }

  /** Moves the published view to the current state for the touched users; the frame that says so, if any. */
  private frameOf(open: OpenRoom): string | undefined {
    const { source, maxListed } = this.options;
    const { room, published } = open;
    const joins: { user: string; name: string }[] = [];
    const leaves: { user: string }[] = [];
    for (const user of open.touched) {
      const current = source.member(room, user);
      const was = published.get(user);
      if (current === undefined) {
        if (was === undefined) continue;
        published.delete(user);
        leaves.push({ user });
      } else if (was === undefined) {
        published.set(user, { name: current.name, connections: current.connections });
        joins.push({ user, name: current.name });
      } else {
        was.connections = current.connections;
      }
      if (open.listed !== undefined && changesList(open.listed, user, current?.name, maxListed)) open.listed = undefined;
    }
    open.touched.clear();
    const counts = source.counts(room);
    const wasAbove = open.counts.users > maxListed;
    const changed = open.unevenCounts || counts.users !== open.counts.users || counts.connections !== open.counts.connections;
    open.counts = counts;
    open.unevenCounts = false;
    const { users, connections } = counts;
    if (users > maxListed) return changed ? encodePresenceDiff({ room, users, connections }) : undefined;
    if (wasAbove) {
      open.listed = listOf(published, maxListed);
      return encodePresenceOf({ room, members: open.listed.encoded, users, connections });
    }
    return changed || joins.length + leaves.length > 0 ? encodePresenceDiff({ room, joins, leaves, users, connections }) : undefined;
  }
}

function wire(user: string, name: string, { connections }: { readonly connections: number }): PresenceMember {
  return { user, name, connections };
}

/** The first `max` of `members` by name, then user, each encoded once. */
function listOf(members: Iterable<readonly [string, Published]>, max: number): List {
  const entries = select(members, max);
  return {
    entries,
    encoded: entries.map(([user, member]) => encodePresenceMember(wire(user, member.name, member))),
    places: new Map(entries.map(([user], place) => [user, place])),
  };
}

/** Where (name, user) goes in sorted `entries`: a binary search. */
function placeOf(entries: readonly Listed[], name: string, user: string): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    const [otherUser, other] = entries[middle]!;
    if (before(other.name, otherUser, name, user)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Whether a flush's change of `user` (now named `name`, or gone) changes
 * what `list` shows: a listed member that left or whose count moved, or a
 * newcomer that sorts into it. Anyone else in a room above maxListed
 * leaves the list as it is, and its encodings with it.
 */
function changesList(list: List, user: string, name: string | undefined, max: number): boolean {
  if (list.places.has(user)) return true;
  if (name === undefined) return false;
  if (list.entries.length < max) return true;
  const [lastUser, last] = list.entries[list.entries.length - 1]!;
  return before(name, user, last.name, lastUser);
}

/** The order of `members`: by name, then user, by UTF-16 code units (the same on every node, whatever its locale). */
function before(nameA: string, userA: string, nameB: string, userB: string): boolean {
  return nameA < nameB || (nameA === nameB && userA < userB);
}

/** The first `max` members in the order of `before`, sorted: a heap of the best `max` so far, O(n log max). */
function select<M extends { readonly name: string }>(members: Iterable<readonly [string, M]>, max: number): (readonly [string, M])[] {
  const after = (a: readonly [string, M], b: readonly [string, M]) => before(b[1].name, b[0], a[1].name, a[0]);
  const best = new Heap<readonly [string, M]>(after); // the worst kept on top
  for (const entry of members) {
    if (best.size < max) best.push(entry);
    else if (best.size > 0 && after(best.peek()!, entry)) best.replaceTop(entry);
  }
  const sorted: (readonly [string, M])[] = [];
  for (let entry = best.pop(); entry !== undefined; entry = best.pop()) sorted.push(entry);
  return sorted.reverse();
}

/** A binary heap: `first(a, b)` when a comes out before b. */
class Heap<T> {
  private readonly items: T[] = [];

  constructor(private readonly first: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const { items } = this;
    let i = items.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.first(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const { items } = this;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0) this.replaceTop(last!);
    return top;
  }

  /** Puts `item` in the place of the top item (there is one) and restores the order. */
  replaceTop(item: T): void {
    const { items } = this;
    items[0] = item;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      let next = i;
      if (left < items.length && this.first(items[left]!, items[next]!)) next = left;
      if (left + 1 < items.length && this.first(items[left + 1]!, items[next]!)) next = left + 1;
      if (next === i) return;
      [items[i], items[next]] = [items[next]!, items[i]!];
      i = next;
    }
  }
}
