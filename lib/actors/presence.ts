/**
 * presence: who is in each room, on every node (PROTOCOL.md "Presence"),
 * as Phoenix.Tracker keeps it: this node owns its slice of the state and is
 * its only writer; the other nodes' slices arrive over the presence channel
 * of the broker (its own fanout, not the chat stream: DESIGN.md) as deltas,
 * heartbeats and snapshots. lib/presence/replica.ts merges them;
 * lib/presence/coalescer.ts turns the changes into at most one frame per
 * room per window for the connections that asked for presence.
 *
 * Phoenix's tracker process timed out at about 35,000 connections and a few
 * hundred joins per second (phoenix#2238) because a join there scanned and
 * copied state. Here everything a join does is O(1): a count in the
 * replica, a touch in the coalescer, and one presence frame built from a
 * cached list; what grows with a room's size happens at most once per
 * window (the diff's fan-out) however many join. Nothing is sent to the
 * other nodes per join either: the changes of DELTA_MS go out as one delta.
 *
 * Connections track themselves in the rooms they join and are monitored, so
 * a connection that stops for any reason leaves its rooms once. Frames for
 * a socket go through its consumer, behind what the relay sent it: a
 * connection that asked for presence with a replay waits for the relay's
 * answer before it tracks itself, so the presence frame follows the replay.
 */
import type { PresenceChannel } from '../broker/adapter';
import { log } from '../log';
import { framesOut, presenceMessages, presenceResyncs } from '../metrics';
import { type GenServer, type ServerRef, call, cast, noreply } from '../otp/gen_server';
import { type Down, type MonitorRef, demonitor, monitor } from '../otp/monitor';
import { type Ref, send } from '../otp/process';
import { Coalescer } from '../presence/coalescer';
import { type PresenceMessage, Replica } from '../presence/replica';
import { decodePresenceMessage, encodePresenceMessage } from '../presence/wire';
import type { BrokerRef } from './broker';
import type { ConsumerRef } from './consumer';

export interface PresenceArgs {
  readonly nodeId: string;
  /** Lends the presence channel of its adapter: presence restarts with the broker (rest_for_one). */
  readonly broker: BrokerRef;
  readonly maxListed: number;
  readonly downAfterMs: number;
  readonly heartbeatMs: number;
}

/** One connection of `user` in `room`, which its frames reach through `consumer`. */
export interface Track {
  readonly type: 'track';
  readonly room: string;
  readonly user: string;
  readonly name: string;
  readonly connection: Ref;
  readonly consumer: ConsumerRef;
  /** Also send it the room's presence, then its diffs (again a presence frame when it is subscribed already). */
  readonly subscribe: boolean;
}

export type PresenceCast =
  | Track
  | { readonly type: 'untrack'; readonly room: string; readonly connection: Ref }
  /** The `presence` command: the room's presence frame, through the consumer. */
  | { readonly type: 'query'; readonly room: string; readonly connection: Ref; readonly id: string | undefined };

export type PresenceRef = ServerRef<never, PresenceCast>;

type Info =
  | Down
  | { readonly type: 'presence_message'; readonly bytes: Buffer }
  | { readonly type: 'publish_deltas' }
  | { readonly type: 'publish_more' }
  | { readonly type: 'retire' }
  | { readonly type: 'heartbeat' }
  | { readonly type: 'flush_diffs' };

interface Tracked {
  readonly monitor: MonitorRef;
  readonly user: string;
  readonly name: string;
  /** A consumer its connection restarts keeps this ref: refs are paths. */
  readonly consumer: ConsumerRef;
  /** At most limits.maxRooms: arrays, as the relay keeps them. */
  readonly rooms: string[];
  readonly subscribed: string[];
}

interface State {
  readonly self: PresenceRef;
  readonly args: PresenceArgs;
  readonly channel: PresenceChannel;
  readonly incarnation: number;
  readonly replica: Replica;
  readonly coalescer: Coalescer;
  readonly connections: Map<Ref, Tracked>;
  /** The consumers of the local connections subscribed to each room's presence. */
  readonly subscribers: Map<string, Set<ConsumerRef>>;
  /** What is to go out, in order: a snapshot's parts go one turn at a time, and nothing overtakes them. */
  readonly outgoing: PresenceMessage[];
  readonly timers: { deltas?: NodeJS.Timeout; diffs?: NodeJS.Timeout; diffsAt?: number; heartbeat?: NodeJS.Timeout };
  /** A `retire` is in the mailbox: the replica is taking a dropped slice off its view, a budget per turn. */
  retireQueued: boolean;
  received: number;
  dropped: number;
}

// Local changes are sent to the other nodes this often at most, as one
// delta: short next to the 250 ms a diff may wait anyway, long enough that a
// burst of joins is one message.
const DELTA_MS = 50;
// PROTOCOL.md: at most one presence_diff per room per 250 ms.
const WINDOW_MS = 250;
// Phoenix forgets a node 20 minutes after it went down: long enough to tell
// a flapping node in /debug/tree, short enough not to collect dead ones.
const FORGET_AFTER_MS = 20 * 60_000;
// Entries of a dropped slice (a node down or gone) taken off the view per
// turn: a few milliseconds' work, where 100,000 at once held the
// event loop for 33-97 ms.
const RETIRE_PER_TURN = 2000;

