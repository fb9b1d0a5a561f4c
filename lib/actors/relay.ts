/**
 * relay: this node's room registry (room -> consumers) and its fanout.
 *
 * Consumers join and leave rooms through their connections; the relay
 * monitors each member, so a consumer that stops for any reason leaves every
 * room without anybody having to say so. Each batch from the broker is split
 * by room and handed to the members of each room as ONE message per
 * consumer per room per batch, sharing the frames (views into the batch
 * buffer) rather than copying them. Nothing here is O(members) per chat
 * message except the sends themselves, and the registry is never copied.
 *
 * The relay also keeps each room's recent messages (lib/history), because
 * a replay must be cut at the exact moment its consumer joins: the history
 * replayed on `join` and the live batches fanned out after it meet in this
 * one mailbox, so no message is both replayed and delivered live, and none
 * falls between the two. A history process of its own would have to hold
 * back a joining consumer's live batches until its replay had come.
 *
 * Every node reads the same log in the same order, and the relay decides
 * everything about a message from the log alone: its position, written
 * into its frame here (lib/broker/position.ts); whether it is a resend
 * already delivered (lib/history/duplicate_window.ts), so that every node
 * drops the same copies; and the history it joins, kept by the message's
 * own `ts`, not by this node's clock. The broker process reads the
 * duplicate window too, to answer a resend at once (as an ETS table its
 * owner writes and others read); it restarts with the relay
 * (warren_sup is rest_for_one) and then asks the new one for its window.
 */
import type { ConnectionState } from '../broker/adapter';
import { decodeBatch, type Delivery, msgIdOf } from '../broker/batch';
import { logPosition, parsePosition, positionAt, writePosition } from '../broker/position';
import { DuplicateWindow } from '../history/duplicate_window';
import { type HistoryLimits, RoomHistory } from '../history/room_history';
import { log } from '../log';
import { duplicatesDropped, recoveries, replayed } from '../metrics';
import { type GenServer, type ServerRef, cast, noreply, reply } from '../otp/gen_server';
import { type Down, type MonitorRef, demonitor, monitor } from '../otp/monitor';
import { encodeReplay, withRecovered } from '../protocol/server_frames';
import type { ConsumerRef } from './consumer';

export interface RelayArgs extends HistoryLimits {
  /** A recovery sends at most this many messages (PROTOCOL.md `history.maxRecover`). */
  readonly maxRecover: number;
}

/** A consumer joins a room; what it is sent ahead of the room's live messages. */
export interface Join {
  readonly type: 'join';
  readonly room: string;
  readonly consumer: ConsumerRef;
  /** Also replay the room's last `history` messages. */
  readonly history: number;
  /** Replay what followed this position instead (recovery), when the history has it all. */
  readonly since?: string;
  /** A frame to send first (`joined`, or `welcome` on connect); with `since` it gets `recovered`. */
  readonly answer?: string;
}

export type RelayCast =
  | Join
  | { readonly type: 'leave'; readonly room: string; readonly consumer: ConsumerRef }
  | { readonly type: 'deliver'; readonly batch: Buffer; readonly offset: number }
  | { readonly type: 'broker_state'; readonly state: ConnectionState };

/** A join answered once the consumer has been sent its replay; and the window, for the broker. */
export type RelayCall = Join | { readonly type: 'duplicates' };
export type RelayReply = 'joined' | DuplicateLookup;

/** What the broker process may do with the relay's duplicate window: read it. */
export type DuplicateLookup = Pick<DuplicateWindow, 'lookup'>;

export type RelayRef = ServerRef<RelayCall, RelayCast, RelayReply>;

interface Member {
  /** A handful at most (PROTOCOL.md: 32): an array costs less memory per member than a Set. */
  readonly rooms: string[];
  readonly monitor: MonitorRef;
}

interface State {
  readonly self: RelayRef;
  readonly args: RelayArgs;
  readonly rooms: Map<string, Set<ConsumerRef>>;
  readonly members: Map<ConsumerRef, Member>;
  readonly history: RoomHistory;
  readonly duplicates: DuplicateWindow;
  broker: ConnectionState | 'unknown';
  batches: number;
  deliveries: number;
  duplicatesDropped: number;
  /** From the last message read being accepted by its node to its reading here. */
  lagMs: number;
}

export const relay: GenServer<RelayArgs, State, RelayCall, RelayCast, RelayReply, Down> = {
  behaviour: 'relay',

  init: (args, self) => ({
    self,
    args,
    rooms: new Map(),
    members: new Map(),
    // One message more than a room serves: a client whose last message is
    // the one before the room's last `size` still recovers them all
    // (PROTOCOL.md: only one that missed more than `size` gets recovered: false).
    history: new RoomHistory({ ...args, size: args.size + 1 }),
    duplicates: new DuplicateWindow(args),
    broker: 'unknown',
    batches: 0,
    deliveries: 0,
    duplicatesDropped: 0,
    lagMs: 0,
  }),

  handleCall(request, _from, state) {
    if (request.type === 'duplicates') return reply(state.duplicates, state);
    join(state, request);
    return reply('joined', state);
  },

  handleCast(message, state) {
    switch (message.type) {
      case 'join':
        join(state, message);
        break;
      case 'leave':
        leave(state, message.room, message.consumer);
        break;
      case 'deliver':
        fanOut(state, message.batch, message.offset);
        break;
      case 'broker_state':
        state.broker = message.state;
        break;
    }
    return noreply(state);
  },

  handleInfo(down, state) {
    const member = state.members.get(down.process as ConsumerRef);
    if (member) for (const room of member.rooms.slice()) leave(state, room, down.process as ConsumerRef);
    return noreply(state);
  },

  formatStatus: (state) => ({
    rooms: state.rooms.size,
    members: state.members.size,
    batches: state.batches,
    deliveries: state.deliveries,
    duplicatesDropped: state.duplicatesDropped,
    lagMs: state.lagMs,
    broker: state.broker,
    ...historyStatus(state),
  }),
};

