// The observer page (GET /debug on the admin port). Three views, one shown
// at a time and only that one polled: the supervision tree (GET /debug/tree
// every second, drawn by observer-tree.js, with the totals bar and an event
// log), the processes table (observer-processes.js) and the node's charts
// (observer-charts.js); an actor's detail panel (observer-detail.js) opens
// from any of them. The page kills actors on request and asks for the admin
// bearer token when the admin port answers 401 (observer-admin.js).
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

import { h, setText, setAttr, fmtInt, fmtRate, fmtDuration } from './dom.js';
import { TreeView, annotate } from './observer-tree.js';
import { stateTone } from './observer-info.js';
import { adminFetch, onUnauthorized, pollAllNow, Poller, setPaused, token, Unauthorized } from './observer-admin.js';
import { ProcessesView } from './observer-processes.js';
import { DetailView } from './observer-detail.js';
import { ChartsView } from './observer-charts.js';

const POLL_MS = 1000;
const MAX_EVENTS = 100;

const $ = (testid) => /** @type {HTMLElement} */ (document.querySelector(`[data-testid="${testid}"]`));

const tree = new TreeView($('tree'), { kill, event: logEvent, open: openDetail });
const treePoller = new Poller(POLL_MS, pollTree, (err) => {
  pollStatus(`poll failed: ${err instanceof Error ? err.message : err}; retrying`, 'bad');
  $('view-tree').classList.add('stale');
});
const detail = new DetailView($('detail'), { kill, closed: () => document.body.classList.remove('detail-open') });
const views = {
  tree: { pane: $('view-tree'), poller: treePoller },
  processes: { pane: $('view-processes'), poller: new ProcessesView($('view-processes'), { open: openDetail, status: pollStatus, totals: showTotals }).poller },
  charts: { pane: $('view-charts'), poller: new ChartsView($('view-charts'), { status: pollStatus, totals: showTotals }).poller },
};

let last = null; // { at, node, startedAt, processed: Map, delivered: Map, connections }

// ---- the views ----------------------------------------------------------------

/** Show the view the location's hash names (#tree, #processes, #charts; the tree by default). */
function showView() {
  const wanted = location.hash.slice(1);
  const shown = Object.hasOwn(views, wanted) ? wanted : 'tree';
  for (const [name, view] of Object.entries(views)) {
    const on = name === shown;
    view.pane.hidden = !on;
    setAttr($(`tab-${name}`), 'aria-selected', String(on));
    if (on) view.poller.start();
    else view.poller.stop();
  }
}

window.addEventListener('hashchange', showView);

function openDetail(path) {
  document.body.classList.add('detail-open');
  detail.open(path);
}

async function pollTree() {
  const started = performance.now();
  const res = await adminFetch('/debug/tree');
  if (!res.ok) throw new Error(`HTTP ${res.status} ${await res.text().catch(() => '')}`.trim());
  const body = await res.json();
  render(body, performance.now() - started);
}

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
  $('view-tree').classList.remove('stale');
  pollStatus(`live · fetch ${Math.round(fetchMs)} ms · draw ${Math.round(performance.now() - t0)} ms · ${fmtInt(tree.views.size)} drawn`, 'good');
}

function renderTotals(body, t, seconds, now) {
  showTotals({ connections: t.connections, actors: t.actors, node: body.node,
    msgs: seconds > 0 ? t.rate / seconds : null, deliveries: seconds > 0 ? t.deliveries / seconds : null });
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
}

/**
 * The totals every view knows: the tree all of them, the processes view the
 * actors, the charts connections and rates; the others keep their last value.
 * `null` shows "–" (a rate needs two polls).
 */
function showTotals({ connections, actors, node, msgs, deliveries }) {
  const count = (testid, n) => {
    if (n === undefined) return;
    setText($(testid), n === null ? '–' : fmtInt(n));
    $(testid).dataset.value = String(n);
  };
  count('connections-total', connections);
  count('actors-total', actors);
  if (msgs !== undefined) setText($('msgs-per-sec'), msgs === null ? '–' : fmtRate(msgs));
  if (deliveries !== undefined) setText($('deliveries-per-sec'), deliveries === null ? '–' : fmtRate(deliveries));
  if (node !== undefined) setText($('node-id'), node ?? '?');
  if (typeof connections === 'number') document.title = `${fmtInt(connections)} conn · warren observer`;
}

// ---- kill -----------------------------------------------------------------------

async function kill(path) {
  showKill(path, 'killing…', 'warn');
  try {
    const res = await adminFetch(`/debug/kill?path=${encodeURIComponent(path)}`, { method: 'POST' });
    const text = await res.text();
    const ok = res.status === 200;
    showKill(path, ok ? 'killed' : res.status === 404 ? '404: no such actor' : `HTTP ${res.status}`, ok ? 'good' : 'bad');
    logEvent(`kill ${path} → ${res.status} ${text.slice(0, 200)}`, ok ? 'good' : 'bad');
  } catch (err) {
    if (err instanceof Unauthorized) return showKill(path, '401: token needed', 'bad');
    showKill(path, 'kill failed', 'bad');
    logEvent(`kill ${path} failed: ${err instanceof Error ? err.message : err}`, 'bad');
  }
  pollAllNow(); // watch the supervisor react
}

function showKill(path, text, tone) {
  tree.killResult(path, text, tone);
  detail.showKill(path, text, tone);
}

// ---- admin token ------------------------------------------------------------------

onUnauthorized(() => {
  const form = $('token-form');
  const hadToken = token.get() !== null;
  if (hadToken) token.forget();
  setText($('token-error'), hadToken ? 'That token was refused (401).' : '');
  pollStatus('the admin port wants a bearer token', 'warn');
  if (form.hidden) {
    form.hidden = false;
    $('token-input').focus();
  }
  $('forget-token').hidden = true;
});

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('token-input'));
  const value = input.value.trim();
  if (!value) return;
  token.set(value);
  input.value = '';
  $('token-form').hidden = true;
  $('forget-token').hidden = false;
  pollAllNow();
});

$('forget-token').hidden = token.get() === null;
$('forget-token').addEventListener('click', () => {
  token.forget();
  $('forget-token').hidden = true;
  pollAllNow();
});

// ---- pause and events ---------------------------------------------------------------

let paused = false;
$('pause').addEventListener('click', () => {
  paused = !paused;
  setText($('pause'), paused ? 'Resume' : 'Pause');
  $('pause').setAttribute('aria-pressed', String(paused));
  setPaused(paused);
  if (paused) pollStatus('paused', 'warn');
});

function logEvent(text, tone) {
  const log = $('event-log');
  const time = new Date().toLocaleTimeString();
  log.prepend(h('li', { class: 'event', 'data-tone': tone }, h('time', {}, time), ' ', text));
  while (log.children.length > MAX_EVENTS) log.lastElementChild?.remove();
}

showView();
