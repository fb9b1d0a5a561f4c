/**
 * connection: one per websocket, Cowboy's websocket handler. Its callbacks
 * come in the order of a connection's life:
 *
 *   websocketInit       welcome, the consumer child, the room given at connect
 *   websocketHandle     a frame from the client (PROTOCOL.md, client to server)
 *   websocketInfo       a message from another process: a publish outcome,
 *                       the consumer's exit, the order to drain
 *   websocketTerminate  the socket closes with the code that says why
 *
 * The connection owns the session: its rooms, its rate limit, the `say`s
 * waiting for the broker's confirm (acked in the order they were sent, as the
 * broker answers in that order). Frames to the client go straight to the
 * socket; deliveries from the relay go through the consumer.
 */
import { randomUUID } from 'node:crypto';
import { grants, type RoomGrants } from '../auth/room_grants';
import type { Identity, TokenVerifier } from '../auth/tokens';
import type { ClientSocket, SocketEvent } from '../client_socket';
import type { Config } from '../config';
import { framesIn, framesOut } from '../metrics';
import { log } from '../log';
import { type ExitReason, formatReason, isOrderlyExit } from '../otp/exit_reason';
import { type GenServer, type Result, type ServerRef, call, cast, noreply, startLink, stop } from '../otp/gen_server';
import { type Exit, linkTo, relink } from '../otp/process';
import { restartReport } from '../otp/reports';
import { SecondTimers } from '../otp/second_timers';
import { pathOf } from '../otp/sys';
import { type ClientFrame, decodeClientFrame, type JoinFrame, type RefreshFrame } from '../protocol/client_frames';
import { ERROR_MESSAGES, type ErrorCode } from '../protocol/errors';
import { encodeAck, encodeError, encodeJoined, encodeLeft, encodePong, encodeRefreshed, encodeTokenExpiring, encodeWelcome } from '../protocol/server_frames';
import { RateLimiter } from '../rate_limiter';
import type { BrokerRef, PublishOutcomes } from './broker';
import { type ConsumerRef, consumer } from './consumer';
import type { PresenceRef } from './presence';
import type { Join, RelayRef } from './relay';

export interface ConnectionArgs {
  readonly socket: ClientSocket;
  readonly name: string;
  /** The room given at connect: joined at once, and where a `say` without room goes. */
  readonly room: string;
  /** `?since=`: recover the connect room from this position (PROTOCOL.md). */
  readonly since: string | undefined;
  /** `?client=`: the key that scopes idempotent resends across reconnects. */
  readonly client: string | undefined;
  /** Who the token says the client is; undefined without authentication. */
  readonly identity: Identity | undefined;
  readonly nodeId: string;
  /** undefined: authentication is off. */
  readonly auth: Authentication | undefined;
  readonly relay: RelayRef;
  readonly broker: BrokerRef;
  readonly presence: PresenceRef;
  readonly limits: Config['limits'];
}

export interface Authentication {
  readonly verifier: TokenVerifier;
  /** token_expiring goes out this long before `exp`. */
  readonly refreshSeconds: number;
  /** The verifier's leeway: a token it accepted a little past `exp` is not closed at once. */
  readonly clockToleranceSeconds: number;
}

/** The token's clock: time to warn (token_expiring), or to close (4001). */
type TokenTimer = { readonly type: 'token_timer' };

/** On shutdown: answer the `say`s in flight, then close with 1001. */
export type Drain = { readonly type: 'drain' };
export type ConnectionRef = ServerRef<never, Drain>;

type Info = SocketEvent | PublishOutcomes | Exit | TokenTimer;

interface AwaitingConfirm {
  readonly id: string | undefined;
  /** The plain-text shortcut is answered by no ack (errors still are). */
  readonly ack: boolean;
}

/** What the connection keeps of its token; a refresh replaces `grants` and `exp`. */
interface TokenState {
  /** The `rooms` claim; undefined: every room. */
  grants: RoomGrants | undefined;
  /** Seconds since the epoch. */
  exp: number;
  /** The `exp` token_expiring was last sent for. */
  warnedFor: number | undefined;
  /** The second TOKEN_TIMERS will wake this connection in, to cancel it with. */
  due: number | undefined;
}

interface State {
  readonly args: ConnectionArgs;
  readonly self: ConnectionRef;
  readonly session: string;
  /** The `user` of `welcome` and of every message sent: `anon:<session>` without authentication. */
  readonly user: string;
  /** Who a `say` id belongs to (PROTOCOL.md "Idempotent resends"): the client key, else the user. */
  readonly resendScope: string;
  readonly limiter: RateLimiter;
  /** At most limits.maxRooms (32): an array costs less per connection than a Set. */
  readonly rooms: string[];
  /** Without authentication undefined: an anonymous connection pays one field for it. */
  readonly token: TokenState | undefined;
  /** Allocated with the first `say`: an idle connection does not pay for it. */
  awaiting: Map<number, AwaitingConfirm> | undefined;
  consumer: ConsumerRef;
  /** The consumer's restarts in the last CONSUMER_PERIOD_MS (for the intensity; its link counts them all). */
  recentConsumerRestarts: readonly number[];
  nextTag: number;
  draining: boolean;
}

