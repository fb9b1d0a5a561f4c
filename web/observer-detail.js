// The actor detail panel: one actor as GET /debug/actor describes it (its
// figures, its info, whom it is linked to and monitors, its last restarts),
// refreshed every second while the panel is open, with a kill button and a
// trace (observer-trace.js). Every path in it opens that actor in its place.

import { h, setText, setAttr, fmtInt, fmtRate, fmtClock, pathText } from './dom.js';
import { renderInfo, infoKey } from './observer-info.js';
import { adminFetch, errorOf, Poller } from './observer-admin.js';
import { TraceView } from './observer-trace.js';

const POLL_MS = 1000;
const FLASH_MS = 6000;
/** The figures shown as "label value", in this order. */
const FACTS = [
  ['behaviour', 'behaviour'], ['kind', 'kind'], ['strategy', 'strategy'], ['status', 'status'],
  ['mailbox', 'mailbox'], ['rate', 'msgs/s'], ['processed', 'processed'], ['restarts', 'restarts'],
];

export class DetailView {
  /**
   * @param {HTMLElement} root  the panel (hidden while closed)
   * @param {{ kill(path: string): void, closed(): void }} on
   */
  constructor(root, on) {
    this.root = root;
    this.on = on;
    this.path = null;
    this.shown = {}; // the key of what each section last drew
    this.poller = new Poller(POLL_MS, () => this.poll(), (err) => this.problem(`/debug/actor failed: ${err instanceof Error ? err.message : err}; retrying`));

    this.title = h('h2', { class: 'mono', 'data-testid': 'detail-path' });
    this.killResult = h('span', { class: 'kill-result', 'data-testid': 'detail-kill-result', role: 'status' });
    this.message = h('p', { class: 'detail-message', 'data-testid': 'detail-message', role: 'status', hidden: true });
    this.facts = new Map(FACTS.map(([key]) => [key, h('dd', { 'data-testid': `detail-${key}` })]));
    this.info = h('div', { class: 'info', 'data-testid': 'detail-info' });
    this.links = h('div', { 'data-testid': 'detail-links' });
    this.monitors = h('div', { 'data-testid': 'detail-monitors' });
    this.restarts = h('div', { 'data-testid': 'detail-restart-history' });
    const traceSection = h('section', { 'data-testid': 'detail-trace' }, h('h3', {}, 'Trace'));
    this.trace = new TraceView(traceSection);
    root.append(
      h('header', { class: 'detail-head' }, this.title,
        h('button', { type: 'button', class: 'kill', 'data-testid': 'detail-kill', onclick: () => this.path && this.on.kill(this.path) }, 'kill'),
        h('button', { type: 'button', class: 'link', 'data-testid': 'detail-close', 'aria-label': 'Close the detail panel', onclick: () => this.close() }, '×')),
      this.killResult, this.message,
      h('dl', { class: 'facts' }, FACTS.map(([key, label]) => h('div', { 'data-key': key }, h('dt', {}, label), this.facts.get(key)))),
      this.info,
      h('section', {}, h('h3', {}, 'Links'), this.links),
      h('section', {}, h('h3', {}, 'Monitors'), this.monitors),
      h('section', {}, h('h3', {}, 'Restart history'), this.restarts),
      traceSection);
  }

  open(path) {
    if (path !== this.path) {
      this.path = path;
      this.shown = {};
      this.title.replaceChildren(...pathText(path));
      setText(this.killResult, '');
      for (const dd of this.facts.values()) setText(dd, '–');
      for (const el of [this.info, this.links, this.monitors, this.restarts]) el.replaceChildren();
      this.problem(null);
      this.trace.target(path);
    }
    this.root.hidden = false;
    this.poller.start();
    this.poller.now(); // an answer in flight about the previous actor is dropped by poll()
  }

  close() {
    this.poller.stop();
    this.trace.target(null);
    this.path = null;
    this.root.hidden = true;
    this.on.closed();
  }

