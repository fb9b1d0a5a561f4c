// The observer page (GET /debug on the admin port): polls GET /debug/tree
// every second, draws the tree (observer-tree.js), the totals bar and an
// event log, kills actors on request, and asks for the admin bearer token
// when the admin port answers 401.
//
// messages/s: the tree has no global message counter, so the page computes
// one from `processed`: for every actor, the increase of `processed` since
// the previous poll (an actor that is new since then counts its whole
// `processed`; one whose count went down, i.e. was restarted, counts its new
// value), summed and divided by the time between the two polls. Keyed by
// path, so connections that close do not make the rate dip. That is actor
// messages (frames, deliveries, calls), not chat messages; deliveries/s is
// the same computation over the consumers' `info.delivered`, i.e. chat
// messages written to sockets.

import { h, setText, setAttr, fmtInt, fmtDuration } from './dom.js';
import { TreeView, annotate } from './observer-tree.js';
import { stateTone } from './observer-info.js';

const POLL_MS = 1000;
const MAX_EVENTS = 100;
const TOKEN_KEY = 'warren.adminToken';

const $ = (testid) => /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${testid}"]`));

const tree = new TreeView($('tree'), { kill, event: logEvent });

let timer = 0;
let inFlight = false;
let pollAgain = false;
let paused = false;
let waitingForVisible = false;
let last = null; // { at, node, startedAt, processed: Map, delivered: Map, connections }

// ---- polling ------------------------------------------------------------------

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(poll, ms);
}

/** Poll now (after a kill, a token, un-pausing), without overlapping a poll in flight. */
function pollNow() {
  if (inFlight) pollAgain = true;
  else schedule(0);
}

async function poll() {
  if (paused) return;
  if (document.hidden) { // nobody is looking: poll again when the tab shows
    waitingForVisible = true;
    return;
  }
  inFlight = true;
  const started = performance.now();
  let next = POLL_MS;
  try {
    const res = await fetch('/debug/tree', { headers: authHeaders(), cache: 'no-store' });
    if (res.status === 401) {
      askForToken();
      next = -1; // wait for the token form
    } else if (!res.ok) {
      throw new Error(`HTTP ${res.status} ${await res.text().catch(() => '')}`.trim());
    } else {
      const body = await res.json();
      render(body, performance.now() - started);
    }
  } catch (err) {
    pollStatus(`poll failed: ${err instanceof Error ? err.message : err}; retrying`, 'bad');
    document.body.classList.add('stale');
  } finally {
    inFlight = false;
  }
  if (pollAgain) { pollAgain = false; next = 0; }
  if (next >= 0 && !paused) schedule(Math.max(0, next - (performance.now() - started)));
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && waitingForVisible) {
    waitingForVisible = false;
    pollNow();
  }
});

function pollStatus(text, tone) {
  const el = $('poll-status');
  setText(el, text);
  setAttr(el, 'data-tone', tone);
}

// ---- one poll's answer -------------------------------------------------------

function render(body, fetchMs) {
  const t0 = performance.now();
  const now = Date.now();
  const totals = { actors: 0, connections: 0, broker: null, listener: null, rate: 0, deliveries: 0 };
  const processed = new Map();
  const delivered = new Map();
  const grow = (map, prev, path, value) => {
    map.set(path, value);
    if (!last) return 0;
    const before = prev.get(path);
    return before === undefined || value < before ? value : value - before;
  };
  if (body.tree) {
    annotate(body.tree, (a) => {
      totals.actors++;
      if (a.behaviour === 'connection') totals.connections++;
      else if (a.behaviour === 'broker' && !totals.broker) totals.broker = a;
      else if (a.behaviour === 'listener' && !totals.listener) totals.listener = a;
      if (typeof a.processed === 'number') totals.rate += grow(processed, last?.processed, a.path, a.processed);
      const d = a.info && typeof a.info.delivered === 'number' ? a.info.delivered : undefined;
      if (d !== undefined) totals.deliveries += grow(delivered, last?.delivered, a.path, d);
    });
  }
  const seconds = last ? (now - last.at) / 1000 : 0;
  renderTotals(body, totals, seconds, now);
  if (last && last.node !== body.node) logEvent(`node changed: ${last.node} → ${body.node}`, 'warn');
  else if (last && last.startedAt !== body.startedAt) logEvent(`daemon restarted at ${body.startedAt}`, 'warn');
  if (last && last.connections !== totals.connections) {
    const d = totals.connections - last.connections;
    logEvent(`connections ${d > 0 ? '+' : '−'}${fmtInt(Math.abs(d))} → ${fmtInt(totals.connections)}`);
  }
  last = { at: now, node: body.node, startedAt: body.startedAt, processed, delivered, connections: totals.connections };
  tree.update(body.tree ?? null);
  document.body.classList.remove('stale');
  pollStatus(`live · fetch ${Math.round(fetchMs)} ms · draw ${Math.round(performance.now() - t0)} ms · ${fmtInt(tree.views.size)} drawn`, 'good');
}

