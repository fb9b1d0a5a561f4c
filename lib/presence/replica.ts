/**
 * One node's replica of cluster presence (PROTOCOL.md "Presence"), after
 * Phoenix.Tracker (LIBRARIES.md §9): each node owns its *slice* (room ->
 * user -> its connections on that node) and is its only writer; every node
 * keeps a copy of every other node's slice, learnt from the messages they
 * send on a fanout, and the cluster view of a room is the sum of the slices.
 * Pure: no timers and no I/O; the presence server passes the time in and
 * publishes what `outbox`, `heartbeat`, `hello` and `goodbye` return.
 *
 * The choices, and why:
 * - Entries carry absolute counts, not increments: applying one twice
 *   changes nothing, so a duplicated message is harmless, and a slice can
 *   be replaced whole by a snapshot.
 * - Each node numbers its deltas (seq). A receiver applies only the next
 *   one; a gap (a lost delta, or a heartbeat announcing a seq it has not
 *   seen) makes it ask that node for a snapshot (sync), again every
 *   RESYNC_AFTER_MS until one comes. Lost and reordered messages then heal
 *   without acknowledgements.
 * - Each start of a node has a higher incarnation: a message of a new one
 *   drops the old slice at once (the restarted node lost its sockets), and
 *   a late message of an old one is ignored.
 * - A node not heard for downAfterMs is down and its slice dropped: its
 *   members leave. Heard again, it starts from nothing and resyncs.
 * - The cluster view is kept incrementally (per room its members and total
 *   connections), so a local track or an applied entry costs O(1) and only
 *   a snapshot costs its size; onChange reports each change of a (room,
 *   user)'s count as it happens. A user's name is the one its latest writer
 *   gave.
 */

/** One (room, user) of one node's slice: the user's connections in the room on that node; 0 = gone. */
export type Entry = readonly [room: string, user: string, name: string, connections: number];

/** What nodes tell each other (JSON on the wire; field names short on purpose). */
export type PresenceMessage =
  /** The changes since the previous delta: absolute counts, so a repeated one changes nothing. */
  | { readonly t: 'delta'; readonly node: string; readonly inc: number; readonly seq: number; readonly entries: readonly Entry[] }
  /** "I am alive, and my slice is at seq": a receiver behind that seq has missed deltas. */
  | { readonly t: 'heartbeat'; readonly node: string; readonly inc: number; readonly seq: number }
  /** The node's whole slice at seq (entries with connections > 0 only): replaces what a receiver had. */
  | { readonly t: 'snapshot'; readonly node: string; readonly inc: number; readonly seq: number; readonly entries: readonly Entry[] }
  /** Asks `to` (a node id, or '*' for every node) for a snapshot. */
  | { readonly t: 'sync'; readonly node: string; readonly inc: number; readonly to: string }
  /** The node is stopping (drain): drop its slice at once. */
  | { readonly t: 'goodbye'; readonly node: string; readonly inc: number };

export interface ReplicaOptions {
  readonly node: string;
  /** Per start, growing: a message with a higher incarnation than known replaces that node's slice at once. */
  readonly incarnation: number;
  /** A node not heard from (any message) for this long is down: its slice is dropped. */
  readonly downAfterMs: number;
  /** A down node is forgotten (dropped from nodes()) this long after it went down. */
  readonly forgetAfterMs: number;
  /** Called for every change of a (room, user)'s cluster-wide count, local or remote, synchronously, O(1). */
  readonly onChange: (room: string, user: string) => void;
}

/** Never mutated once made (a change makes a new one), so a reader may keep it. */
export interface Member {
  readonly name: string;
  readonly connections: number;
}

export interface NodeInfo {
  readonly node: string;
  readonly incarnation: number;
  readonly up: boolean;
  readonly seq: number;
  readonly lastHeardAt: number;
  readonly entries: number;
}

/**
 * How long a node waits for the snapshot it asked for before asking again:
 * the sync or the snapshot may have been lost, and a snapshot of a large
 * slice should not be asked for at every outbox.
 */
export const RESYNC_AFTER_MS = 1000;

interface Slot {
  readonly room: string;
  readonly user: string;
  name: string;
  connections: number;
}

/** One node's slice: room -> user -> its slot. */
class Slice {
  private readonly rooms = new Map<string, Map<string, Slot>>();
  size = 0;

  get(room: string, user: string): Slot | undefined {
    return this.rooms.get(room)?.get(user);
  }

  add(slot: Slot): void {
    let users = this.rooms.get(slot.room);
    if (!users) this.rooms.set(slot.room, (users = new Map()));
    users.set(slot.user, slot);
    this.size++;
  }

  delete(slot: Slot): void {
    const users = this.rooms.get(slot.room)!;
    users.delete(slot.user);
    if (users.size === 0) this.rooms.delete(slot.room);
    this.size--;
  }

