// The chat page: a client of PROTOCOL.md. Wires the connect form, the socket
// (chat-socket.js) and the rooms and messages (chat-rooms.js).

import { h, setText, codePoints } from './dom.js';
import { ChatSocket } from './chat-socket.js';
import { RoomsView, messageElement, gapElement, setMessageState, setTime } from './chat-rooms.js';

const ROOM_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const MAX_NAME = 32;
const MAX_TEXT = 4000;
const MAX_ERRORS_SHOWN = 5;
// Errors worth sending the same message again for (PROTOCOL.md: "the client may send it again").
const RETRYABLE = new Set(['unavailable', 'rate_limited', 'not_confirmed']);

const $ = (testid) => /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${testid}"]`));
const form = /** @type {HTMLFormElement} */ ($('connect-form'));
const nameInput = /** @type {HTMLInputElement} */ ($('name'));
const roomInput = /** @type {HTMLInputElement} */ ($('room'));
const connectButton = $('connect');
const statusEl = $('status');
const input = /** @type {HTMLTextAreaElement} */ ($('input'));
const sendButton = /** @type {HTMLButtonElement} */ ($('send'));
const errorsEl = $('errors');

const CLIENT_KEY_RE = /^[A-Za-z0-9_-]{16,64}$/;

const query = new URLSearchParams(location.search);
nameInput.value = query.get('name') ?? sessionStorage.getItem('warren.name') ?? '';
roomInput.value = query.get('room') ?? 'lobby';

let seq = 0;
const nextId = (prefix) => `${prefix}-${Date.now().toString(36)}-${++seq}`;
let me = { name: '', session: '' };
let connectRoom = 'lobby';
/** @type {Map<string, {el: HTMLElement, room: string, text: string}>} client id -> own message awaiting ack */
const pending = new Map();
/** @type {Map<string, HTMLElement>} server msgId -> message element */
const byMsgId = new Map();
/** @type {Map<string, string>} join/leave request id -> room */
const roomRequests = new Map();
/** @type {Map<string, string>} room -> `pos` of the last message seen there, sent back as `since` */
const lastPos = new Map();
const clientKey = tabClientKey();
const token = tabToken();

const rooms = new RoomsView($('room-tabs'), $('messages'), {
  select: (room) => { rooms.select(room); updateComposer(); input.focus(); },
  leave: (room) => requestLeave(room),
  evicted: (el) => { if (el.dataset.msgId) byMsgId.delete(el.dataset.msgId); },
});

const socket = new ChatSocket(() => {
  const u = new URL('/websocket', location.href);
  u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  if (nameInput.value.trim()) u.searchParams.set('name', nameInput.value.trim());
  u.searchParams.set('room', connectRoom);
  const since = lastPos.get(connectRoom);
  if (since !== undefined) u.searchParams.set('since', since);
  u.searchParams.set('client', clientKey);
  return u.href;
}, () => (token ? ['warren.v2', `warren.bearer.${token}`] : ['warren.v2']), {
  frame: onFrame,
  state: onState,
  latency: (ms) => setText($('latency'), `ping ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`),
});

// ---- connect form -------------------------------------------------------

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (socket.wanted) { socket.disconnect(); return; }
  const name = nameInput.value.trim();
  const room = roomInput.value.trim() || 'lobby';
  if (codePoints(name) > MAX_NAME) return showError('bad_request', `A name has at most ${MAX_NAME} characters.`);
  if (!ROOM_RE.test(room)) return showError('bad_request', 'A room name is letters, digits and _ . : - (up to 64), starting with a letter or digit.');
  connectRoom = room;
  sessionStorage.setItem('warren.name', name);
  const q = new URLSearchParams(location.search);
  if (name) q.set('name', name); else q.delete('name');
  q.set('room', room);
  history.replaceState(null, '', `?${q}`);
  socket.connect();
});

$('reconnect-now').addEventListener('click', () => socket.retryNow());

function onState(state, d = {}) {
  const connected = state === 'open' || state === 'connecting' || state === 'reconnecting';
  nameInput.disabled = roomInput.disabled = connected;
  setText(connectButton, connected ? 'Disconnect' : 'Connect');
  $('reconnect-now').hidden = state !== 'reconnecting';
  statusEl.dataset.state = state;
  if (d.code !== undefined) statusEl.dataset.closeCode = String(d.code);
  const closeText = d.code !== undefined ? `closed ${d.code}${d.reason ? ` “${d.reason}”` : ''}${d.explained ? ` (${d.explained})` : ''}` : '';
  switch (state) {
    case 'connecting': setText(statusEl, d.attempt ? `Reconnecting (attempt ${d.attempt + 1})…` : 'Connecting…'); break;
    case 'open': setText(statusEl, 'Connected, waiting for welcome…'); break;
    case 'reconnecting': setText(statusEl, `Disconnected: ${closeText}. Reconnecting in ${(d.delayMs / 1000).toFixed(1)} s…`); break;
    case 'closed': setText(statusEl, d.byUser ? 'Disconnected.' : `Disconnected: ${closeText}.`); break;
  }
  if (state !== 'open') {
    for (const room of rooms.names()) rooms.setState(room, 'offline');
    failAllPending();
    setText($('latency'), '');
  }
  updateComposer();
}