// A consumer that crashes more than 3 times in 10 s will not get better by
// restarting: the connection gives up and the client reconnects afresh.
const CONSUMER_INTENSITY = 3;
const NONE: readonly number[] = [];
const CONSUMER_PERIOD_MS = 10_000;

export const connection: GenServer<ConnectionArgs, State, never, Drain, never, Info> = {
  behaviour: 'connection',
  init: websocketInit,
  handleInfo: (message, state) =>
    message.type === 'frame' || message.type === 'binary' || message.type === 'oversized' || message.type === 'closed'
      ? websocketHandle(message, state)
      : websocketInfo(message, state),
  handleCast: (drain, state) => websocketInfo(drain, state),
  terminate: websocketTerminate,
  formatStatus: (state) => ({
    name: state.args.name,
    user: state.user,
    ...(state.token && { tokenExpires: new Date(state.token.exp * 1000).toISOString() }),
    rooms: state.rooms,
    remote: state.args.socket.remote,
    session: state.session,
    awaitingConfirm: state.awaiting?.size ?? 0,
  }),
};

async function websocketInit(args: ConnectionArgs, self: ConnectionRef): Promise<State> {
  const session = randomUUID();
  const user = args.identity?.user ?? `anon:${session}`;
  const state: State = {
    args,
    self,
    session,
    user,
    resendScope: args.client === undefined ? `user:${user}` : `client:${args.client}`,
    limiter: new RateLimiter(args.limits),
    rooms: [args.room],
    token: args.identity && { grants: args.identity.rooms, exp: args.identity.exp, warnedFor: undefined, due: undefined },
    awaiting: undefined,
    consumer: await startLink(linkTo(self, 'consumer'), consumer, args.socket),
    recentConsumerRestarts: NONE,
    nextTag: 0,
    draining: false,
  };
  const welcome = encodeWelcome({ session, user, name: args.name, rooms: [args.room], node: args.nodeId });
  if (args.since === undefined) {
    cast(args.relay, { type: 'join', room: args.room, consumer: state.consumer, history: 0 });
    answer(state, 'welcome', welcome);
  } else {
    // `welcome` carries `recovered`, which only the relay knows, and the
    // recovered messages follow it: the relay sends them all through the
    // consumer. The socket's frames wait until they are written, so that
    // no answer to an early frame can go out before `welcome`.
    framesOut.inc('welcome');
    await call(args.relay, { type: 'join', room: args.room, consumer: state.consumer, history: 0, since: args.since, answer: welcome });
    await call(state.consumer, { type: 'sync' });
  }
  track(state, args.room, false);
  args.socket.attach(self);
  if (state.token) armTokenTimer(state, state.token);
  log.debug({ session, user, room: args.room, remote: args.socket.remote }, 'connection started');
  return state;
}

function websocketHandle(event: SocketEvent, state: State): Result<State> | Promise<Result<State>> {
  switch (event.type) {
    case 'frame':
      return handleFrame(event.text, state);
    case 'binary':
      state.args.socket.close('binaryFrame');
      return noreply(state);
    case 'oversized':
      state.args.socket.close('tooBig');
      return noreply(state);
    case 'closed':
      return stop('normal', state);
  }
}

function handleFrame(text: string, state: State): Result<State> | Promise<Result<State>> {
  const frame = decodeClientFrame(text, state.args.limits);
  framesIn.inc(frame.type === 'error' ? 'invalid' : frame.type === 'say' && frame.shortcut ? 'shortcut' : frame.type);
  switch (state.limiter.admit(Math.floor(performance.now()))) {
    case 'close':
      state.args.socket.close('rateLimit');
      return noreply(state);
    case 'limited':
      return answerError(state, 'rate_limited', frame.id);
    case 'ok':
      return frame.type === 'error' ? answer(state, 'error', encodeError(frame)) : handleCommand(frame, state);
  }
}

