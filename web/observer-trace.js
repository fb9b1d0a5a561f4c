// Tracing one actor from the detail panel: POST /debug/trace answers with a
// text/event-stream that lasts as long as the trace. EventSource cannot send
// the bearer token (nor POST), so the page reads the body of a fetch() with a
// reader and parses the server-sent events itself; Stop aborts that fetch,
// and the daemon ends the trace when its request closes.

import { h, setText, setAttr, fmtInt, fmtClock } from './dom.js';
import { adminFetch, errorOf, Unauthorized } from './observer-admin.js';

// The table keeps the newest rows only: a trace may send 10,000 messages.
const MAX_ROWS = 1000;
/** The table's columns: [header, numeric?]. */
const COLUMNS = [['n', true], ['time', false], ['type', false], ['size', true], ['mailbox', true], ['µs', true]];

/** A parser of server-sent events: feed it chunks of text, it calls dispatch(event, data) per event. */
export function sseParser(dispatch) {
  let rest = '';
  let event = '';
  let data = [];
  return (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '') {
        if (data.length) dispatch(event || 'message', data.join('\n'));
        event = '';
        data = [];
      } else if (!line.startsWith(':')) { // a line starting with ':' is a comment
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
  };
}

export class TraceView {
  /** @param {HTMLElement} root  where the form and the table go */
  constructor(root) {
    this.path = null;
    this.controller = null;
    this.count = h('input', { type: 'number', min: 1, max: 10000, value: 100, required: true, 'data-testid': 'trace-count' });
    this.rate = h('input', { type: 'number', min: 1, max: 10000, value: 1000, required: true, 'data-testid': 'trace-rate' });
    this.startButton = h('button', { type: 'submit', 'data-testid': 'trace-start' }, 'Trace');
    this.stopButton = h('button', { type: 'button', 'data-testid': 'trace-stop', disabled: true, onclick: () => this.stop() }, 'Stop');
    this.status = h('span', { class: 'trace-status', 'data-testid': 'trace-status', role: 'status' });
    this.note = h('p', { class: 'muted', hidden: true });
    this.tbody = h('tbody', { 'data-testid': 'trace-rows' });
    root.append(
      h('form', { class: 'trace-form', 'data-testid': 'trace-form', onsubmit: (ev) => { ev.preventDefault(); this.start(); } },
        h('label', { title: 'stop after this many messages' }, 'count ', this.count),
        h('label', { title: 'stop when more messages than this arrive within one second' }, 'rate/s ', this.rate),
        this.startButton, this.stopButton, this.status),
      this.note,
      h('table', { class: 'trace' }, h('thead', {}, h('tr', {}, COLUMNS.map(([c, num]) => h('th', { scope: 'col', class: num ? 'num' : null }, c)))), this.tbody));
  }

  /** Trace this actor from now on: a trace of another one is stopped and cleared. */
  target(path) {
    if (path === this.path) return;
    this.stop();
    this.controller = null; // what the stopped trace still reports is not shown
    this.running(false);
    this.path = path;
    this.clear();
    setText(this.status, '');
  }

  stop() {
    this.controller?.abort();
  }

  clear() {
    this.tbody.replaceChildren();
    this.rows = 0;
    this.note.hidden = true;
  }

  async start() {
    if (this.controller || !this.path) return;
    const path = this.path;
    const controller = new AbortController();
    this.controller = controller;
    const current = () => this.controller === controller;
    this.running(true);
    this.clear();
    this.end(null, `tracing ${path}…`, 'warn');
    const query = new URLSearchParams({ path, count: this.count.value, rate: this.rate.value });
    try {
      const res = await adminFetch(`/debug/trace?${query}`, { method: 'POST', signal: controller.signal, headers: { Accept: 'text/event-stream' } });
      if (!current()) return;
      if (!res.ok || !res.body) {
        this.end(null, `trace refused: ${await errorOf(res)}`, 'bad');
        return;
      }
      const ended = await this.read(res.body.getReader(), current);
      if (!ended && current()) this.end(null, 'the stream ended without an end event', 'bad');
    } catch (err) {
      if (!current()) return;
      if (controller.signal.aborted) this.end('stopped', `stopped after ${fmtInt(this.rows)} messages`, 'warn');
      else if (err instanceof Unauthorized) this.end(null, '401: token needed', 'bad');
      else this.end(null, `trace failed: ${err instanceof Error ? err.message : err}`, 'bad');
    } finally {
      if (current()) {
        this.controller = null;
        this.running(false);
      }
    }
  }

  /** Read the event stream to its end; true when it said how the trace ended. */
  async read(reader, current) {
    const decoder = new TextDecoder();
    let ended = false;
    let batch = null;
    const parse = sseParser((event, data) => {
      const body = JSON.parse(data);
      if (event === 'message') (batch ??= document.createDocumentFragment()).append(row(body));
      else if (event === 'start') this.end(null, `tracing ${body.path} (${body.behaviour}): count ${body.count}, rate ${body.rate}/s, ${body.seconds} s`, 'warn');
      else if (event === 'end') {
        ended = true;
        this.end(body.reason, `ended: ${body.reason} · ${fmtInt(body.traced)} traced`, body.reason === 'count' ? 'good' : 'warn');
      }
    });
    for (;;) {
      const { value, done } = await reader.read();
      if (done || !current()) return ended;
      parse(decoder.decode(value, { stream: true }));
      if (batch) this.show(batch); // one DOM insertion per chunk, however many events it held
      batch = null;
    }
  }

  show(fragment) {
    this.rows += fragment.childElementCount;
    this.tbody.append(fragment);
    const over = this.tbody.childElementCount - MAX_ROWS;
    for (let i = 0; i < over; i++) this.tbody.firstElementChild?.remove();
    this.note.hidden = this.rows <= MAX_ROWS;
    setText(this.note, `showing the last ${fmtInt(MAX_ROWS)} of ${fmtInt(this.rows)} messages`);
  }

  end(reason, text, tone) {
    setText(this.status, text);
    setAttr(this.status, 'data-tone', tone);
    setAttr(this.status, 'data-reason', reason);
  }

  running(on) {
    this.startButton.disabled = on;
    this.stopButton.disabled = !on;
  }
}

function row(m) {
  return h('tr', { 'data-testid': 'trace-row' },
    h('td', { class: 'num' }, fmtInt(m.n)),
    h('td', { class: 'mono' }, fmtClock(m.at, true)),
    h('td', { class: 'mono', title: m.kind }, m.type),
    h('td', { class: 'num' }, fmtInt(m.size)),
    h('td', { class: 'num' }, fmtInt(m.mailbox)),
    h('td', { class: 'num' }, fmtInt(m.us)));
}
