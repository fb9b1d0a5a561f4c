// The chat page, built on warren's client library (served as /warren.mjs),
// which keeps the connection, the rooms, the resends and the member lists.
// This file wires the library's events to the room tabs and messages
// (chat-rooms.js), the member list (chat-presence.js) and the connection
// indicator (chat-status.js).

import { WarrenClient } from '/warren.mjs';
import { h, setText, codePoints } from './dom.js';
import { RoomsView, messageElement, gapElement, setMessageState, setTime } from './chat-rooms.js';
import { renderPresence } from './chat-presence.js';
import { StatusLine } from './chat-status.js';

const ROOM_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const CLIENT_KEY_RE = /^[A-Za-z0-9_-]{16,64}$/;
const MAX_NAME = 32;
const MAX_TEXT = 4000;
const MAX_ERRORS_SHOWN = 5;
// The issue asks for the last 50 messages of a room on join, and every
// room's member list.
const ROOM_OPTIONS = { history: 50, presence: true };
const BAD_ROOM = 'A room name is letters, digits and _ . : - (up to 64), starting with a letter or digit.';

const $ = (testid) => /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${testid}"]`));
const nameInput = /** @type {HTMLInputElement} */ ($('name'));
const tokenInput = /** @type {HTMLInputElement} */ ($('token'));
const input = /** @type {HTMLTextAreaElement} */ ($('input'));
const sendButton = /** @type {HTMLButtonElement} */ ($('send'));
const presenceEls = { counts: $('presence-counts'), list: $('members') };
const status = new StatusLine($('status'));

const query = new URLSearchParams(location.search);
const fromHash = hashSettings();
// Query overrides first: two pages of one browser share localStorage, and
// the specs open them as different people.
nameInput.value = query.get('name') ?? localStorage.getItem('warren.name') ?? '';
const firstRoom = [query.get('room'), fromHash.room, localStorage.getItem('warren.room')].find((r) => r && ROOM_RE.test(r)) ?? 'lobby';
if (fromHash.token) sessionStorage.setItem('warren.token', fromHash.token);
const clientKey = tabClientKey();

let seq = 0;
const nextId = () => `c-${Date.now().toString(36)}-${++seq}`;
/** @type {Map<string, HTMLElement>} server msgId -> message element */
const byMsgId = new Map();
/** @type {WarrenClient} */
let client;

const rooms = new RoomsView($('room-tabs'), $('messages'), {
  select: (room) => { rooms.select(room); input.focus(); },
  shown: (room) => {
    if (room !== null) {
      localStorage.setItem('warren.room', room);
      history.replaceState(null, '', `${location.pathname}${location.search}#${room}`);
    }
    renderPresence(presenceEls, room === null ? undefined : client.rooms.get(room)?.presence, client.welcome?.user);
    updateComposer();
  },
  leave: (room) => {
    void client.rooms.get(room)?.leave();
    rooms.remove(room);
  },
  evicted: (el) => { if (el.dataset.msgId) byMsgId.delete(el.dataset.msgId); },
});

/**
 * A client for the page's name, rooms and token. A token set in the page
 * needs a new client: a client without getToken never sends one.
 */
function start() {
  client?.close();
  const token = sessionStorage.getItem('warren.token');
  const name = nameInput.value.trim();
  const url = new URL('/websocket', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const wanted = rooms.names().length > 0 ? rooms.names() : [firstRoom];
  const c = new WarrenClient({
    url: url.href, room: rooms.active ?? wanted[0], roomOptions: ROOM_OPTIONS, clientKey,
    ...(name && { name }),
    ...(token && { getToken: () => sessionStorage.getItem('warren.token') ?? token }),
  });
  client = c;
  // A replaced client still reports its own close: only the current one speaks.
  const on = (event, listener) => c.on(event, (...args) => { if (c === client) listener(...args); });
  on('state', (change) => {
    status.show(change, c.welcome?.name ?? '');
    $('reconnect').hidden = change.state !== 'closed';
    if (change.state !== 'open') setText($('latency'), '');
    refreshTabs();
  });
  on('welcome', (w) => {
    setText($('session'), `${w.name} · session ${w.session}`);
    setText($('node'), `node ${w.node}`);
  });
  on('message', showMessage);
  on('gap', ({ room }) => rooms.push(room, gapElement(room)));
  on('presence', (p) => { if (p.room === rooms.active) renderPresence(presenceEls, p, c.welcome?.user); });
  on('latency', (ms) => setText($('latency'), `ping ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`));
  on('error', (err) => showError(err.code, err.message));
  for (const room of wanted) want(room);
  c.connect();
}

/** Ask the client for a room and show its tab. */
function want(room) {
  const r = client.join(room, ROOM_OPTIONS);
  if (!rooms.has(room)) rooms.add(room, 'joining');
  const c = client;
  r.on('state', ({ state, error }) => {
    if (c !== client) return;
    if (state === 'left' && error) {
      rooms.remove(room);
      showError(error.code, `#${room}: ${error.message}`);
    }
    refreshTabs();
  });
  refreshTabs();
}

function refreshTabs() {
  for (const room of rooms.names()) {
    const r = client.rooms.get(room);
    if (r) rooms.setState(room, client.state === 'open' ? r.state : 'offline');
  }
  updateComposer();
}

// ---- messages ---------------------------------------------------------------

function showMessage(m) {
  const known = byMsgId.get(m.msgId);
  if (known) { // our own, acked: now delivered
    setTime(known, m.ts);
    setMessageState(known, 'delivered');
    return;
  }
  const el = messageElement({ room: m.room, from: m.from, text: m.text, ts: m.ts, msgId: m.msgId, state: 'delivered' });
  byMsgId.set(m.msgId, el);
  rooms.push(m.room, el);
}

input.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    sendCurrent();
  }
});
$('send-form').addEventListener('submit', (ev) => { ev.preventDefault(); sendCurrent(); });