  *[Symbol.iterator](): IterableIterator<Slot> {
    for (const users of this.rooms.values()) yield* users.values();
  }
}

/** What this node knows of another. */
class Peer {
  up = true;
  /** The last of its deltas applied (or the seq of the snapshot that replaced its slice). */
  seq = 0;
  /** A delta was missed: its slice is stale until a snapshot comes. */
  behind = false;
  lastSyncAt = -Infinity;
  downAt = 0;
  slice = new Slice();

  constructor(
    readonly node: string,
    public incarnation: number,
    public lastHeardAt: number,
  ) {}
}

/** A room of the cluster view; `members.size` is its count of users. */
interface RoomView {
  readonly members: Map<string, Member>;
  connections: number;
}

const NO_ONE = { users: 0, connections: 0 } as const;
const NO_MEMBERS: ReadonlyMap<string, Member> = new Map();

export class Replica {
  private readonly local = new Slice();
  /** Local slots changed since the last delta; a slot at 0 stays in `local` until that delta says so. */
  private readonly dirty = new Set<Slot>();
  private readonly peers = new Map<string, Peer>();
  private readonly view = new Map<string, RoomView>();
  private ownSeq = 0;
  private snapshotAsked = false;

  constructor(private readonly options: ReplicaOptions) {}

  /** One more local connection of `user` in `room` (name: the latest given wins). O(1). */
  track(room: string, user: string, name: string): void {
    let slot = this.local.get(room, user);
    if (!slot) this.local.add((slot = { room, user, name, connections: 0 }));
    slot.name = name;
    slot.connections++;
    this.dirty.add(slot);
    this.adjust(room, user, 1, name);
  }

  /** One fewer. O(1). Untracking what was not tracked is a no-op. */
  untrack(room: string, user: string): void {
    const slot = this.local.get(room, user);
    if (!slot || slot.connections === 0) return;
    slot.connections--;
    this.dirty.add(slot);
    this.adjust(room, user, -1);
  }

  /**
   * Messages to publish now: the delta of local changes (if any, seq+1), a
   * snapshot if one was asked for since the last call (after the delta, at
   * the new seq), and sync requests for the nodes whose slices are behind
   * (at most one per node per RESYNC_AFTER_MS).
   */
  outbox(now: number): PresenceMessage[] {
    const { node, incarnation: inc } = this.options;
    const messages: PresenceMessage[] = [];
    if (this.dirty.size > 0) messages.push({ t: 'delta', node, inc, seq: ++this.ownSeq, entries: this.takeChanges() });
    if (this.snapshotAsked) {
      this.snapshotAsked = false;
      messages.push({ t: 'snapshot', node, inc, seq: this.ownSeq, entries: [...this.local].map(entryOf) });
    }
    for (const peer of this.peers.values()) {
      if (!peer.behind || now - peer.lastSyncAt < RESYNC_AFTER_MS) continue;
      peer.lastSyncAt = now;
      messages.push({ t: 'sync', node, inc, to: peer.node });
    }
    return messages;
  }

  /** True when outbox() has something to say, though a sync may wait for its RESYNC_AFTER_MS. */
  get pending(): boolean {
    return this.dirty.size > 0 || this.snapshotAsked || [...this.peers.values()].some((peer) => peer.behind);
  }

  heartbeat(): PresenceMessage {
    return { t: 'heartbeat', node: this.options.node, inc: this.options.incarnation, seq: this.ownSeq };
  }

  goodbye(): PresenceMessage {
    return { t: 'goodbye', node: this.options.node, inc: this.options.incarnation };
  }

  /** A sync to every node: what a node just started sends, to learn the whole state at once. */
  hello(): PresenceMessage {
    return { t: 'sync', node: this.options.node, inc: this.options.incarnation, to: '*' };
  }

  /** Applies a message from another node (its own are ignored). `now` marks the sender heard. */
  receive(message: PresenceMessage, now: number): void {
    if (message.node === this.options.node) return;
    const peer = this.heard(message.node, message.inc, now);
    if (!peer) return;
    switch (message.t) {
      case 'delta':
        if (message.seq === peer.seq + 1) {
          for (const entry of message.entries) this.apply(peer, entry);
          peer.seq = message.seq;
        } else if (message.seq > peer.seq) peer.behind = true;
        break;
      case 'heartbeat':
        if (message.seq > peer.seq) peer.behind = true;
        break;
      case 'snapshot':
        if (message.seq < peer.seq) break;
        this.replace(peer, message.entries);
        peer.seq = message.seq;
        peer.behind = false;
        break;
      case 'sync':
        if (message.to === this.options.node || message.to === '*') this.snapshotAsked = true;
        break;
      case 'goodbye':
        this.down(peer, now);
        break;
    }
  }

