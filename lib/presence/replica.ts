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
 * - A snapshot travels in parts of at most SNAPSHOT_PART_ENTRIES entries,
 *   each its own message, because one message of a whole slice is handled
 *   in one turn on both sides, and a turn must not block the event loop
 *   for more than 20 ms (issue 12). Measured in one message: at 10,000
 *   entries building it took 13 ms, encoding 8, decoding 22 and applying
 *   44; at 100,000, 421/111/319/201 ms. The sender builds every part at
 *   once, at one seq S (with plain loops: a generator's walk was most of
 *   the 13 ms), the presence server publishes them one per turn, and the
 *   receiver applies each as it comes. So that what it shows stays right
 *   between parts, a snapshot at S starts a *generation* of the peer's
 *   slice: its applied seq becomes S at once, so deltas S+1... arriving
 *   between parts apply as usual; every slot a part or a delta writes is
 *   marked with the generation and the seq that wrote it, and a part does
 *   not overwrite what a delta after S wrote (nor bring back what it
 *   removed). When every part has come, the slots not marked with the
 *   generation are what the snapshot no longer holds: they go, in one
 *   sweep. Until then the peer counts as behind; a lost part makes it ask
 *   again RESYNC_AFTER_MS after the last part came, and the next snapshot
 *   starts a generation of its own, whose sweep also drops what the
 *   unfinished one left.
 * - A goodbye is final for its incarnation: a late message of it (a
 *   reordered delta) must not bring back a node that said it stopped.
 */

/** One (room, user) of one node's slice: the user's connections in the room on that node; 0 = gone. */
export type Entry = readonly [room: string, user: string, name: string, connections: number];

/** What nodes tell each other (JSON on the wire; field names short on purpose). */
export type PresenceMessage =
  /** The changes since the previous delta: absolute counts, so a repeated one changes nothing. */
  | { readonly t: 'delta'; readonly node: string; readonly inc: number; readonly seq: number; readonly entries: readonly Entry[] }
  /** "I am alive, and my slice is at seq": a receiver behind that seq has missed deltas. */
  | { readonly t: 'heartbeat'; readonly node: string; readonly inc: number; readonly seq: number }
  /** Part `part` (from 0) of `parts` of the node's whole slice at seq (entries with connections > 0 only): all of them replace what a receiver had. */
  | { readonly t: 'snapshot'; readonly node: string; readonly inc: number; readonly seq: number; readonly part: number; readonly parts: number; readonly entries: readonly Entry[] }
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
  /** The most entries in one part of a snapshot; SNAPSHOT_PART_ENTRIES unless given (specs give less, to see many parts). */
  readonly snapshotPartEntries?: number;
  /**
   * Dropped entries (a node down or gone, what a snapshot no longer holds)
   * taken off the cluster view per receive, tick or retire call at most;
   * the rest by later retire() calls. Unbounded when absent.
   */
  readonly retireBudget?: number;
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

/**
 * The most entries in one snapshot message. Measured on a loaded machine
 * (10,000 to 100,000 entries), a part of 1,000 took, as a median, under
 * 1 ms to encode, about 1 to decode and 0.2 to 1.5 to apply: well within
 * the 20 ms a turn may take, with room for a garbage collection.
 */
export const SNAPSHOT_PART_ENTRIES = 1000;

interface Slot {
  readonly room: string;
  readonly user: string;
  name: string;
  connections: number;
}

/** A slot of another node's slice, marked with what last wrote it. */
interface Written extends Slot {
  /** The peer's snapshot generation when it was written. */
  generation: number;
  /** The seq of the delta or snapshot that wrote it. */
  seq: number;
}

/** One node's slice: room -> user -> its slot. */
class Slice<T extends Slot> {
  private readonly rooms = new Map<string, Map<string, T>>();
  size = 0;

  get(room: string, user: string): T | undefined {
    return this.rooms.get(room)?.get(user);
  }

  add(slot: T): void {
    let users = this.rooms.get(slot.room);
    if (!users) this.rooms.set(slot.room, (users = new Map()));
    users.set(slot.user, slot);
    this.size++;
  }

  delete(slot: T): void {
    const users = this.rooms.get(slot.room)!;
    users.delete(slot.user);
    if (users.size === 0) this.rooms.delete(slot.room);
    this.size--;
  }

  /** Visits every slot; `visit` may delete the slot it is given. Plain loops: a generator costs most of a large slice's walk. */
  forEach(visit: (slot: T) => void): void {
    for (const users of this.rooms.values()) for (const slot of users.values()) visit(slot);
  }