// Grows across restarts of this process within one daemon, and across
// daemons restarted under one configured nodeId (with the wall clock).
let lastIncarnation = 0;
function nextIncarnation(): number {
  lastIncarnation = Math.max(Date.now(), lastIncarnation + 1);
  return lastIncarnation;
}

export const presence: GenServer<PresenceArgs, State, never, PresenceCast, never, Info> = {
  behaviour: 'presence',

  async init(args, self) {
    const channel = (await call(args.broker, { type: 'presence_channel' })) as PresenceChannel;
    // The coalescer reads the replica and the replica tells the coalescer of
    // every change: one of the two is made first.
    let coalescer: Coalescer | undefined;
    const incarnation = nextIncarnation();
    const replica = new Replica({
      node: args.nodeId,
      incarnation,
      downAfterMs: args.downAfterMs,
      forgetAfterMs: FORGET_AFTER_MS,
      retireBudget: RETIRE_PER_TURN,
      onChange: (room, user) => coalescer!.touch(room, user, Date.now()),
    });
    coalescer = new Coalescer({ windowMs: WINDOW_MS, maxListed: args.maxListed, source: replica });
    const state: State = { self, args, channel, incarnation, replica, coalescer, connections: new Map(), subscribers: new Map(), outgoing: [], timers: {}, retireQueued: false, received: 0, dropped: 0 };
    channel.listen((bytes) => send(self, { type: 'presence_message', bytes } satisfies Info));
    // A node just started learns the whole state at once rather than at
    // the others' next heartbeats: every node answers with a snapshot.
    publish(state, replica.hello());
    publish(state, replica.heartbeat());
    state.timers.heartbeat = setInterval(() => send(self, { type: 'heartbeat' } satisfies Info), args.heartbeatMs);
    return state;
  },

  handleCast(message, state) {
    switch (message.type) {
      case 'track':
        track(state, message);
        break;
      case 'untrack':
        untrack(state, message.connection, message.room);
        break;
      case 'query':
        query(state, message.connection, message.room, message.id);
        break;
    }
    return settle(state);
  },

  handleInfo(message, state) {
    const now = Date.now();
    switch (message.type) {
      case 'DOWN':
        for (const room of state.connections.get(message.process)?.rooms.slice() ?? []) untrack(state, message.process, room);
        break;
      case 'presence_message':
        receive(state, message.bytes, now);
        break;
      case 'publish_deltas':
        state.timers.deltas = undefined;
        for (const outgoing of state.replica.outbox(now)) publish(state, outgoing);
        break;
      case 'publish_more':
        sendOutgoing(state);
        break;
      case 'retire':
        state.retireQueued = false;
        state.replica.retire();
        break;
      case 'heartbeat':
        publish(state, state.replica.heartbeat());
        state.replica.tick(now);
        break;
      case 'flush_diffs':
        state.timers.diffs = state.timers.diffsAt = undefined;
        flushDiffs(state, now);
        break;
    }
    return settle(state);
  },

  terminate(_reason, state) {
    clearTimeout(state.timers.deltas);
    clearTimeout(state.timers.diffs);
    clearInterval(state.timers.heartbeat);
    // The channel outlives this process (it is the broker's): what arrives
    // from now on is for a successor, not a dead letter of this one.
    state.channel.listen(ignore);
    // Whether this node stops or this process crashed, the others drop its
    // slice now rather than downAfterSeconds from now (a successor has a
    // higher incarnation and starts a new slice anyway); a snapshot still
    // going out is moot.
    state.outgoing.length = 0;
    publish(state, state.replica.goodbye());
  },

  formatStatus: (state) => ({
    node: state.args.nodeId,
    incarnation: state.incarnation,
    seq: state.replica.seq,
    rooms: state.replica.rooms,
    memberships: state.replica.memberships,
    largestRooms: state.replica.largestRooms(5),
    presenceRooms: state.coalescer.openRooms,
    connections: state.connections.size,
    messagesReceived: state.received,
    messagesDropped: state.dropped,
    nodes: state.replica.nodes().map((node) => ({ ...node, lastHeardAt: new Date(node.lastHeardAt).toISOString() })),
  }),
};

function track(state: State, request: Track): void {
  const { room, connection } = request;
  let tracked = state.connections.get(connection);
  if (!tracked) {
    tracked = { monitor: monitor(state.self, connection), user: request.user, name: request.name, consumer: request.consumer, rooms: [], subscribed: [] };
    state.connections.set(connection, tracked);
  }
  if (!tracked.rooms.includes(room)) {
    tracked.rooms.push(room);
    state.replica.track(room, tracked.user, tracked.name);
  }
  // The presence frame after a `join` does not echo the join's id: `joined` did.
  if (request.subscribe && !tracked.subscribed.includes(room)) subscribe(state, tracked, room);
  else if (request.subscribe) sendPresence(state, tracked, room, undefined);
}

