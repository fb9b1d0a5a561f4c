// The node's last ten minutes as charts, drawn in inline SVG (no library):
// GET /debug/history once in full, then every 2 s only the points and marks
// after the last point. The x axis is seconds since the first point this
// page saw, and the window is the SVG's viewBox: moving on in time changes
// one attribute, so marks are drawn once and stay, and a redraw is one path
// per series. Broker state changes, restarts and crashes (the answer's
// `marks`) are vertical rules on every chart, one per second, with a tooltip.

import { h, svg, setText, setAttr, fmtInt, fmtRate, fmtClock } from './dom.js';
import { fmtBytes, stateTone } from './observer-info.js';
import { adminFetch, errorOf, Poller } from './observer-admin.js';

const POLL_MS = 2000;
/** viewBox height; values are scaled to it, the top 4 units are headroom. */
const HEIGHT = 100;
// A gap of more than this many intervals (the tab was hidden, the daemon
// stalled) breaks the line instead of bridging it.
const GAP_INTERVALS = 2.5;
const MAX_TITLE_LINES = 8;
const RECENT_MARKS = 10;

const ms = (v) => `${v.toFixed(1)} ms`;
const CHARTS = [
  { id: 'connections', title: 'connections', format: fmtInt, series: [['connections', 'connections']] },
  { id: 'messages', title: 'messages per second', format: fmtRate,
    series: [['messages', 'chat messages/s'], ['deliveries', 'deliveries/s'], ['actorMessages', 'actor messages/s']] },
  { id: 'lag', title: 'event-loop lag', format: ms, series: [['lagMs', 'p99'], ['lagMaxMs', 'max']] },
  { id: 'relay', title: 'relay mailbox', format: fmtInt, series: [['relayMailbox', 'relay mailbox']] },
  { id: 'memory', title: 'memory', format: fmtBytes, unit: 1024 ** 2, series: [['rss', 'RSS'], ['heapUsed', 'heap used']] },
];
const TONE_RANK = { good: 0, warn: 1, bad: 2 };

export class ChartsView {
  /**
   * @param {HTMLElement} root  the view's <section>
   * @param {{ status(text: string, tone: string): void, totals(t: Record<string, unknown>): void }} on
   */
  constructor(root, on) {
    this.root = root;
    this.on = on;
    this.history = null;
    this.charts = CHARTS.map((spec) => chart(spec));
    this.recent = h('ol', { class: 'mark-list', 'data-testid': 'mark-list' });
    root.append(h('div', { class: 'charts' }, this.charts.map((c) => c.figure)),
      h('section', { class: 'recent-marks' }, h('h3', {}, 'Recent marks'), this.recent));
    this.poller = new Poller(POLL_MS, () => this.poll(), (err) => {
      on.status(`/debug/history failed: ${err instanceof Error ? err.message : err}; retrying`, 'bad');
      root.classList.add('stale');
    });
  }

  async poll() {
    const since = this.history?.at.at(-1);
    const started = performance.now();
    const res = await adminFetch(since === undefined ? '/debug/history' : `/debug/history?since=${since}`);
    if (!res.ok) throw new Error(await errorOf(res));
    const body = await res.json();
    const t0 = performance.now();
    if (!this.history || this.history.node !== body.node) this.reset(body);
    const added = this.merge(body);
    this.draw(added);
    this.root.classList.remove('stale');
    const s = this.history.series;
    this.on.totals({ node: body.node, connections: s.connections.at(-1), msgs: s.actorMessages.at(-1), deliveries: s.deliveries.at(-1) });
    this.on.status(`live · history ${fmtInt(this.history.at.length)} points · fetch ${Math.round(t0 - started)} ms · draw ${Math.round(performance.now() - t0)} ms`, 'good');
  }

