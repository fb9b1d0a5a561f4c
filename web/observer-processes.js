// The processes view: every actor of the tree in one table, as `top` shows
// processes. The daemon sorts, filters and cuts the list (GET /debug/top, one
// walk of its tree, a bounded top-N); the page only draws the n rows it gets,
// so the table costs the same with 30 actors or 20,000. Rows are keyed by
// path and reused across polls.

import { h, setText, setAttr, fmtInt, fmtRate, pathText } from './dom.js';
import { adminFetch, errorOf, Poller } from './observer-admin.js';

const POLL_MS = 2000;
/** Rows per "show more" (and the daemon's default n). */
const PAGE = 50;
/** The daemon's largest n. */
const MAX_N = 1000;
// Wait for a pause in typing: each keystroke would otherwise be a walk of the tree.
const FILTER_DEBOUNCE_MS = 300;

/** The table's columns; the numeric ones sort, by the daemon's `by`. */
const COLUMNS = [
  { key: 'path', label: 'path' },
  { key: 'behaviour', label: 'behaviour' },
  { key: 'mailbox', label: 'mailbox', by: true, title: 'messages waiting in the mailbox' },
  { key: 'rate', label: 'msgs/s', by: true, title: 'messages handled per second over the last sampling interval' },
  { key: 'processed', label: 'processed', by: true, title: 'messages handled since start' },
  { key: 'restarts', label: 'restarts', by: true, title: 'times its supervisor restarted it' },
];

export class ProcessesView {
  /**
   * @param {HTMLElement} root  the view's <section>
   * @param {{ open(path: string): void, status(text: string, tone: string): void,
   *           totals(t: Record<string, unknown>): void }} on
   */
  constructor(root, on) {
    this.root = root;
    this.on = on;
    this.query = { by: 'mailbox', n: PAGE, filter: '' };
    this.rows = new Map();
    this.filterTimer = 0;
    this.poller = new Poller(POLL_MS, () => this.poll(), (err) => this.failed(err));

    this.filter = h('input', { type: 'search', class: 'filter', 'data-testid': 'top-filter', spellcheck: 'false',
      placeholder: 'filter by path or behaviour', 'aria-label': 'Filter the actors by path or behaviour',
      oninput: () => this.filterChanged() });
    this.summary = h('span', { class: 'muted', 'data-testid': 'top-summary', role: 'status' });
    this.sortButtons = new Map();
    const head = COLUMNS.map((c) => {
      if (!c.by) return h('th', { scope: 'col', 'data-key': c.key }, c.label);
      const button = h('button', { type: 'button', class: 'sort', 'data-testid': `sort-${c.key}`, title: `sort by ${c.title}`,
        onclick: () => this.sortBy(c.key) }, c.label);
      this.sortButtons.set(c.key, button);
      return h('th', { scope: 'col', 'data-key': c.key, class: 'num' }, button);
    });
    this.tbody = h('tbody', { 'data-testid': 'top-rows' });
    this.more = h('button', { type: 'button', class: 'link', 'data-testid': 'top-more', hidden: true, onclick: () => this.showMore() });
    root.append(
      h('div', { class: 'toolbar' }, this.filter, this.summary),
      h('table', { class: 'top', 'data-testid': 'top' }, h('thead', {}, h('tr', {}, head)), this.tbody),
      h('div', { class: 'more' }, this.more));
    this.renderSort();
  }

  sortBy(key) {
    if (this.query.by === key) return;
    this.query.by = key;
    this.renderSort();
    this.poller.now();
  }

  filterChanged() {
    clearTimeout(this.filterTimer);
    this.filterTimer = setTimeout(() => {
      this.query.filter = this.filter.value.trim();
      this.poller.now();
    }, FILTER_DEBOUNCE_MS);
  }

  showMore() {
    this.query.n = Math.min(MAX_N, this.query.n + PAGE);
    this.poller.now();
  }

  url() {
    const { by, n, filter } = this.query;
    return `/debug/top?${new URLSearchParams({ by, n: String(n), ...(filter && { filter }) })}`;
  }

  async poll() {
    const url = this.url();
    const started = performance.now();
    const res = await adminFetch(url);
    if (!res.ok) throw new Error(await errorOf(res));
    const body = await res.json();
    if (url !== this.url()) return; // asked with an older sort or filter: the poll the change asked for follows
    const t0 = performance.now();
    this.render(body);
    this.root.classList.remove('stale');
    this.on.totals({ actors: body.actors, node: body.node });
    this.on.status(`live · top ${fmtInt(body.top.length)} by ${body.by} · fetch ${Math.round(t0 - started)} ms · draw ${Math.round(performance.now() - t0)} ms`, 'good');
  }

  failed(err) {
    this.on.status(`/debug/top failed: ${err instanceof Error ? err.message : err}; retrying`, 'bad');
    this.root.classList.add('stale');
  }

  renderSort() {
    for (const [key, button] of this.sortButtons) {
      const sorted = key === this.query.by;
      setAttr(button.parentElement, 'aria-sort', sorted ? 'descending' : null);
      setAttr(button, 'aria-pressed', String(sorted));
    }
  }

  render(body) {
    const top = Array.isArray(body.top) ? body.top : [];
    const want = new Set(top.map((a) => a.path));
    for (const [path, row] of this.rows) {
      if (!want.has(path)) {
        row.tr.remove();
        this.rows.delete(path);
      }
    }
    let cursor = this.tbody.firstElementChild;
    for (const a of top) {
      let row = this.rows.get(a.path);
      if (!row) {
        row = this.createRow(String(a.path));
        this.rows.set(a.path, row);
      }
      renderRow(row, a);
      if (row.tr === cursor) cursor = cursor.nextElementSibling;
      else this.tbody.insertBefore(row.tr, cursor);
    }
    const matched = body.matched ?? top.length;
    // The daemon rolls the rates only while someone asks for them: the first answer after a quiet minute has none yet.
    const rates = body.intervalMs > 0 ? `msgs/s over ${(body.intervalMs / 1000).toFixed(1)} s` : 'msgs/s from the next refresh';
    setText(this.summary, `showing ${fmtInt(top.length)} of ${fmtInt(matched)} matched (of ${fmtInt(body.actors)} actors) · ${rates}`);
    const more = Math.min(PAGE, MAX_N - this.query.n, matched - top.length);
    this.more.hidden = more <= 0;
    setText(this.more, `show ${fmtInt(more)} more`);
  }

  createRow(path) {
    const cells = {};
    for (const c of COLUMNS) cells[c.key] = h('td', { 'data-key': c.key, class: c.by ? 'num' : null });
    cells.path.append(h('button', { type: 'button', class: 'path-link', 'data-testid': 'top-path', title: `details of ${path}`,
      onclick: () => this.on.open(path) }, pathText(path)));
    const tr = h('tr', { 'data-testid': 'top-row', 'data-path': path }, COLUMNS.map((c) => cells[c.key]));
    return { tr, cells };
  }
}

function renderRow({ tr, cells }, a) {
  setAttr(tr, 'data-behaviour', a.behaviour);
  setText(cells.behaviour, a.behaviour ?? '');
  setText(cells.mailbox, fmtInt(a.mailbox));
  setAttr(cells.mailbox, 'data-tone', a.mailbox > 1000 ? 'bad' : a.mailbox > 100 ? 'warn' : null);
  setText(cells.rate, fmtRate(a.rate));
  setText(cells.processed, fmtInt(a.processed));
  setText(cells.restarts, fmtInt(a.restarts));
  setAttr(cells.restarts, 'data-tone', a.restarts > 0 ? 'warn' : null);
}