function subscribe(state: State, tracked: Tracked, room: string): void {
  tracked.subscribed.push(room);
  let consumers = state.subscribers.get(room);
  if (!consumers) {
    state.subscribers.set(room, (consumers = new Set()));
    state.coalescer.open(room);
  }
  consumers.add(tracked.consumer);
  sendPresence(state, tracked, room, undefined);
}

function untrack(state: State, connection: Ref, room: string): void {
  const tracked = state.connections.get(connection);
  const index = tracked?.rooms.indexOf(room) ?? -1;
  if (index < 0) return;
  tracked!.rooms.splice(index, 1);
  state.replica.untrack(room, tracked!.user);
  const subscribed = tracked!.subscribed.indexOf(room);
  if (subscribed >= 0) {
    tracked!.subscribed.splice(subscribed, 1);
    const consumers = state.subscribers.get(room)!;
    consumers.delete(tracked!.consumer);
    if (consumers.size === 0) {
      state.subscribers.delete(room);
      state.coalescer.close(room);
    }
  }
  if (tracked!.rooms.length === 0) {
    demonitor(tracked!.monitor);
    state.connections.delete(connection);
  }
}

function query(state: State, connection: Ref, room: string, id: string | undefined): void {
  const tracked = state.connections.get(connection);
  if (tracked) sendPresence(state, tracked, room, id);
}

function sendPresence(state: State, tracked: Tracked, room: string, id: string | undefined): void {
  const frame = state.coalescer.presenceFrame(room, { user: tracked.user, name: tracked.name }, id);
  framesOut.inc('presence');
  cast(tracked.consumer, { type: 'push', frames: [frame] });
}

function receive(state: State, bytes: Buffer, now: number): void {
  const message = decodePresenceMessage(bytes);
  if (message === undefined) {
    state.dropped++;
    log.warn({ bytes: bytes.length }, 'presence: dropped a message that is not a warren presence message');
    return;
  }
  if (message.node === state.args.nodeId) return; // our own, back from the fanout
  state.received++;
  presenceMessages.inc({ direction: 'in', type: message.t });
  state.replica.receive(message, now);
}

function publish(state: State, message: PresenceMessage): void {
  if (message.t === 'sync') presenceResyncs.inc();
  state.outgoing.push(message);
  if (state.outgoing.length === 1) sendOutgoing(state);
}

// Entries encoded per turn at most: one snapshot part (1,000 entries) costs
// about a millisecond to encode, where a 10,000-member slice in one go held
// the event loop for tens (the parts are the replica's: SNAPSHOT_PART_ENTRIES).
const ENTRIES_PER_TURN = 1000;

/** Publishes from the front of `outgoing` within this turn's budget; the rest in later turns, behind what else is waiting. */
function sendOutgoing(state: State): void {
  let budget = ENTRIES_PER_TURN;
  while (state.outgoing.length > 0 && budget > 0) {
    const message = state.outgoing.shift()!;
    budget -= 'entries' in message ? Math.max(1, message.entries.length) : 1;
    const sent = state.channel.publish(encodePresenceMessage(message));
    presenceMessages.inc({ direction: sent ? 'out' : 'unsent', type: message.t });
  }
  if (state.outgoing.length > 0) send(state.self, { type: 'publish_more' } satisfies Info);
}

function flushDiffs(state: State, now: number): void {
  for (const { room, frame } of state.coalescer.flush(now)) {
    const consumers = state.subscribers.get(room);
    if (!consumers) continue;
    // One message for every subscriber of the room, as the relay's fanout does.
    const deliver = { type: 'push', frames: [frame] } as const;
    for (const consumer of consumers) cast(consumer, deliver);
    framesOut.inc(frame.startsWith('{"type":"presence_diff"') ? 'presence_diff' : 'presence', consumers.size);
  }
}

function ignore(): void {}

/** After every message: the timers for what it left to do. */
function settle(state: State) {
  const { timers, replica, coalescer, self } = state;
  if (replica.pending && timers.deltas === undefined) timers.deltas = setTimeout(() => send(self, { type: 'publish_deltas' } satisfies Info), DELTA_MS);
  // Behind whatever else is waiting: the rest of a dropped slice goes a budget at a time.
  if (replica.retiring && !state.retireQueued) {
    state.retireQueued = true;
    send(self, { type: 'retire' } satisfies Info);
  }
  const due = coalescer.nextDueAt();
  if (due !== undefined && (timers.diffsAt === undefined || due < timers.diffsAt)) {
    clearTimeout(timers.diffs);
    timers.diffsAt = due;
    timers.diffs = setTimeout(() => send(self, { type: 'flush_diffs' } satisfies Info), Math.max(0, due - Date.now()));
  }
  return noreply(state);
}
