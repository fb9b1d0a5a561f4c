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
 */
import type { ConnectionState } from '../broker/adapter';
import { decodeBatch } from '../broker/batch';
import { type HistoryLimits, RoomHistory } from '../history/room_history';
import { log } from '../log';
import { type GenServer, type ServerRef, cast, noreply } from '../otp/gen_server';
import { type Down, type MonitorRef, demonitor, monitor } from '../otp/monitor';
import { encodeReplay } from '../protocol/server_frames';
import type { ConsumerRef } from './consumer';

export type RelayCast =
  /** Also hands the consumer the room's last `history` messages, as replays, before anything live. */
  | { readonly type: 'join'; readonly room: string; readonly consumer: ConsumerRef; readonly history: number }
  | { readonly type: 'leave'; readonly room: string; readonly consumer: ConsumerRef }
  | { readonly type: 'deliver'; readonly batch: Buffer }
  | { readonly type: 'broker_state'; readonly state: ConnectionState };

export type RelayRef = ServerRef<never, RelayCast>;

interface Member {
  /** A handful at most (PROTOCOL.md: 32): an array costs less memory per member than a Set. */
  readonly rooms: string[];
  readonly monitor: MonitorRef;
}

interface State {
  readonly self: RelayRef;
  readonly rooms: Map<string, Set<ConsumerRef>>;
  readonly members: Map<ConsumerRef, Member>;
  readonly history: RoomHistory;
  broker: ConnectionState | 'unknown';
  batches: number;
  deliveries: number;
}

export const relay: GenServer<HistoryLimits, State, never, RelayCast, never, Down> = {
  behaviour: 'relay',

  init: (limits, self) => ({ self, rooms: new Map(), members: new Map(), history: new RoomHistory(limits), broker: 'unknown', batches: 0, deliveries: 0 }),

  handleCast(message, state) {
    switch (message.type) {
      case 'join':
        join(state, message.room, message.consumer);
        replay(state, message.room, message.consumer, message.history);
        break;
      case 'leave':
        leave(state, message.room, message.consumer);
        break;
      case 'deliver':
        fanOut(state, message.batch);
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
    broker: state.broker,
    ...historyStatus(state.history),
  }),
};

function join(state: State, room: string, consumer: ConsumerRef): void {
  const member = state.members.get(consumer);
  if (!member) {
    // A literal: a first push onto [] would reserve 17 slots.
    state.members.set(consumer, { rooms: [room], monitor: monitor(state.self, consumer) });
  } else if (!member.rooms.includes(room)) member.rooms.push(room);
  let consumers = state.rooms.get(room);
  if (!consumers) state.rooms.set(room, (consumers = new Set()));
  consumers.add(consumer);
}

function historyStatus(history: RoomHistory) {
  const { rooms, messages, bytes } = history.stats();
  return { historyRooms: rooms, historyMessages: messages, historyBytes: bytes };
}

function replay(state: State, room: string, consumer: ConsumerRef, count: number): void {
  const frames = state.history.recent(room, count, Date.now()).map(encodeReplay);
  if (frames.length > 0) cast(consumer, { type: 'deliver', frames });
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

function fanOut(state: State, batch: Buffer): void {
  let deliveries;
  try {
    deliveries = decodeBatch(batch);
  } catch (error) {
    log.error({ err: error, bytes: batch.length }, 'dropped a malformed batch from the broker');
    return;
  }
  state.batches++;
  const framesByRoom = new Map<string, Buffer[]>();
  for (const { room, frame } of deliveries) {
    const frames = framesByRoom.get(room);
    if (frames) frames.push(frame);
    else framesByRoom.set(room, [frame]);
  }
  const now = Date.now();
  for (const [room, frames] of framesByRoom) {
    // Until the batch carries each message's ts and log position (issue 10), the local clock, and a position no recovery matches.
    for (const frame of frames) state.history.append(room, frame.toString(), now, Number.NaN);
    const consumers = state.rooms.get(room);
    if (!consumers) continue;
    const message = { type: 'deliver', frames } as const;
    for (const consumer of consumers) cast(consumer, message);
    state.deliveries += frames.length * consumers.size;
  }
}
