/**
 * warren's client library: one dependency-free ES module for browsers
 * (served by the daemon as /warren.mjs) and Node (`import ... from
 * 'warren/client'`, or `require('warren/client')`). It speaks PROTOCOL.md
 * version 2 and does what an application should not have to: reconnects
 * with backoff, rejoins with recovery, idempotent resends, token refresh,
 * presence lists, heartbeats.
 */

/**
 * What `new WebSocket(url, protocols)` needs to be: the browser's, or the
 * `ws` package's in Node. The handlers' events are `any` because the
 * library sets them: each implementation's own event types must fit.
 */
export interface WebSocketLike {
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

export interface Backoff {
  /** The first retry waits up to this (full jitter: a uniform draw in [0, cap)). Default 500. */
  readonly baseMs?: number;
  /** The cap doubles per failed attempt up to this. Default 30000. */
  readonly maxMs?: number;
  /** A connection that stays welcomed this long resets the backoff. Default 10000. */
  readonly stableMs?: number;
}

export interface RoomOptions {
  /**
   * Also receive the room's last N messages (0-100) when joining a room
   * where nothing was seen yet; a room seen before recovers from its last
   * position instead. Default 0 (then a room where nothing was seen yet
   * has no position to recover from after a reconnect).
   */
  readonly history?: number;
  /** Keep the room's member list (`room.presence`, the `presence` event). Default false. */
  readonly presence?: boolean;
}

export interface ClientOptions {
  /**
   * The websocket endpoint, `ws://host:8081/websocket`, without a query; the
   * library adds name, room, since and client. Several: a reconnect after a
   * 1001 (the node drains) or after an attempt that was never welcomed
   * tries the next one.
   */
  readonly url: string | readonly string[];
  /** Display name (PROTOCOL.md: 1-32 characters). Absent: the server picks `anon-XXXX`; with a token, the token's. */
  readonly name?: string;
  /** The room joined on connect, with its options. Default `lobby`. */
  readonly room?: string;
  readonly roomOptions?: RoomOptions;
  /**
   * The key that scopes idempotent resends (16-64 of [A-Za-z0-9_-]). Keep it
   * across page reloads (sessionStorage) so that resends after a reload stay
   * idempotent. Default: a new random key per client object.
   */
  readonly clientKey?: string;
  /** Called before every connect, on `token_expiring` and after a close 4001. Absent: no token is sent. */
  readonly getToken?: () => string | Promise<string>;
  /** Default `globalThis.WebSocket`. Node 20 has none: pass `ws`'s. */
  readonly WebSocket?: WebSocketConstructor;
  readonly backoff?: Backoff;
  /** How long a sent request waits for its answer. A `say` that times out is resent. Default 10000. */
  readonly timeoutMs?: number;
  /** How long a `say` may take, across its resends and any time offline, before it fails with `timeout`. Default 60000. */
  readonly sayTimeoutMs?: number;
  /** Sends of one `say` at most (its first included) before it fails with the last error. Default 5. */
  readonly maxAttempts?: number;
  /** A ping this often; no pong within `timeoutMs` closes the socket and reconnects. Default 25000; 0: none. */
  readonly heartbeatMs?: number;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateChange {
  readonly state: ConnectionState;
  /** The close that led here (reconnecting, closed). */
  readonly code?: number;
  readonly reason?: string;
  /** reconnecting: the attempt about to be made (1, 2, ...) and the wait before it. */
  readonly attempt?: number;
  readonly delayMs?: number;
  /** closed, when the client gave up rather than was closed: why (code `forbidden`, `rate_limited`, `unauthorized`, `token`). */
  readonly error?: WarrenError;
}

/** PROTOCOL.md's `welcome`: who this connection is. */
export interface Welcome {
  readonly session: string;
  readonly user: string;
  readonly name: string;
  readonly node: string;
  readonly rooms: readonly string[];
}

export interface Message {
  readonly room: string;
  readonly msgId: string;
  readonly pos: string;
  readonly from: string;
  readonly user: string;
  readonly text: string;
  readonly ts: number;
  /** Sent again from the history (a `history` join, or a recovery after a reconnect), not live. */
  readonly replay: boolean;
}

export interface Member {
  readonly user: string;
  readonly name: string;
  /** As of the last full presence frame; a member announced by a diff had 1 when it joined. */
  readonly connections: number;
}

export interface Presence {
  readonly room: string;
  /** Sorted by name, then user. */
  readonly members: readonly Member[];
  /** The whole room, also when `members` is truncated. */
  readonly users: number;
  readonly connections: number;
  /** More members than the server lists (`presence.maxListed`): `members` is the first of them by name. */
  readonly truncated: boolean;
}

export interface Ack {
  readonly id: string;
  readonly msgId: string;
}

/**
 * A failed request. `code` is the server's error code (PROTOCOL.md "Errors")
 * or one of the library's: `timeout` (no answer in time), `closed` (the
 * client was closed or gave up before an answer came), `offline` (a request
 * other than `say` made while not connected).
 */
export class WarrenError extends Error {
  readonly code: string;
  /** Worth trying again, with the same `id` for a `say`: unavailable, rate_limited, timeout, closed, offline. */
  readonly retryable: boolean;
  constructor(code: string, message: string);
}

export type RoomState = 'joining' | 'joined' | 'left';

export interface RoomEvents {
  message: (message: Message) => void;
  /** The server could not recover what was missed (`recovered: false`): assume messages are missing before the next ones. */
  gap: (event: { readonly room: string }) => void;
  presence: (presence: Presence) => void;
  /** `left` also when the server took the room away (a refreshed token no longer grants it); `reason` is the error then. */
  state: (event: { readonly room: string; readonly state: RoomState; readonly error?: WarrenError }) => void;
}

export interface Room {
  readonly name: string;
  readonly state: RoomState;
  readonly options: Required<RoomOptions>;
  /** The position of the last message seen here, sent back as `since` on a rejoin. */
  readonly pos: string | undefined;
  /** The member list, when joined with `presence: true` and once the server sent it. */
  readonly presence: Presence | undefined;
  on<E extends keyof RoomEvents>(event: E, listener: RoomEvents[E]): () => void;
  /** See WarrenClient.say. */
  say(text: string, options?: { readonly id?: string }): Promise<Ack>;
  /** Stop receiving the room; resolves on `left` (at once when offline). */
  leave(): Promise<void>;
}

export interface ClientEvents {
  state: (change: StateChange) => void;
  welcome: (welcome: Welcome) => void;
  /** Every room's messages, after their room's own listeners. */
  message: (message: Message) => void;
  gap: (event: { readonly room: string }) => void;
  presence: (presence: Presence) => void;
  /** Round-trip time of each heartbeat ping, in ms. */
  latency: (ms: number) => void;
  /** An error frame that answers no request of this client (for example a plain-text frame's), or a failed token refresh. */
  error: (error: WarrenError) => void;
}

export class WarrenClient {
  constructor(options: ClientOptions);
  readonly state: ConnectionState;
  readonly clientKey: string;
  /** The current connection's welcome; undefined while not connected. */
  readonly welcome: Welcome | undefined;
  /** The rooms wanted, joined or not yet. */
  readonly rooms: ReadonlyMap<string, Room>;
  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): () => void;
  /** Start connecting (and reconnecting after drops). From `closed`, starts afresh. */
  connect(): void;
  /** Close with 1000 and stop; pending requests fail with `closed`. */
  close(): void;
  /** Reconnect now under another display name, keeping rooms and pending says. */
  rename(name: string): void;
  /** Join a room (at once if connected, else on connect); the room if already wanted. */
  join(room: string, options?: RoomOptions): Room;
  /**
   * Say `text` in a joined or wanted room. Resolves with the ack; resent
   * with the same `id` after a reconnect, an `unavailable` or a timeout
   * (up to `maxAttempts`), so it is delivered at most once. Pass the `id`
   * of a failed say to retry it idempotently.
   */
  say(room: string, text: string, options?: { readonly id?: string }): Promise<Ack>;
  /** Stop receiving a room (and stop wanting it: it is not rejoined); its pending says fail with `not_joined`. */
  leave(room: string): Promise<void>;
  /** Who is in a joined room now (the `presence` command). */
  presence(room: string): Promise<Presence>;
  /** An application ping; resolves with the round-trip time in ms. */
  ping(): Promise<number>;
}