function sendCurrent() {
  const text = input.value;
  const room = rooms.active;
  if (text.trim() === '' || sendButton.disabled || room === null) return;
  if (codePoints(text) > MAX_TEXT) return showError('too_large', `A message has at most ${MAX_TEXT} characters.`);
  const id = nextId();
  const el = messageElement({ room, from: client.welcome?.name ?? nameInput.value.trim(), text, clientId: id, own: true, state: 'pending' });
  rooms.push(room, el);
  input.value = '';
  say(el, room, text, id);
}

/** Say it (again, on a retry: the same id, so the server delivers it at most once). */
function say(el, room, text, id) {
  client.say(room, text, { id }).then((ack) => {
    const delivered = byMsgId.get(ack.msgId);
    if (delivered && delivered !== el) { // the delivery overtook the ack: keep that copy, mark it ours
      delivered.classList.add('own');
      delivered.dataset.clientId = id;
      rooms.drop(room, el);
      return;
    }
    el.dataset.msgId = ack.msgId;
    byMsgId.set(ack.msgId, el);
    setMessageState(el, 'sent');
  }, (err) => {
    setMessageState(el, 'failed', `${err.code}: ${err.message}`);
    el.dataset.errorCode = err.code;
    if (!err.retryable) return;
    el.appendChild(h('button', { type: 'button', class: 'retry', 'data-testid': 'retry', onclick: () => {
      delete el.dataset.errorCode;
      setMessageState(el, 'pending');
      say(el, room, text, id);
    } }, 'Retry'));
  });
}

function updateComposer() {
  const ok = rooms.active !== null && client?.state !== 'closed';
  sendButton.disabled = !ok;
  input.placeholder = ok ? `Message #${rooms.active} (Enter to send, Shift+Enter for a new line)` : 'Not connected';
}

// ---- name, rooms, token -------------------------------------------------------

$('name-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = nameInput.value.trim();
  if (codePoints(name) > MAX_NAME) return showError('bad_request', `A name has at most ${MAX_NAME} characters.`);
  if (name) localStorage.setItem('warren.name', name);
  else localStorage.removeItem('warren.name');
  client.rename(name);
});

$('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const joinInput = /** @type {HTMLInputElement} */ ($('join-input'));
  const room = joinInput.value.trim().replace(/^#/, '');
  if (!ROOM_RE.test(room)) return showError('bad_request', BAD_ROOM);
  joinInput.value = '';
  openRoom(room);
});

// A room typed into the address bar (`#dev`) is joined like one typed into
// the form; a token given there replaces the page's.
addEventListener('hashchange', () => {
  const { room, token } = hashSettings();
  if (token) useToken(token);
  if (room && ROOM_RE.test(room)) openRoom(room);
});

function openRoom(room) {
  if (!rooms.has(room)) want(room);
  rooms.select(room);
}

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  useToken(tokenInput.value.trim());
  tokenInput.value = '';
});

function useToken(token) {
  if (token) sessionStorage.setItem('warren.token', token);
  else sessionStorage.removeItem('warren.token');
  start();
}

$('reconnect').addEventListener('click', () => client.connect());

// ---- helpers ----------------------------------------------------------------------

function showError(code, message) {
  const item = h('li', { class: 'error', 'data-testid': 'error', 'data-code': code },
    h('span', {}, message),
    h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×'));
  $('errors').appendChild(item);
  while ($('errors').children.length > MAX_ERRORS_SHOWN) $('errors').firstElementChild?.remove();
}

/**
 * The page URL's fragment: `#dev` or `#room=dev` names the room; a token
 * (`#token=<JWT>`), which browsers never send to a server and so stays out
 * of access logs, is kept for the tab and taken out of the address bar.
 */
function hashSettings() {
  const raw = location.hash.slice(1);
  if (!raw.includes('=')) return { room: raw };
  const params = new URLSearchParams(raw);
  const token = params.get('token');
  if (token) history.replaceState(null, '', location.pathname + location.search);
  return { room: params.get('room') ?? '', token };
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

start();