  /** Show a kill result, if it is about the actor shown. */
  showKill(path, text, tone) {
    if (path !== this.path) return;
    setText(this.killResult, text);
    this.killResult.dataset.tone = tone;
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => setText(this.killResult, ''), FLASH_MS);
  }

  async poll() {
    const path = this.path;
    const res = await adminFetch(`/debug/actor?path=${encodeURIComponent(path)}`);
    if (path !== this.path) return;
    if (res.status === 404) return this.problem(`no actor at ${path}: it has exited (or never was)`);
    if (!res.ok) throw new Error(await errorOf(res));
    const { actor } = await res.json();
    if (path !== this.path) return;
    this.problem(null);
    this.render(actor);
  }

  problem(text) {
    this.message.hidden = text === null;
    setText(this.message, text ?? '');
    this.root.classList.toggle('stale', text !== null);
  }

  render(a) {
    for (const [key, dd] of this.facts) {
      const v = a[key];
      setText(dd, v === undefined ? '–' : key === 'rate' ? fmtRate(v) : typeof v === 'number' ? fmtInt(v) : v);
    }
    this.facts.get('strategy').parentElement.hidden = !a.strategy;
    setAttr(this.facts.get('status'), 'data-tone', a.status === 'running' ? 'good' : 'warn');
    setAttr(this.facts.get('restarts'), 'data-tone', a.restarts > 0 ? 'warn' : null);
    this.section('info', a.info, () => renderInfo(this.info, a.info));
    const links = a.links ?? {};
    this.section('links', links, () => this.links.replaceChildren(
      h('div', { class: 'rel' }, h('span', { class: 'label' }, 'parent'),
        links.parent ? this.pathLink(links.parent, 'detail-parent') : h('span', { class: 'muted' }, 'none: the root')),
      this.pathList('children', 'detail-children', links.children, links.childCount)));
    const mon = a.monitors ?? {};
    this.section('monitors', mon, () => this.monitors.replaceChildren(
      this.pathList('monitoring', 'detail-monitoring', mon.monitoring, mon.monitoringCount),
      this.pathList('monitored by', 'detail-monitored-by', mon.monitoredBy, mon.monitoredByCount)));
    const history = Array.isArray(a.restartHistory) ? a.restartHistory : [];
    this.section('restarts', history, () => this.restarts.replaceChildren(history.length === 0
      ? h('p', { class: 'muted' }, 'never restarted')
      : h('table', { class: 'history' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'at'), h('th', { scope: 'col' }, 'reason'))),
        h('tbody', {}, history.slice().reverse().map((r) => h('tr', { 'data-testid': 'restart' }, // newest first
          h('td', { class: 'mono', title: r.at }, fmtClock(Date.parse(r.at))), h('td', { class: 'mono reason' }, r.reason)))))));
  }

  /** Redraw a section only when its data changed since the last poll. */
  section(name, data, draw) {
    const key = infoKey(data);
    if (this.shown[name] === key) return;
    this.shown[name] = key;
    draw();
  }

  /** "label (count)" and the paths, "+N more" for those the daemon left out. */
  pathList(label, testid, paths = [], count = paths.length) {
    const more = count - paths.length;
    return h('div', { class: 'rel', 'data-testid': testid, 'data-count': count },
      h('span', { class: 'label' }, `${label} (${fmtInt(count)})`),
      paths.length === 0 ? h('span', { class: 'muted' }, 'none') : h('ul', { class: 'paths' }, paths.map((p) => h('li', {}, this.pathLink(p)))),
      more > 0 ? h('span', { class: 'muted', 'data-testid': 'more' }, `+${fmtInt(more)} more`) : null);
  }

  pathLink(path, testid = 'detail-link') {
    return h('button', { type: 'button', class: 'path-link', 'data-testid': testid, 'data-path': path, title: `details of ${path}`,
      onclick: () => this.open(path) }, pathText(path));
  }
}
