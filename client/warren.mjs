// warren's client library (PROTOCOL.md version 2): one dependency-free ES
// module, for browsers (the daemon serves it as /warren.mjs) and Node
// (`warren/client`). The types and the API are in warren.d.mts.
//
// What it does so that applications do not have to, after phoenix.js and
// centrifuge-js: reconnect with capped, fully jittered backoff; rejoin every
// room with `since` its last position; resend every unacked `say` under its
// first `id` (the server delivers it at most once); refresh the token before
// it expires; keep each room's member list from `presence` and
// `presence_diff`; notice a dead socket by a heartbeat.

const ROOM_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const CLIENT_KEY_RE = /^[A-Za-z0-9_-]{16,64}$/;
const MAX_NAME = 32;
// PROTOCOL.md "Authentication": the server selects `warren.v2` whenever it
// is offered, and never echoes the token's subprotocol.
const SUBPROTOCOL = 'warren.v2';

const DEFAULTS = {
  baseMs: 500,
  maxMs: 30_000,
  stableMs: 10_000,
  timeoutMs: 10_000,
  sayTimeoutMs: 60_000,
  maxAttempts: 5,
  heartbeatMs: 25_000,
};

// Retrying these cannot help (PROTOCOL.md "Closing"): the same token gets
// the same 4003 and the same flood the same 1008. 4001 is retried once,
// with a token fetched afresh.
const FINAL_CLOSES = new Map([
  [4003, 'forbidden'],
  [1008, 'rate_limited'],
]);
const TOKEN_CLOSE = 4001;
const GOING_AWAY = 1001;
// A node that drains closes with 1001: the next URL is then another node.

const RETRYABLE = new Set(['unavailable', 'rate_limited', 'timeout', 'closed', 'offline']);

// A replay may overlap what arrived live (a `history` join of a room joined
// at connect); the last msgIds of each room are enough to drop the overlap.
const SEEN_PER_ROOM = 1000;

export class WarrenError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'WarrenError';
    this.code = code;
    this.retryable = RETRYABLE.has(code);
  }
}

/** Listeners per event name; one listener's exception does not stop the others, nor the client. */
class Emitter {
  #listeners = new Map();

  on(event, listener) {
    let list = this.#listeners.get(event);
    if (list === undefined) this.#listeners.set(event, (list = new Set()));
    list.add(listener);
    return () => list.delete(listener);
  }