function renderTotals(body, t, seconds, now) {
  setText($('connections-total'), fmtInt(t.connections));
  $('connections-total').dataset.value = String(t.connections);
  setText($('actors-total'), fmtInt(t.actors));
  $('actors-total').dataset.value = String(t.actors);
  setText($('msgs-per-sec'), seconds > 0 ? fmtInt(t.rate / seconds) : '–');
  setText($('deliveries-per-sec'), seconds > 0 ? fmtInt(t.deliveries / seconds) : '–');
  setText($('node-id'), body.node ?? '?');
  const started = Date.parse(body.startedAt);
  setText($('started-at'), Number.isNaN(started) ? String(body.startedAt ?? '?') : new Date(started).toLocaleString());
  setText($('uptime'), Number.isNaN(started) ? '?' : fmtDuration((now - started) / 1000));

  const broker = $('broker-state');
  const bi = t.broker?.info ?? {};
  setText(broker, t.broker ? `${bi.kind ?? '?'} · ${bi.state ?? '?'}` : 'no broker actor');
  broker.dataset.tone = t.broker ? stateTone(bi.state) : 'bad';

  const uws = t.listener?.info?.uws;
  const mode = $('uws-mode');
  setText(mode, uws ?? 'unknown');
  mode.dataset.tone = uws === 'native' ? 'good' : uws === 'fallback' ? 'bad' : 'warn';
  $('uws-fallback').hidden = uws !== 'fallback';
  document.title = `${fmtInt(t.connections)} conn · warren observer`;
}

// ---- kill -----------------------------------------------------------------------

async function kill(path) {
  tree.killResult(path, 'killing…', 'warn');
  try {
    const res = await fetch(`/debug/kill?path=${encodeURIComponent(path)}`, { method: 'POST', headers: authHeaders() });
    if (res.status === 401) {
      tree.killResult(path, '401: token needed', 'bad');
      askForToken();
      return;
    }
    const text = await res.text();
    const ok = res.status === 200;
    const shown = ok ? 'killed' : res.status === 404 ? '404: no such actor' : `HTTP ${res.status}`;
    tree.killResult(path, shown, ok ? 'good' : 'bad');
    logEvent(`kill ${path} → ${res.status} ${text.slice(0, 200)}`, ok ? 'good' : 'bad');
  } catch (err) {
    tree.killResult(path, 'kill failed', 'bad');
    logEvent(`kill ${path} failed: ${err instanceof Error ? err.message : err}`, 'bad');
  }
  pollNow(); // watch the supervisor react
}

// ---- admin token ------------------------------------------------------------------

function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function askForToken() {
  const form = $('token-form');
  const hadToken = sessionStorage.getItem(TOKEN_KEY) !== null;
  if (hadToken) sessionStorage.removeItem(TOKEN_KEY);
  setText($('token-error'), hadToken ? 'That token was refused (401).' : '');
  pollStatus('the admin port wants a bearer token', 'warn');
  if (form.hidden) {
    form.hidden = false;
    $('token-input').focus();
  }
  $('forget-token').hidden = true;
}

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('token-input'));
  const token = input.value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  input.value = '';
  $('token-form').hidden = true;
  $('forget-token').hidden = false;
  pollNow();
});

$('forget-token').hidden = sessionStorage.getItem(TOKEN_KEY) === null;
$('forget-token').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  $('forget-token').hidden = true;
  pollNow();
});

// ---- pause and events ---------------------------------------------------------------

$('pause').addEventListener('click', () => {
  paused = !paused;
  setText($('pause'), paused ? 'Resume' : 'Pause');
  $('pause').setAttribute('aria-pressed', String(paused));
  if (paused) { clearTimeout(timer); pollStatus('paused', 'warn'); } else pollNow();
});

function logEvent(text, tone) {
  const log = $('event-log');
  const time = new Date().toLocaleTimeString();
  log.prepend(h('li', { class: 'event', 'data-tone': tone }, h('time', {}, time), ' ', text));
  while (log.children.length > MAX_EVENTS) log.lastElementChild?.remove();
}

poll();