  /** Its entries, in parts of at most `size` (one part, maybe empty, at least). */
  parts(size: number): Entry[][] {
    const parts: Entry[][] = [[]];
    this.forEach(({ room, user, name, connections }) => {
      if (parts[parts.length - 1]!.length === size) parts.push([]);
      parts[parts.length - 1]!.push([room, user, name, connections]);
    });
    return parts;
  }
}

/** What this node knows of another. */
class Peer {
  up = true;
  /** The last of its deltas applied (or the seq of the last snapshot begun, whose parts may still be coming). */
  seq = 0;
  /** A delta was missed: its slice is stale until a snapshot comes. */
  missed = false;
  /** Its goodbye came: nothing more of this incarnation counts. */
  saidGoodbye = false;
  lastSyncAt = -Infinity;
  downAt = 0;
  slice = new Slice<Written>();
  /** The snapshot generation last begun, at snapshotSeq (-1: none), of `parts` parts, `partsSeen` of them applied. */
  generation = 0;
  snapshotSeq = -1;
  parts = 0;
  partsSeen = new Set<number>();
  /** What deltas removed since the generation began, so that a part of it does not bring it back. */
  removed = new Slice<Slot>();

  constructor(
    readonly node: string,
    public incarnation: number,
    public lastHeardAt: number,
  ) {}

  /** Stale: a delta was missed, or a snapshot's parts are still coming. */
  get behind(): boolean {
    return this.missed || this.snapshotting;
  }

  get snapshotting(): boolean {
    return this.partsSeen.size < this.parts;
  }
}

/** A room of the cluster view; `members.size` is its count of users. */
interface RoomView {
  readonly members: Map<string, Member>;
  connections: number;
}

const NO_ONE = { users: 0, connections: 0 } as const;
const NO_MEMBERS: ReadonlyMap<string, Member> = new Map();