// ---- frames from the server ---------------------------------------------

function onFrame(f) {
  switch (f.type) {
    case 'welcome': return onWelcome(f);
    case 'message': return onMessage(f);
    case 'ack': return onAck(f);
    case 'joined':
      roomRequests.delete(f.id);
      rooms.add(f.room, 'joined');
      if (f.recovered === false) rooms.push(f.room, gapElement(f.room));
      return updateComposer();
    case 'left':
      roomRequests.delete(f.id);
      rooms.remove(f.room);
      lastPos.delete(f.room); // a later join starts afresh, not from where we left
      if (f.room === connectRoom) connectRoom = rooms.names()[0] ?? connectRoom; // reconnect into a room we still want
      return updateComposer();
    case 'error': return onError(f);
    case 'token_expiring':
      return showError('token_expiring', `Your token expires at ${new Date(f.exp * 1000).toLocaleTimeString()}: open the page again with a new one.`);
    case 'raw': return showError('raw', `Unexpected frame: ${f.text.slice(0, 200)}`);
    default: return undefined; // a newer server may send more; ignore what we do not know
  }
}

function onWelcome(f) {
  socket.healthy();
  me = { name: String(f.name ?? ''), session: String(f.session ?? '') };
  setText($('session'), `${me.name} · session ${me.session}`);
  setText($('node'), `node ${f.node ?? '?'}`);
  setText(statusEl, `Connected as ${me.name}.`);
  statusEl.dataset.state = 'connected';
  const joined = new Set(Array.isArray(f.rooms) ? f.rooms.map(String) : []);
  for (const room of joined) rooms.add(room, 'joined');
  if (f.recovered === false) rooms.push(connectRoom, gapElement(connectRoom));
  // After a reconnect only the connect room is joined again: rejoin the rest.
  for (const room of rooms.names()) if (!joined.has(room)) requestJoin(room);
  if (rooms.active === null && joined.size) rooms.select([...joined][0]);
  updateComposer();
  input.focus();
}

function onMessage(f) {
  const room = String(f.room);
  if (typeof f.pos === 'string') lastPos.set(room, f.pos);
  const known = f.msgId ? byMsgId.get(String(f.msgId)) : undefined;
  if (known) { // our own message, already acked: now delivered; or a replay of one already shown
    setTime(known, f.ts);
    setMessageState(known, 'delivered');
    return;
  }
  const el = messageElement({ room, from: String(f.from ?? ''), text: String(f.text ?? ''), ts: f.ts, msgId: f.msgId ? String(f.msgId) : '', state: 'delivered' });
  if (f.msgId) byMsgId.set(String(f.msgId), el);
  rooms.push(room, el);
}

function onAck(f) {
  const p = pending.get(f.id);
  if (!p) return;
  pending.delete(f.id);
  const msgId = String(f.msgId);
  const delivered = byMsgId.get(msgId);
  if (delivered) { // the delivery overtook the ack: keep the delivered copy, mark it ours
    delivered.classList.add('own');
    delivered.dataset.clientId = f.id;
    rooms.drop(p.room, p.el);
    return;
  }
  p.el.dataset.msgId = msgId;
  byMsgId.set(msgId, p.el);
  setMessageState(p.el, 'sent');
}

function onError(f) {
  const code = String(f.code ?? 'error');
  const message = String(f.message ?? code);
  const p = f.id !== undefined ? pending.get(f.id) : undefined;
  if (p) {
    pending.delete(f.id);
    return failMessage(p, code, message);
  }
  const room = f.id !== undefined ? roomRequests.get(f.id) : undefined;
  if (room !== undefined) {
    roomRequests.delete(f.id);
    if (rooms.stateOf(room) === 'joining') rooms.remove(room);
    else if (rooms.stateOf(room) === 'leaving') rooms.setState(room, 'joined');
    updateComposer();
  }
  showError(code, room !== undefined ? `#${room}: ${message}` : message);
}

// ---- sending --------------------------------------------------------------

input.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    sendCurrent();
  }
});
$('send-form').addEventListener('submit', (ev) => { ev.preventDefault(); sendCurrent(); });