  /** A new node (or the first answer): forget what was drawn. */
  reset(body) {
    const at = body.series?.at ?? [];
    this.history = {
      node: body.node, intervalMs: body.intervalMs ?? 1000, capacity: body.capacity ?? 600,
      origin: at[0] ?? Date.now(), at: [], series: {}, marks: [], markKeys: new Set(), buckets: new Map(),
    };
    for (const c of this.charts) for (const s of c.series) this.history.series[s.key] = [];
    for (const c of this.charts) c.marks.replaceChildren();
  }

  /** Append the answer's new points and marks, drop what left the window; returns the new marks. */
  merge(body) {
    const hist = this.history;
    const at = body.series?.at ?? [];
    for (let i = 0; i < at.length; i++) {
      if (hist.at.length && at[i] <= hist.at.at(-1)) continue;
      hist.at.push(at[i]);
      for (const key of Object.keys(hist.series)) hist.series[key].push(body.series[key]?.[i] ?? null);
    }
    const over = hist.at.length - hist.capacity;
    if (over > 0) {
      hist.at.splice(0, over);
      for (const values of Object.values(hist.series)) values.splice(0, over);
    }
    // `since` is the last point: a mark after it comes again with the next answer
    const added = [];
    for (const m of Array.isArray(body.marks) ? body.marks : []) {
      const key = markKey(m);
      if (hist.markKeys.has(key)) continue;
      hist.markKeys.add(key);
      hist.marks.push(m);
      added.push(m);
    }
    const first = hist.at[0] ?? -Infinity;
    const kept = [];
    for (const m of hist.marks) {
      if (m.at >= first) kept.push(m);
      else hist.markKeys.delete(markKey(m)); // older than every point: it cannot come again
    }
    hist.marks = kept;
    return added;
  }

  draw(addedMarks) {
    const hist = this.history;
    const x = (at) => (at - hist.origin) / 1000;
    const span = (hist.capacity * hist.intervalMs) / 1000;
    const end = x(hist.at.at(-1) ?? hist.origin);
    const viewBox = `${(end - span).toFixed(1)} 0 ${span} ${HEIGHT}`;
    for (const c of this.charts) {
      setAttr(c.plot, 'viewBox', viewBox);
      const max = niceCeil(Math.max(0, ...c.series.flatMap((s) => hist.series[s.key].filter(Number.isFinite))) / c.unit) * c.unit;
      setText(c.scale, c.format(max));
      for (const s of c.series) {
        const values = hist.series[s.key];
        s.path.setAttribute('d', linePath(hist.at, values, x, max, hist.intervalMs * GAP_INTERVALS));
        s.path.dataset.points = String(values.filter(Number.isFinite).length);
        const last = values.at(-1);
        setText(s.latest, Number.isFinite(last) ? c.format(last) : '–');
      }
      setText(c.from, hist.at.length ? fmtClock(hist.origin + (end - span) * 1000) : '');
      setText(c.to, hist.at.length ? fmtClock(hist.at.at(-1)) : '');
    }
    this.drawMarks(addedMarks, x, end - span);
  }

  /** One rule per second that has marks, on every chart; rules that left the window go. */
  drawMarks(added, x, windowStart) {
    const { buckets } = this.history;
    for (const m of added) {
      const second = Math.floor(x(m.at));
      let bucket = buckets.get(second);
      if (!bucket) {
        bucket = { marks: [], rules: this.charts.map((c) => c.marks.appendChild(rule(second))) };
        buckets.set(second, bucket);
      }
      bucket.marks.push(m);
      const tone = bucket.marks.map(markTone).reduce((a, b) => (TONE_RANK[b] > TONE_RANK[a] ? b : a));
      const lines = bucket.marks.slice(0, MAX_TITLE_LINES).map(describeMark);
      if (bucket.marks.length > MAX_TITLE_LINES) lines.push(`+${bucket.marks.length - MAX_TITLE_LINES} more`);
      for (const r of bucket.rules) {
        setAttr(r, 'data-tone', tone);
        setAttr(r, 'data-kind', bucket.marks.length === 1 ? m.kind : 'many');
        setText(r.firstElementChild, lines.join('\n'));
      }
    }
    for (const [second, bucket] of buckets) {
      if (second + 1 >= windowStart) continue;
      for (const r of bucket.rules) r.remove();
      buckets.delete(second);
    }
    if (added.length) {
      this.recent.replaceChildren(...this.history.marks.slice(-RECENT_MARKS).reverse().map((m) =>
        h('li', { 'data-tone': markTone(m) }, describeMark(m))));
    }
  }
}