  emit(event, value) {
    const list = this.#listeners.get(event);
    if (list === undefined) return;
    for (const listener of [...list]) {
      try {
        listener(value);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

/** The part of a room the application sees; the client owns its state. */
class Room {
  #client;
  #state;

  constructor(client, state) {
    this.#client = client;
    this.#state = state;
  }

  get name() { return this.#state.name; }
  get state() { return this.#state.status; }
  get options() { return this.#state.options; }
  get pos() { return this.#state.pos; }
  get presence() { return this.#state.presence; }

  on(event, listener) {
    return this.#state.events.on(event, listener);
  }

  say(text, options) {
    return this.#client.say(this.#state.name, text, options);
  }

  leave() {
    return this.#client.leave(this.#state.name);
  }
}

export class WarrenClient {
  #options;
  #urls;
  #urlIndex = 0;
  #WebSocket;
  #events = new Emitter();
  #state = 'idle';
  #wanted = false;
  #ws = null;
  #welcome = undefined;
  // Failed attempts since the last stable connection: the backoff's exponent.
  #attempt = 0;
  // Consecutive 4001 closes without a welcome: a second means the fresh token was refused too.
  #tokenRefusals = 0;
  #timers = {};
  /** @type {Map<string, object>} room name -> its state, in join order: the first is the connect room */
  #rooms = new Map();
  #roomHandles = new Map();
  /** @type {Map<string, object>} say id -> the say, in the order said: resends keep that order */
  #says = new Map();
  /** @type {Map<string, object>} request id -> what answers it */
  #requests = new Map();
  #idPrefix = randomKey(6);
  #seq = 0;
  // Each attempt's number: an attempt overtaken while it awaited getToken() gives way.
  #generation = 0;
  // The room the current socket's URL joined.
  #connectRoom = undefined;

  constructor(options) {
    const urls = [options.url ?? []].flat();
    if (urls.length === 0) throw new TypeError('warren: `url` is required');
    this.#urls = urls.map((url) => new URL(url).href);
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== 'function') throw new TypeError('warren: no WebSocket here: pass the `WebSocket` option (in Node, the `ws` package)');
    if (options.clientKey !== undefined && !CLIENT_KEY_RE.test(options.clientKey)) throw new TypeError('warren: `clientKey` is 16-64 of [A-Za-z0-9_-]');
    this.#options = {
      name: checkName(options.name),
      getToken: options.getToken,
      clientKey: options.clientKey ?? randomKey(18),
      baseMs: options.backoff?.baseMs ?? DEFAULTS.baseMs,
      maxMs: options.backoff?.maxMs ?? DEFAULTS.maxMs,
      stableMs: options.backoff?.stableMs ?? DEFAULTS.stableMs,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      sayTimeoutMs: options.sayTimeoutMs ?? DEFAULTS.sayTimeoutMs,
      maxAttempts: options.maxAttempts ?? DEFAULTS.maxAttempts,
      heartbeatMs: options.heartbeatMs ?? DEFAULTS.heartbeatMs,
      room: options.room ?? 'lobby',
    };
    this.join(this.#options.room, options.roomOptions);
  }

  get state() { return this.#state; }
  get clientKey() { return this.#options.clientKey; }
  get welcome() { return this.#welcome; }
  get rooms() { return this.#roomHandles; }

  on(event, listener) {
    return this.#events.on(event, listener);
  }

  connect() {
    if (this.#wanted) return;
    this.#wanted = true;
    this.#attempt = 0;
    this.#tokenRefusals = 0;
    void this.#open();
  }

  close() {
    const wasWanted = this.#wanted;
    this.#wanted = false;
    this.#generation++;
    const ws = this.#ws;
    this.#disconnected();
    if (ws !== null) ws.close(1000, 'bye');
    this.#failAll(new WarrenError('closed', 'the client was closed'));
    if (wasWanted) this.#setState({ state: 'closed', code: 1000, reason: 'bye' });
  }

  rename(name) {
    this.#options.name = checkName(name);
    if (!this.#wanted) return;
    const ws = this.#ws;
    this.#disconnected();
    if (ws !== null) ws.close(1000, 'rename');
    void this.#open();
  }

  join(room, options = {}) {
    const known = this.#roomHandles.get(room);
    if (known !== undefined) return known;
    if (typeof room !== 'string' || !ROOM_RE.test(room)) throw new TypeError(`warren: ${JSON.stringify(room)} is not a room name (${ROOM_RE})`);
    const state = {
      name: room,
      status: 'joining',
      options: { history: options.history ?? 0, presence: options.presence ?? false },
      pos: undefined,
      presence: undefined,
      events: new Emitter(),
      seen: new Set(),
      // The id of the join in flight, whose `joined` or `error` settles it.
      joinId: undefined,
    };
    const handle = new Room(this, state);
    this.#rooms.set(room, state);
    this.#roomHandles.set(room, handle);
    if (this.#welcome !== undefined) this.#sendJoin(state);
    return handle;
  }

  leave(room) {
    const state = this.#rooms.get(room);
    if (state === undefined) return Promise.resolve();
    this.#rooms.delete(room);
    this.#roomHandles.delete(room);
    for (const say of this.#says.values()) if (say.room === room) this.#settleSay(say, new WarrenError('not_joined', `left ${room}`));
    this.#setRoomStatus(state, 'left');
    // Offline there is nothing to leave: the room is not rejoined.
    return this.#request({ type: 'leave', room }).then(() => undefined, () => undefined);
  }

  say(room, text, options = {}) {
    const id = options.id ?? this.#nextId();
    const pending = this.#says.get(id);
    if (pending !== undefined) return pending.promise;
    if (!this.#rooms.has(room)) return Promise.reject(new WarrenError('not_joined', `not in ${room}: join it first`));
    const say = { id, room, text, attempts: 0, lastError: undefined, attemptTimer: 0, deadline: 0 };
    say.promise = new Promise((resolve, reject) => Object.assign(say, { resolve, reject }));
    // A say may be fire-and-forget: its failure (the client closed, say)
    // must not become an unhandled rejection, which ends a Node process.
    say.promise.catch(() => undefined);
    say.deadline = setTimeout(() => this.#settleSay(say, say.lastError ?? new WarrenError('timeout', `no ack within ${this.#options.sayTimeoutMs} ms`)), this.#options.sayTimeoutMs);
    this.#says.set(id, say);
    if (this.#welcome !== undefined) this.#sendSay(say);
    return say.promise;
  }

  presence(room) {
    if (!this.#rooms.has(room)) return Promise.reject(new WarrenError('not_joined', `not in ${room}: join it first`));
    return this.#request({ type: 'presence', room });
  }

  ping() {
    const sent = performanceNow();
    return this.#request({ type: 'ping' }).then(() => performanceNow() - sent);
  }

  // ---- the socket's life ------------------------------------------------

  async #open() {
    clearTimeout(this.#timers.retry);
    const generation = ++this.#generation;
    this.#setState({ state: 'connecting', attempt: this.#attempt });
    let token;
    if (this.#options.getToken !== undefined) {
      try {
        token = await this.#options.getToken();
      } catch (error) {
        if (generation !== this.#generation) return;
        this.#events.emit('error', new WarrenError('token', `getToken failed: ${reasonOf(error)}`));
        return this.#retry({ code: 0, reason: 'no token' });
      }
      // Closed, renamed or reconnected meanwhile: that decides, not this attempt.
      if (generation !== this.#generation) return;
    }
    let ws;
    try {
      ws = new this.#WebSocket(this.#connectUrl(), token === undefined ? [SUBPROTOCOL] : [SUBPROTOCOL, `warren.bearer.${token}`]);
    } catch (error) {
      this.#giveUp(new WarrenError('bad_request', `cannot open a websocket: ${reasonOf(error)}`), { code: 0, reason: reasonOf(error) });
      return;
    }
    // A socket is detached (detach()) as soon as it is no longer the
    // current one: these handlers only ever see the current socket.
    this.#ws = ws;
    ws.onmessage = (event) => this.#receive(event.data);
    ws.onclose = (event) => this.#closed(event.code, event.reason);
    ws.onerror = () => undefined; // a close follows
    // No welcome in time (a proxy that accepts and forwards nothing): this attempt failed.
    this.#timers.welcome = setTimeout(() => this.#drop('no welcome in time'), this.#options.timeoutMs);
  }

  #connectUrl() {
    const url = new URL(this.#urls[this.#urlIndex % this.#urls.length]);
    // PROTOCOL.md: every connection joins a room. With none wanted it is
    // the configured one, left again after the welcome.
    const first = this.#rooms.values().next().value;
    this.#connectRoom = first?.name ?? this.#options.room;
    if (this.#options.name !== undefined) url.searchParams.set('name', this.#options.name);
    url.searchParams.set('room', this.#connectRoom);
    if (first?.pos !== undefined) url.searchParams.set('since', first.pos);
    url.searchParams.set('client', this.#options.clientKey);
    return url.href;
  }

  /** Give up on the socket, which looks dead: as if it had closed. */
  #drop(reason) {
    const ws = this.#ws;
    detach(ws);
    ws.close(1000, reason);
    this.#closed(1006, reason);
  }

  #closed(code, reason) {
    const welcomed = this.#welcome !== undefined;
    this.#disconnected();
    const close = { code, reason };
    const final = FINAL_CLOSES.get(code);
    if (final !== undefined) return this.#giveUp(new WarrenError(final, `closed ${code}${reason ? `: ${reason}` : ''}`), close);
    if (code === TOKEN_CLOSE) {
      if (this.#options.getToken === undefined || ++this.#tokenRefusals > 1) {
        return this.#giveUp(new WarrenError('unauthorized', `closed 4001${reason ? `: ${reason}` : ''}`), close);
      }
      // A token fetched afresh may well be accepted: no reason to wait first.
      return this.#retry(close, 0);
    }
    if (code === GOING_AWAY || !welcomed) this.#urlIndex++;
    this.#retry(close);
  }

  /** After a socket is gone: what it had in flight waits for the next one. */
  #disconnected() {
    const ws = this.#ws;
    if (ws !== null) detach(ws);
    this.#ws = null;
    this.#welcome = undefined;
    for (const name of ['retry', 'stable', 'heartbeat', 'welcome']) clearTimeout(this.#timers[name]);
    for (const say of this.#says.values()) clearTimeout(say.attemptTimer);
    for (const [id, request] of this.#requests) {
      this.#requests.delete(id);
      clearTimeout(request.timer);
      request.reject(new WarrenError('closed', 'the connection closed before the answer came'));
    }
    for (const room of this.#rooms.values()) {
      room.joinId = undefined;
      this.#setRoomStatus(room, 'joining');
    }
  }

  #retry(close, delayMs) {
    this.#attempt++;
    const delay = delayMs ?? this.#backoff(this.#attempt);
    this.#setState({ state: 'reconnecting', ...close, attempt: this.#attempt, delayMs: delay });
    this.#timers.retry = setTimeout(() => void this.#open(), delay);
  }

  /**
   * Full jitter, a uniform draw below a cap that doubles per attempt: the
   * clients one failure dropped together do not come back together.
   */
  #backoff(attempt) {
    return Math.floor(Math.random() * Math.min(this.#options.maxMs, this.#options.baseMs * 2 ** (attempt - 1)));
  }

  #giveUp(error, close) {
    this.#wanted = false;
    this.#failAll(new WarrenError('closed', `the client stopped: ${error.message}`));
    this.#setState({ state: 'closed', ...close, error });
  }

  #setState(change) {
    this.#state = change.state;
    this.#events.emit('state', change);
  }

  // ---- frames from the server --------------------------------------------

  #receive(data) {
    // PROTOCOL.md has only JSON text frames for clients: anything else is not for us.
    if (typeof data !== 'string') return;
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    // A newer server may say more: what this version does not know falls through.
    switch (frame?.type) {
      case 'welcome': return this.#welcomed(frame);
      case 'message': return this.#message(frame);
      case 'ack': return this.#acked(frame);
      case 'error': return this.#error(frame);
      case 'joined': return this.#joined(frame);
      case 'left': return this.#left(frame);
      case 'presence': return this.#presence(frame);
      case 'presence_diff': return this.#presenceDiff(frame);
      case 'pong':
      case 'refreshed': return this.#answered(frame.id, frame);
      case 'token_expiring': return void this.#refreshToken();
    }
  }

  #welcomed(frame) {
    clearTimeout(this.#timers.welcome);
    const { session, user, name, node, rooms } = frame;
    this.#welcome = { session, user, name, node, rooms };
    this.#tokenRefusals = 0;
    this.#timers.stable = setTimeout(() => (this.#attempt = 0), this.#options.stableMs);
    this.#heartbeat();
    this.#setState({ state: 'open' });
    this.#events.emit('welcome', this.#welcome);
    if (!this.#rooms.has(this.#connectRoom)) this.#send({ type: 'leave', room: this.#connectRoom });
    for (const room of this.#rooms.values()) {
      if (room.name === this.#connectRoom) this.#connectJoined(room, frame.recovered);
      else this.#sendJoin(room, room.pos);
    }
    for (const say of this.#says.values()) this.#sendSay(say);
  }

  /**
   * The connect room is joined by the URL (and recovered with its `since`).
   * A `join` of it is still sent for what a URL cannot ask: `history` the
   * first time, and `presence`.
   */
  #connectJoined(room, recovered) {
    this.#setRoomStatus(room, 'joined');
    if (recovered === false) this.#gap(room);
    if (wantsHistory(room) || room.options.presence) this.#sendJoin(room);
  }

  /**
   * A room seen before recovers from `since`, its last position; one where
   * nothing was seen yet asks for its history (when wanted) again: what it
   * holds was all said since.
   */
  #sendJoin(room, since) {
    const frame = { type: 'join', room: room.name, id: this.#nextId() };
    if (since !== undefined) frame.since = since;
    else if (wantsHistory(room)) frame.history = room.options.history;
    if (room.options.presence) frame.presence = true;
    room.joinId = frame.id;
    this.#send(frame);
  }

  #joined(frame) {
    const room = this.#rooms.get(frame.room);
    if (room === undefined) return;
    room.joinId = undefined;
    this.#setRoomStatus(room, 'joined');
    if (frame.recovered === false) this.#gap(room);
  }

  #left(frame) {
    if (this.#answered(frame.id, frame)) return;
    const room = this.#rooms.get(frame.room);
    if (room === undefined) return;
    // Not asked for: a refreshed token no longer grants the room.
    this.#rooms.delete(room.name);
    this.#roomHandles.delete(room.name);
    this.#setRoomStatus(room, 'left', new WarrenError('forbidden', `the server left ${room.name}`));
  }

  #gap(room) {
    const event = { room: room.name };
    room.events.emit('gap', event);
    this.#events.emit('gap', event);
  }

  #message(frame) {
    const room = this.#rooms.get(frame.room);
    if (room === undefined || room.seen.has(frame.msgId)) return;
    room.seen.add(frame.msgId);
    if (room.seen.size > SEEN_PER_ROOM) room.seen.delete(room.seen.values().next().value);
    room.pos = frame.pos;
    const { msgId, pos, from, user, text, ts } = frame;
    const message = { room: room.name, msgId, pos, from, user, text, ts, replay: frame.replay === true };
    room.events.emit('message', message);
    this.#events.emit('message', message);
  }

  #acked(frame) {
    const say = this.#says.get(frame.id);
    if (say !== undefined) this.#settleSay(say, undefined, { id: say.id, msgId: frame.msgId });
  }

  #error(frame) {
    const error = new WarrenError(frame.code, frame.message);
    const say = this.#says.get(frame.id);
    if (say !== undefined) return this.#sayFailed(say, error);
    if (this.#answered(frame.id, undefined, error)) return;
    const room = frame.id === undefined ? undefined : [...this.#rooms.values()].find((r) => r.joinId === frame.id);
    if (room !== undefined) {
      // The join was refused (forbidden, too_many_rooms): the room is not wanted any more.
      this.#rooms.delete(room.name);
      this.#roomHandles.delete(room.name);
      return this.#setRoomStatus(room, 'left', error);
    }
    this.#events.emit('error', error);
  }

  #presence(frame) {
    const members = frame.members.map(({ user, name, connections }) => ({ user, name, connections }));
    const presence = { room: frame.room, members: sortMembers(members), users: frame.users, connections: frame.connections, truncated: frame.truncated === true };
    this.#answered(frame.id, presence);
    const room = this.#rooms.get(presence.room);
    if (room?.options.presence) this.#setPresence(room, presence);
  }

  #presenceDiff(frame) {
    const room = this.#rooms.get(frame.room);
    const before = room?.presence;
    if (before === undefined) return;
    // Above presence.maxListed a diff carries only counts: the list stays as the last full frame showed it.
    const members = frame.joins === undefined ? before.members : applyDiff(before.members, frame);
    this.#setPresence(room, { ...before, members, users: frame.users, connections: frame.connections });
  }

  #setPresence(room, presence) {
    room.presence = presence;
    room.events.emit('presence', presence);
    this.#events.emit('presence', presence);
  }

  #setRoomStatus(room, status, error) {
    if (room.status === status) return;
    room.status = status;
    const event = error === undefined ? { room: room.name, state: status } : { room: room.name, state: status, error };
    room.events.emit('state', event);
  }

  // ---- says -------------------------------------------------------------

  #sendSay(say) {
    if (say.attempts >= this.#options.maxAttempts) {
      return this.#settleSay(say, say.lastError ?? new WarrenError('timeout', `not acked after ${say.attempts} attempts`));
    }
    say.attempts++;
    this.#send({ type: 'say', room: say.room, text: say.text, id: say.id });
    say.attemptTimer = setTimeout(() => this.#sayFailed(say, new WarrenError('timeout', `no answer within ${this.#options.timeoutMs} ms`)), this.#options.timeoutMs);
  }

  /**
   * An `unavailable` or a timeout: the broker may not have it, so the same
   * id goes again after a pause. The pause is cleared with the socket, whose
   * successor resends at once.
   */
  #sayFailed(say, error) {
    clearTimeout(say.attemptTimer);
    if (!error.retryable || error.code === 'rate_limited') return this.#settleSay(say, error);
    say.lastError = error;
    say.attemptTimer = setTimeout(() => this.#sendSay(say), this.#backoff(say.attempts));
  }

  #settleSay(say, error, ack) {
    this.#says.delete(say.id);
    clearTimeout(say.attemptTimer);
    clearTimeout(say.deadline);
    if (error === undefined) say.resolve(ack);
    else say.reject(error);
  }

  #failAll(error) {
    for (const say of [...this.#says.values()]) this.#settleSay(say, error);
  }

  // ---- requests, heartbeats, tokens ------------------------------------------

  #request(frame) {
    if (this.#welcome === undefined) return Promise.reject(new WarrenError('offline', 'not connected'));
    const id = this.#nextId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#requests.delete(id);
        reject(new WarrenError('timeout', `no answer to ${frame.type} within ${this.#options.timeoutMs} ms`));
      }, this.#options.timeoutMs);
      this.#requests.set(id, { resolve, reject, timer });
      this.#send({ ...frame, id });
    });
  }

  /** Settles the request `id` answers; false when it answers none. */
  #answered(id, value, error) {
    const request = this.#requests.get(id);
    if (request === undefined) return false;
    this.#requests.delete(id);
    clearTimeout(request.timer);
    if (error === undefined) request.resolve(value);
    else request.reject(error);
    return true;
  }

  #heartbeat() {
    if (this.#options.heartbeatMs <= 0) return;
    this.#timers.heartbeat = setTimeout(() => {
      this.ping().then(
        (ms) => {
          this.#events.emit('latency', ms);
          this.#heartbeat();
        },
        // No pong in time: the socket is dead even if the OS has not noticed.
        // (A socket that closed meanwhile failed the ping with `closed`.)
        (error) => {
          if (error.code === 'timeout') this.#drop('heartbeat timed out');
        },
      );
    }, this.#options.heartbeatMs);
  }

  async #refreshToken() {
    if (this.#options.getToken === undefined) {
      return this.#events.emit('error', new WarrenError('token', 'the token is expiring and there is no getToken to renew it'));
    }
    let token;
    try {
      token = await this.#options.getToken();
    } catch (error) {
      return this.#events.emit('error', new WarrenError('token', `getToken failed: ${reasonOf(error)}`));
    }
    await this.#request({ type: 'refresh', token }).catch((error) => this.#events.emit('error', error));
  }

  /**
   * Only while welcomed (every caller checks), so a frame never meets a
   * socket still connecting; `?.` for a listener that closed the client
   * in the middle of a welcome.
   */
  #send(frame) {
    this.#ws?.send(JSON.stringify(frame));
  }

  #nextId() {
    // The prefix is random per client object: a reloaded page that keeps
    // its client key must not reuse an id the server still remembers.
    return `${this.#idPrefix}${(++this.#seq).toString(36)}`;
  }
}

function wantsHistory(room) {
  return room.pos === undefined && room.options.history > 0;
}

function detach(ws) {
  ws.onmessage = ws.onclose = null;
  // Not null: `ws` throws an 'error' without a listener, which a close of a connecting socket emits.
  ws.onerror = () => undefined;
}

function checkName(name) {
  if (name === undefined) return undefined;
  const trimmed = String(name).trim();
  if ([...trimmed].length > MAX_NAME) throw new TypeError(`warren: a name has at most ${MAX_NAME} characters`);
  return trimmed === '' ? undefined : trimmed;
}

/** A presence list with a diff's leaves and joins applied (both present whenever either is). */
function applyDiff(listed, { joins, leaves }) {
  const members = new Map(listed.map((m) => [m.user, m]));
  for (const { user } of leaves) members.delete(user);
  for (const { user, name } of joins) members.set(user, { user, name, connections: 1 });
  return sortMembers([...members.values()]);
}

function sortMembers(members) {
  // The server's order (PROTOCOL.md): by name, then user, in code units. No
  // two members have the same user, so no two compare equal.
  return members.sort((a, b) => (a.name < b.name || (a.name === b.name && a.user < b.user) ? -1 : 1));
}

/** `bytes` random bytes as base64url (a multiple of 3: no padding). */
function randomKey(bytes) {
  const raw = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, '-').replace(/\//g, '_');
}

function reasonOf(error) {
  return error instanceof Error ? error.message : String(error);
}

function performanceNow() {
  return globalThis.performance.now();
}