function handleCommand(frame: ClientFrame, state: State): Result<State> | Promise<Result<State>> {
  const { relay, broker } = state.args;
  switch (frame.type) {
    case 'say': {
      const room = frame.room ?? state.args.room;
      if (!grants(state.token?.grants, room)) return answerError(state, 'forbidden', frame.id);
      if (!state.rooms.includes(room)) return answerError(state, 'not_joined', frame.id);
      const tag = state.nextTag++;
      const key = frame.id === undefined ? undefined : `${state.resendScope}\n${frame.id}`;
      const publish = { type: 'publish', room, from: state.args.name, user: state.user, text: frame.text, key, replyTo: state.self, tag } as const;
      const published = !state.draining && cast(broker, publish);
      if (!published) return answerError(state, 'unavailable', frame.id);
      (state.awaiting ??= new Map()).set(tag, { id: frame.id, ack: !frame.shortcut });
      return noreply(state);
    }
    case 'join': {
      if (!grants(state.token?.grants, frame.room)) return answerError(state, 'forbidden', frame.id);
      const joined = state.rooms.includes(frame.room);
      if (!joined && state.rooms.length >= state.args.limits.maxRooms) return answerError(state, 'too_many_rooms', frame.id);
      if (!joined) state.rooms.push(frame.room);
      const join = { type: 'join', room: frame.room, consumer: state.consumer, history: frame.history } as const;
      const joinedFrame = encodeJoined({ room: frame.room, id: frame.id });
      if (frame.since !== undefined) {
        // `joined` carries `recovered`: the relay sends it, ahead of the replay.
        framesOut.inc('joined');
        return joinRoom(state, { ...join, since: frame.since, answer: joinedFrame }, frame, !joined);
      }
      // `joined` goes out now; the relay's replay comes after it, through the consumer.
      answer(state, 'joined', joinedFrame);
      return joinRoom(state, join, frame, !joined);
    }
    case 'leave':
      return leave(state, frame.room, frame.id);
    case 'presence':
      if (!state.rooms.includes(frame.room)) return answerError(state, 'not_joined', frame.id);
      // Answered by the presence process, through the consumer.
      cast(state.args.presence, { type: 'query', room: frame.room, connection: state.self, id: frame.id });
      return noreply(state);
    case 'ping':
      return answer(state, 'pong', encodePong({ id: frame.id }));
    case 'refresh':
      return refresh(frame, state);
  }
}

/**
 * The relay's replay and the presence frame both reach the socket through
 * the consumer, the replay first (PROTOCOL.md). When both are asked for, the
 * relay is called rather than cast to: its replay is in the consumer's
 * mailbox by the time it answers, before presence can send anything there.
 */
function joinRoom(state: State, request: Join, frame: JoinFrame, newly: boolean): Result<State> | Promise<Result<State>> {
  const replays = request.since !== undefined || request.history > 0;
  if (replays && frame.presence) {
    return call(state.args.relay, request).then(() => {
      track(state, frame.room, true);
      return noreply(state);
    });
  }
  if (newly || replays) cast(state.args.relay, request);
  if (newly || frame.presence) track(state, frame.room, frame.presence);
  return noreply(state);
}

/** A member of `room` (PROTOCOL.md "Presence"); `subscribe`: also send it the room's presence. */
function track(state: State, room: string, subscribe: boolean): void {
  const { name, presence } = state.args;
  cast(presence, { type: 'track', room, user: state.user, name, connection: state.self, consumer: state.consumer, subscribe });
}

function leave(state: State, room: string, id: string | undefined): Result<State> {
  if (state.rooms.includes(room)) {
    state.rooms.splice(state.rooms.indexOf(room), 1);
    cast(state.args.relay, { type: 'leave', room, consumer: state.consumer });
    cast(state.args.presence, { type: 'untrack', room, connection: state.self });
  }
  return answer(state, 'left', encodeLeft({ room, id }));
}

/**
 * PROTOCOL.md "Expiry on a live socket". The verification is awaited in the
 * handler, as a gen_server would make a call: the frames after a `refresh`
 * are handled under the token it brings (a `join` the new token grants must
 * not meet the old one). Whatever comes meanwhile (the socket's close, the
 * token's timer) waits in the mailbox and finds the state as it is after.
 */
async function refresh(frame: RefreshFrame, state: State): Promise<Result<State>> {
  const { auth } = state.args;
  const { token } = state;
  if (auth === undefined || token === undefined) return answerError(state, 'bad_request', frame.id, 'refresh: authentication is off on this server');
  const verification = await auth.verifier.verify(frame.token);
  if ('error' in verification) return answerError(state, 'unauthorized', frame.id, `${verification.error}: the old token still counts`);
  const { identity } = verification;
  if (identity.user !== state.user) {
    state.args.socket.close('otherUser');
    return noreply(state);
  }
  token.grants = identity.rooms;
  token.exp = identity.exp;
  for (const room of state.rooms.filter((joined) => !grants(identity.rooms, joined))) leave(state, room, undefined);
  armTokenTimer(state, token);
  return answer(state, 'refreshed', encodeRefreshed({ exp: identity.exp, id: frame.id }));
}

// Every authenticated connection holds one: a shared wheel of seconds, not a
// Node timer each (lib/otp/second_timers.ts says what that saves).
const TOKEN_TIMERS = new SecondTimers<TokenTimer>({ type: 'token_timer' });