function chart({ id, title, format, unit = 1, series }) {
  const plot = svg('svg', { class: 'plot', 'data-testid': 'plot', preserveAspectRatio: 'none', viewBox: `0 0 600 ${HEIGHT}`, 'aria-hidden': 'true' });
  const marks = plot.appendChild(svg('g', { class: 'marks' }));
  const lines = series.map(([key, label], i) => ({
    key, label,
    path: plot.appendChild(svg('path', { class: `line s${i}`, 'data-testid': 'series', 'data-series': key, 'vector-effect': 'non-scaling-stroke' })),
    latest: h('b', { 'data-testid': 'latest', 'data-series': key }, '–'),
  }));
  const scale = h('span', { class: 'scale', 'data-testid': 'scale', title: 'top of the scale' });
  const from = h('span', {});
  const to = h('span', {});
  const figure = h('figure', { class: 'chart', 'data-testid': 'chart', 'data-chart': id },
    h('figcaption', {}, h('span', { class: 'title' }, title),
      lines.map((s, i) => h('span', { class: `legend s${i}` }, h('i', { class: 'swatch', 'aria-hidden': 'true' }), s.label, ' ', s.latest))),
    h('div', { class: 'plot-box' }, scale, plot),
    h('div', { class: 'axis' }, from, to));
  return { figure, plot, marks, scale, from, to, format, unit, series: lines };
}

function rule(second) {
  const x = second + 0.5;
  return svg('g', { class: 'mark', 'data-testid': 'mark' }, svg('title', {}),
    svg('line', { class: 'hit', x1: x, x2: x, y1: 0, y2: HEIGHT, 'vector-effect': 'non-scaling-stroke' }),
    svg('line', { class: 'rule', x1: x, x2: x, y1: 0, y2: HEIGHT, 'vector-effect': 'non-scaling-stroke' }));
}

/** SVG path data of one series: "M x,y L x,y ...", a new "M" after a gap or a missing value. */
function linePath(at, values, x, max, gapMs) {
  const parts = [];
  let pen = 'M';
  for (let i = 0; i < at.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      pen = 'M';
      continue;
    }
    if (i > 0 && at[i] - at[i - 1] > gapMs) pen = 'M';
    parts.push(`${pen}${x(at[i]).toFixed(1)},${(HEIGHT - (v / max) * (HEIGHT - 4)).toFixed(1)}`);
    pen = 'L';
  }
  return parts.join(' ');
}

/** The smallest 1, 2 or 5 × 10^k at or above n (at least 1): a scale that reads well (in the chart's unit: MiB for bytes). */
function niceCeil(n) {
  if (!(n > 1)) return 1;
  const step = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5, 10].map((m) => m * step).find((v) => v >= n) ?? 10 * step;
}

const markKey = (m) => `${m.at}|${m.kind}|${m.state ?? ''}|${m.path ?? ''}|${m.reason ?? ''}`;

function markTone(m) {
  if (m.kind === 'broker') return stateTone(m.state);
  return m.kind === 'crash' ? 'bad' : 'warn';
}

function describeMark(m) {
  const when = fmtClock(m.at);
  if (m.kind === 'broker') return `${when} broker ${m.state}`;
  return `${when} ${m.kind} ${m.path}${m.reason ? `: ${m.reason}` : ''}`;
}