function sendCurrent() {
  const text = input.value;
  if (text.trim() === '' || !canSend()) return;
  if (codePoints(text) > MAX_TEXT) return showError('too_large', `A message has at most ${MAX_TEXT} characters.`);
  const room = /** @type {string} */ (rooms.active);
  const id = nextId('c');
  const el = messageElement({ room, from: me.name, text, clientId: id, own: true, state: 'pending' });
  rooms.push(room, el);
  pending.set(id, { el, room, text });
  socket.send({ type: 'say', text, room, id });
  input.value = '';
}

function failMessage(p, code, message) {
  setMessageState(p.el, 'failed', `${code}: ${message}`);
  p.el.dataset.errorCode = code;
  if (!RETRYABLE.has(code)) return;
  p.el.appendChild(h('button', { type: 'button', class: 'retry', 'data-testid': 'retry', onclick: () => retry(p) }, 'Retry'));
}

function retry(p) {
  if (!socket.isOpen || rooms.stateOf(p.room) !== 'joined') return showError('offline', `Not connected to #${p.room} yet; try again in a moment.`);
  // The same id: if the first try was delivered after all, the server acks it again instead of delivering a copy.
  const id = /** @type {string} */ (p.el.dataset.clientId);
  delete p.el.dataset.errorCode;
  setMessageState(p.el, 'pending');
  pending.set(id, p);
  socket.send({ type: 'say', text: p.text, room: p.room, id });
}

/** The socket closed: acks for what is in flight will never come. */
function failAllPending() {
  for (const p of pending.values()) failMessage(p, 'not_confirmed', 'the connection closed before the server confirmed it');
  pending.clear();
  for (const [id, room] of roomRequests) { roomRequests.delete(id); if (rooms.stateOf(room) === 'joining') rooms.remove(room); }
}

function canSend() {
  return socket.isOpen && rooms.active !== null && rooms.stateOf(rooms.active) === 'joined';
}

function updateComposer() {
  const ok = canSend();
  sendButton.disabled = !ok;
  input.placeholder = ok ? `Message #${rooms.active} (Enter to send, Shift+Enter for a new line)` : 'Not connected';
}

// ---- joining and leaving ----------------------------------------------------

$('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const joinInput = /** @type {HTMLInputElement} */ ($('join-input'));
  const room = joinInput.value.trim().replace(/^#/, '');
  if (!ROOM_RE.test(room)) return showError('bad_request', 'A room name is letters, digits and _ . : - (up to 64), starting with a letter or digit.');
  if (!socket.isOpen) return showError('offline', 'Connect first.');
  joinInput.value = '';
  if (rooms.stateOf(room) !== 'joined') requestJoin(room);
  rooms.select(room);
  updateComposer();
});

function requestJoin(room) {
  const id = nextId('j');
  roomRequests.set(id, room);
  rooms.add(room, 'joining');
  const since = lastPos.get(room);
  socket.send(since === undefined ? { type: 'join', room, id } : { type: 'join', room, id, since });
}

function requestLeave(room) {
  if (!socket.isOpen) { rooms.remove(room); lastPos.delete(room); return updateComposer(); }
  const id = nextId('l');
  roomRequests.set(id, room);
  rooms.setState(room, 'leaving');
  socket.send({ type: 'leave', room, id });
}

// ---- inline errors ------------------------------------------------------------

function showError(code, message) {
  const item = h('li', { class: 'error', 'data-testid': 'error', 'data-code': code },
    h('span', {}, message),
    h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×'));
  errorsEl.appendChild(item);
  while (errorsEl.children.length > MAX_ERRORS_SHOWN) errorsEl.firstElementChild?.remove();
}

/**
 * A token given in the page URL's fragment (`#token=<JWT>`), which browsers
 * never send to a server, so it stays out of access logs. It is kept for the
 * tab's reloads and taken out of the address bar.
 */
function tabToken() {
  const given = new URLSearchParams(location.hash.slice(1)).get('token');
  if (given) {
    sessionStorage.setItem('warren.token', given);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem('warren.token');
}

/** This tab's `client` key (PROTOCOL.md "Connecting"): the same across its reconnects and reloads. */
function tabClientKey() {
  const kept = sessionStorage.getItem('warren.client');
  if (kept !== null && CLIENT_KEY_RE.test(kept)) return kept;
  // 18 random bytes are 24 base64url characters, no padding.
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(18)))).replace(/\+/g, '-').replace(/\//g, '_');
  sessionStorage.setItem('warren.client', key);
  return key;
}

updateComposer();
if (query.get('autoconnect') === '1') form.requestSubmit();