/** Sets the token's one timer for the next thing due: token_expiring, or the close at `exp`. */
function armTokenTimer(state: State, token: TokenState): void {
  cancelTokenTimer(state, token);
  const due = token.warnedFor === token.exp ? closeAt(state, token) : warnAt(state, token);
  token.due = TOKEN_TIMERS.sendAt(state.self, due);
}

function cancelTokenTimer(state: State, token: TokenState): void {
  if (token.due !== undefined) TOKEN_TIMERS.cancel(state.self, token.due);
  token.due = undefined;
}

function warnAt(state: State, token: TokenState): number {
  return (token.exp - state.args.auth!.refreshSeconds) * 1000;
}

function closeAt(state: State, token: TokenState): number {
  return (token.exp + state.args.auth!.clockToleranceSeconds) * 1000;
}

function onTokenTimer(state: State, token: TokenState): Result<State> {
  const now = Date.now();
  if (now >= closeAt(state, token)) {
    state.args.socket.close('tokenExpired');
    return noreply(state);
  }
  if (token.warnedFor !== token.exp && now >= warnAt(state, token)) {
    token.warnedFor = token.exp;
    answer(state, 'token_expiring', encodeTokenExpiring({ exp: token.exp }));
  }
  armTokenTimer(state, token);
  return noreply(state);
}

function websocketInfo(message: PublishOutcomes | Exit | TokenTimer | Drain, state: State): Result<State> | Promise<Result<State>> {
  switch (message.type) {
    case 'token_timer':
      return state.token ? onTokenTimer(state, state.token) : noreply(state);
    case 'publish_outcomes':
      answerSays(state, message.outcomes);
      break;
    case 'EXIT':
      if (message.from === state.consumer) return restartConsumer(state, message);
      break;
    case 'drain':
      state.draining = true;
      break;
  }
  return state.draining && !state.awaiting?.size ? stop('shutdown', state) : noreply(state);
}

function websocketTerminate(reason: ExitReason, state: State): void {
  if (state.token) cancelTokenTimer(state, state.token);
  log.debug({ session: state.session, user: state.user, reason: formatReason(reason) }, 'connection ended');
  // After a client's close the socket is already shut; on shutdown it is 1001, after a crash 1011.
  state.args.socket.close(isOrderlyExit(reason) ? 'shutdown' : 'internalError');
}

async function restartConsumer(state: State, exit: Exit): Promise<Result<State>> {
  const now = Date.now();
  state.recentConsumerRestarts = [...state.recentConsumerRestarts.filter((time) => now - time < CONSUMER_PERIOD_MS), now];
  if (state.recentConsumerRestarts.length > CONSUMER_INTENSITY) return stop(exit.reason, state);
  const link = relink(exit);
  state.consumer = await startLink(link, consumer, state.args.socket);
  restartReport(pathOf(state.consumer), consumer.behaviour, exit.reason, link.restarts);
  // The relay forgot the old consumer when it went down; the new one takes
  // its rooms, from where the socket is in each: what the room said while
  // no consumer was there, or was sent to the dead one, is replayed.
  // Presence needs nothing: it watches the connection, still a member, and
  // reaches the new consumer at the same ref (refs are paths).
  for (const room of state.rooms) {
    const since = state.args.socket.position(room);
    cast(state.args.relay, { type: 'join', room, consumer: state.consumer, history: 0, ...(since !== undefined && { since }) });
  }
  return noreply(state);
}

/**
 * The answers to the says one batch settled: `ack`s (none for the
 * plain-text shortcut) and `unavailable` errors, in the order the says
 * came, written in one cork: one syscall for all of them.
 */
function answerSays(state: State, outcomes: PublishOutcomes['outcomes']): void {
  const frames: string[] = [];
  let acks = 0;
  for (const { tag, msgId } of outcomes) {
    const awaiting = state.awaiting?.get(tag);
    state.awaiting?.delete(tag);
    if (msgId === undefined) frames.push(encodeError({ code: 'unavailable', message: ERROR_MESSAGES.unavailable, id: awaiting?.id }));
    else if (awaiting?.ack) {
      frames.push(encodeAck({ id: awaiting.id, msgId }));
      acks++;
    }
  }
  if (acks > 0) framesOut.inc('ack', acks);
  if (frames.length > acks) framesOut.inc('error', frames.length - acks);
  if (frames.length > 0) state.args.socket.write(frames);
}

function answer(state: State, type: string, frame: string): Result<State> {
  framesOut.inc(type);
  state.args.socket.write([frame]);
  return noreply(state);
}

function answerError(state: State, code: ErrorCode, id: string | undefined, message: string = ERROR_MESSAGES[code]): Result<State> {
  return answer(state, 'error', encodeError({ code, message, id }));
}