function join(state: State, request: Join): void {
  const { room, consumer } = request;
  const member = state.members.get(consumer);
  if (!member) {
    // A literal: a first push onto [] would reserve 17 slots.
    state.members.set(consumer, { rooms: [room], monitor: monitor(state.self, consumer) });
  } else if (!member.rooms.includes(room)) member.rooms.push(room);
  let consumers = state.rooms.get(room);
  if (!consumers) state.rooms.set(room, (consumers = new Set()));
  consumers.add(consumer);
  replay(state, request);
}

function historyStatus({ history, duplicates }: State) {
  const { rooms, messages, bytes } = history.stats();
  const { keys } = duplicates.stats();
  return { historyRooms: rooms, historyMessages: messages, historyBytes: bytes, duplicateKeys: keys };
}

/** Sent in the same mailbox turn as the join, so before any live message of the room. */
function replay(state: State, { room, consumer, history, since, answer }: Join): void {
  const now = Date.now();
  let frames: string[];
  let first = answer;
  if (since === undefined) frames = recent(state, room, history, now);
  else {
    const missed = recover(state, room, since, now);
    recoveries.inc({ outcome: missed ? 'recovered' : 'not_recovered' });
    // Not recovered: the room's recent history, and the client knows there may be a gap before it.
    frames = missed ?? recent(state, room, history || state.args.size, now);
    if (first !== undefined) first = withRecovered(first, missed !== undefined);
  }
  replayed.inc(frames.length);
  const out = frames.map(encodeReplay);
  if (first !== undefined) out.unshift(first);
  // Live messages follow from here on: the consumer is as far as the room's newest, replayed or not.
  const pos = newestPosition(state, room, now);
  if (out.length > 0 || pos !== undefined) cast(consumer, { type: 'deliver', frames: out, room, ...(pos !== undefined && { pos }) });
}

/** The last `n` messages of `room`, never more than `history.size`. */
function recent(state: State, room: string, n: number, now: number): string[] {
  return state.history.recent(room, Math.min(n, state.args.size), now);
}

const POS_FIELD = '"pos":"';

function newestPosition(state: State, room: string, now: number): string | undefined {
  const frame = state.history.recent(room, 1, now)[0];
  if (frame === undefined) return undefined;
  const at = frame.indexOf(POS_FIELD) + POS_FIELD.length;
  return frame.slice(at, frame.indexOf('"', at));
}

/** Every message of `room` after `since`, or undefined when the history cannot say. */
function recover(state: State, room: string, since: string, now: number): string[] | undefined {
  const position = parsePosition(since);
  if (position === undefined) return undefined; // not one of ours: another deployment's, or mangled
  return state.history.after(room, position, `"pos":"${since}"`, state.args.maxRecover, now);
}

function leave(state: State, room: string, consumer: ConsumerRef): void {
  const member = state.members.get(consumer);
  const index = member?.rooms.indexOf(room) ?? -1;
  if (index < 0) return;
  member!.rooms.splice(index, 1);
  const consumers = state.rooms.get(room)!;
  consumers.delete(consumer);
  if (consumers.size === 0) state.rooms.delete(room);
  if (member!.rooms.length === 0) {
    demonitor(member!.monitor);
    state.members.delete(consumer);
  }
}

function fanOut(state: State, batch: Buffer, offset: number): void {
  let deliveries;
  try {
    deliveries = decodeBatch(batch);
  } catch (error) {
    log.error({ err: error, bytes: batch.length, offset }, 'dropped a malformed batch from the broker');
    return;
  }
  state.batches++;
  const framesByRoom = new Map<string, Buffer[]>();
  const lastByRoom = new Map<string, Delivery>();
  for (let index = 0; index < deliveries.length; index++) {
    const delivery = deliveries[index]!;
    if (isDuplicate(state, delivery)) continue;
    const position = logPosition(offset, index);
    writePosition(delivery.frame, delivery.posAt, position);
    state.history.append(delivery.room, delivery.frame.toString(), delivery.at, position);
    const frames = framesByRoom.get(delivery.room);
    if (frames) frames.push(delivery.frame);
    else framesByRoom.set(delivery.room, [delivery.frame]);
    lastByRoom.set(delivery.room, delivery);
  }
  if (deliveries.length > 0) state.lagMs = Math.max(0, Date.now() - deliveries[deliveries.length - 1]!.at);
  for (const [room, frames] of framesByRoom) {
    const consumers = state.rooms.get(room);
    if (!consumers) continue;
    const last = lastByRoom.get(room)!;
    const message = { type: 'deliver', frames, room, pos: positionAt(last.frame, last.posAt) } as const;
    for (const consumer of consumers) cast(consumer, message);
    state.deliveries += frames.length * consumers.size;
  }
}

/** A resend of a message already delivered: every node reading the log drops the same copies. */
function isDuplicate(state: State, delivery: Delivery): boolean {
  // Only a keyed message can be a duplicate; the msgId is read only for those.
  const msgId = delivery.key === undefined ? '' : msgIdOf(delivery);
  if (state.duplicates.admit(delivery.room, delivery.key, delivery.at, msgId) === undefined) return false;
  state.duplicatesDropped++;
  duplicatesDropped.inc({ where: 'log' });
  return true;
}