export class Replica {
  private readonly local = new Slice<Slot>();
  /** Local slots changed since the last delta; a slot at 0 stays in `local` until that delta says so. */
  private readonly dirty = new Set<Slot>();
  private readonly peers = new Map<string, Peer>();
  private readonly view = new Map<string, RoomView>();
  private ownSeq = 0;
  private snapshotAsked = false;
  /**
   * Slots dropped from a slice whose counts are still to be taken off the
   * view, from `retired` on (retire()). Taking 100,000 off at once held the event loop
   * for 33-97 ms; in budgets of a few thousand the presence server spreads
   * it over turns. A user counted both here and in a newer slot (a node
   * that came back) counts twice meanwhile, and leaves for neither: the
   * view is a sum, so the order of its terms does not matter.
   */
  private dropped: Written[] = [];
  private retired = 0;
  private memberCount = 0;

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
      const parts = this.local.parts(this.options.snapshotPartEntries ?? SNAPSHOT_PART_ENTRIES);
      parts.forEach((entries, part) => messages.push({ t: 'snapshot', node, inc, seq: this.ownSeq, part, parts: parts.length, entries }));
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
          for (const entry of message.entries) this.write(peer, entry, message.seq);
          peer.seq = message.seq;
        } else if (message.seq > peer.seq) peer.missed = true;
        break;
      case 'heartbeat':
        if (message.seq > peer.seq) peer.missed = true;
        break;
      case 'snapshot':
        this.snapshotPart(peer, message, now);
        break;
      case 'sync':
        if (message.to === this.options.node || message.to === '*') this.snapshotAsked = true;
        break;
      case 'goodbye':
        this.down(peer, now);
        peer.saidGoodbye = true;
        break;
    }
    this.retire();
  }

  /** Drops the slices of nodes not heard for downAfterMs (their members leave, each once) and forgets long-down nodes. */
  tick(now: number): void {
    for (const peer of this.peers.values()) {
      if (peer.up && now - peer.lastHeardAt >= this.options.downAfterMs) this.down(peer, now);
      else if (!peer.up && now - peer.downAt >= this.options.forgetAfterMs) this.peers.delete(peer.node);
    }
    this.retire();
  }

  /** Takes up to retireBudget of the dropped entries off the view (their members leave, each once). */
  retire(): void {
    const end = Math.min(this.dropped.length, this.retired + (this.options.retireBudget ?? Infinity));
    for (; this.retired < end; this.retired++) {
      const slot = this.dropped[this.retired]!;
      this.adjust(slot.room, slot.user, -slot.connections);
    }
    if (this.retiring) return;
    this.dropped = [];
    this.retired = 0;
  }

  /** Dropped entries are still counted in the view: retire() has more to do. */
  get retiring(): boolean {
    return this.retired < this.dropped.length;
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

  /** The members of every room together: a user in two rooms counts twice. */
  get memberships(): number {
    return this.memberCount;
  }

  /** The `n` rooms with the most users, most first: O(rooms), for /debug/tree. */
  largestRooms(n: number): Array<{ readonly room: string; readonly users: number; readonly connections: number }> {
    const largest: Array<{ room: string; users: number; connections: number }> = [];
    for (const [room, view] of this.view) {
      const users = view.members.size;
      if (largest.length === n && users <= largest[n - 1]!.users) continue;
      const at = largest.findIndex((other) => users > other.users);
      largest.splice(at < 0 ? largest.length : at, 0, { room, users, connections: view.connections });
      if (largest.length > n) largest.pop();
    }
    return largest;
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
    if (incarnation < peer.incarnation || (incarnation === peer.incarnation && peer.saidGoodbye)) return undefined;
    if (incarnation > peer.incarnation) {
      this.forgetSlice(peer);
      // Before the new incarnation's message: its members leave, then those it has join.
      this.retire();
      peer.incarnation = incarnation;
      peer.saidGoodbye = false;
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
    peer.slice.forEach((slot) => this.dropped.push(slot));
    peer.slice = new Slice();
    peer.seq = 0;
    peer.missed = false;
    peer.snapshotSeq = -1;
    peer.parts = 0;
    peer.partsSeen.clear();
    peer.removed = new Slice();
  }

  /**
   * One part of a snapshot: of the generation in progress, or beginning a
   * new one when it is at or past the seq applied and not begun
   * already. O(part), and O(slice) once, at the generation's last part.
   */
  private snapshotPart(peer: Peer, message: Extract<PresenceMessage, { t: 'snapshot' }>, now: number): void {
    if (message.seq !== peer.snapshotSeq) {
      if (message.seq < peer.seq) return;
      peer.generation++;
      peer.snapshotSeq = peer.seq = message.seq;
      peer.parts = message.parts;
      peer.partsSeen.clear();
      peer.removed = new Slice();
      // What the snapshot replaces covers what was missed before it.
      peer.missed = false;
    } else if (!peer.snapshotting) {
      // One more of a snapshot applied already (a repeat, or the answer to another's sync): the same
      // slice at the same seq. Beginning it anew would wait for parts that came before, for ever.
      return;
    }
    // A part that came twice writes what it wrote already, or what a later delta wrote over.
    peer.partsSeen.add(message.part);
    for (const entry of message.entries) {
      const [room, user] = entry;
      if ((peer.slice.get(room, user)?.seq ?? 0) <= message.seq && !peer.removed.get(room, user)) this.write(peer, entry, message.seq, true);
    }
    if (!peer.snapshotting) {
      const { generation } = peer;
      peer.slice.forEach((slot) => {
        if (slot.generation === generation) return;
        peer.slice.delete(slot);
        this.dropped.push(slot);
      });
      peer.removed = new Slice();
    } else {
      // The rest is on its way: the wait for it counts as one for an answer to a sync.
      peer.lastSyncAt = now;
    }
  }

  /**
   * One entry into a peer's slice, marked with the generation and `seq`.
   * O(1). A snapshot's entry the slot already has as it is writes no name,
   * so a snapshot does not undo a later writer's name.
   */
  private write(peer: Peer, [room, user, name, connections]: Entry, seq: number, fromSnapshot = false): void {
    const slot = peer.slice.get(room, user);
    const before = slot?.connections ?? 0;
    const unchanged = fromSnapshot && before === connections && slot?.name === name;
    if (connections === 0) {
      if (slot) peer.slice.delete(slot);
      if (peer.snapshotting && !peer.removed.get(room, user)) peer.removed.add({ room, user, name, connections });
    } else if (slot) {
      slot.name = name;
      slot.connections = connections;
      slot.generation = peer.generation;
      slot.seq = seq;
    } else peer.slice.add({ room, user, name, connections, generation: peer.generation, seq });
    this.adjust(room, user, connections - before, unchanged || connections === 0 ? undefined : name);
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
    if (connections > 0) {
      if (!member) this.memberCount++;
      view.members.set(user, { name: name ?? member!.name, connections });
    } else {
      this.memberCount--;
      view.members.delete(user);
      if (view.members.size === 0) this.view.delete(room);
    }
    if (by !== 0) this.options.onChange(room, user);
  }
}

function entryOf({ room, user, name, connections }: Slot): Entry {
  return [room, user, name, connections];
}