  /** Drops the slices of nodes not heard for downAfterMs (their members leave, each once) and forgets long-down nodes. */
  tick(now: number): void {
    for (const peer of this.peers.values()) {
      if (peer.up && now - peer.lastHeardAt >= this.options.downAfterMs) this.down(peer, now);
      else if (!peer.up && now - peer.downAt >= this.options.forgetAfterMs) this.peers.delete(peer.node);
    }
  }

  member(room: string, user: string): Member | undefined {
    return this.view.get(room)?.members.get(user);
  }

  /** {0, 0} for an unknown room. */
  counts(room: string): { readonly users: number; readonly connections: number } {
    const view = this.view.get(room);
    return view ? { users: view.members.size, connections: view.connections } : NO_ONE;
  }

  members(room: string): Iterable<[user: string, member: Member]> {
    return this.view.get(room)?.members ?? NO_MEMBERS;
  }

  /** This node's own count for (room, user). */
  localConnections(room: string, user: string): number {
    return this.local.get(room, user)?.connections ?? 0;
  }

  /** Every other node known, up or down. */
  nodes(): NodeInfo[] {
    return [...this.peers.values()].map(({ node, incarnation, up, seq, lastHeardAt, slice }) => ({ node, incarnation, up, seq, lastHeardAt, entries: slice.size }));
  }

  /** Rooms with at least one member. */
  get rooms(): number {
    return this.view.size;
  }

  /** This node's own seq: that of its last delta. */
  get seq(): number {
    return this.ownSeq;
  }

  /** The local changes as entries, forgetting the slots that went to 0. */
  private takeChanges(): Entry[] {
    const entries = [...this.dirty].map(entryOf);
    for (const slot of this.dirty) if (slot.connections === 0) this.local.delete(slot);
    this.dirty.clear();
    return entries;
  }

  /**
   * The peer a message comes from, marked heard; undefined when the message
   * is from an incarnation older than known. A newer one, or a peer heard
   * again after it went down, starts from an empty slice.
   */
  private heard(node: string, incarnation: number, now: number): Peer | undefined {
    let peer = this.peers.get(node);
    if (!peer) this.peers.set(node, (peer = new Peer(node, incarnation, now)));
    if (incarnation < peer.incarnation) return undefined;
    if (incarnation > peer.incarnation) {
      this.forgetSlice(peer);
      peer.incarnation = incarnation;
      peer.lastSyncAt = -Infinity;
    }
    peer.up = true;
    peer.lastHeardAt = now;
    return peer;
  }

  private down(peer: Peer, now: number): void {
    this.forgetSlice(peer);
    peer.up = false;
    peer.downAt = now;
  }

  private forgetSlice(peer: Peer): void {
    this.replace(peer, []);
    peer.seq = 0;
    peer.behind = false;
  }

  /** One entry of a peer's delta. O(1). */
  private apply(peer: Peer, [room, user, name, connections]: Entry): void {
    const slot = peer.slice.get(room, user);
    const before = slot?.connections ?? 0;
    if (connections === 0) {
      if (slot) peer.slice.delete(slot);
    } else if (slot) {
      slot.name = name;
      slot.connections = connections;
    } else peer.slice.add({ room, user, name, connections });
    this.adjust(room, user, connections - before, connections > 0 ? name : undefined);
  }

  /**
   * Replaces a peer's slice with `entries` (a snapshot's): O(old + new).
   * Entries the old slice already had as they are write nothing, so a
   * snapshot does not undo a later writer's name.
   */
  private replace(peer: Peer, entries: readonly Entry[]): void {
    const old = peer.slice;
    peer.slice = new Slice();
    for (const [room, user, name, connections] of entries) {
      const slot = old.get(room, user);
      if (slot) old.delete(slot);
      if (connections > 0) peer.slice.add({ room, user, name, connections });
      const unchanged = slot?.connections === connections && slot.name === name;
      this.adjust(room, user, connections - (slot?.connections ?? 0), unchanged || connections === 0 ? undefined : name);
    }
    for (const slot of old) this.adjust(slot.room, slot.user, -slot.connections);
  }

  /**
   * Changes (room, user)'s cluster count by `by` and, when given, its name.
   * O(1). A user whose count reaches 0 leaves; a room without members goes.
   */
  private adjust(room: string, user: string, by: number, name?: string): void {
    if (by === 0 && name === undefined) return;
    let view = this.view.get(room);
    if (!view) this.view.set(room, (view = { members: new Map(), connections: 0 }));
    const member = view.members.get(user);
    const connections = (member?.connections ?? 0) + by;
    view.connections += by;
    if (connections > 0) view.members.set(user, { name: name ?? member!.name, connections });
    else {
      view.members.delete(user);
      if (view.members.size === 0) this.view.delete(room);
    }
    if (by !== 0) this.options.onChange(room, user);
  }
}

function entryOf({ room, user, name, connections }: Slot): Entry {
  return [room, user, name, connections];
}
