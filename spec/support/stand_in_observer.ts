// The observer endpoints of issue 16 (GET /debug/top, GET /debug/actor,
// POST /debug/trace, GET /debug/history) as a stand-in admin port answers
// them for the observer page's component spec: computed from the spec's
// fixture tree, in the shapes and with the validation the daemon's contract
// gives them (their types are the daemon's own), and recording what the page asked.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FIGURES, type Figure, type Mark, type SeriesSince } from '../../lib/node_series';
import type { ActorInfo, ProcessInfo } from '../../lib/otp/sys';
import { TOP_KEYS, type TopAnswer, type TopKey, type TopRow } from '../../lib/otp/top';
import { TRACE_BOUNDS, type TraceEvent, type TraceLimits } from '../../lib/otp/trace';
import { actors } from './admin';

export interface Monitors {
  monitoring: string[];
  monitoredBy: string[];
}

export interface TraceRecord {
  path: string;
  count: number;
  rate: number;
  sent: number;
  /** The page closed the stream before the trace ended. */
  closedEarly: boolean;
}

const LIST_MAX = 100;
const INTERVAL_MS = 1000;
const CAPACITY = 600;
const MiB = 1024 * 1024;

/** The value of each series at second k of the fixture's clock: distinct, and known to the spec. */
export function historyValue(series: Figure, k: number): number {
  switch (series) {
    case 'connections': return 1000 + k;
    case 'messages': return 40 + (k % 10);
    case 'deliveries': return 80 + (k % 10);
    case 'actorMessages': return 300 + (k % 20);
    case 'lagMs': return 1 + (k % 4) / 4;
    case 'lagMaxMs': return 10 + (k % 8);
    case 'relayMailbox': return k % 7;
    case 'rss': return 200 * MiB + k * 1024;
    case 'heapUsed': return 90 * MiB + (k % 50) * 1024;
  }
}

type Answer = (status: number, body: unknown) => true;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The rows whose path or behaviour contains `filter`, case-insensitive. */
export function matching(rows: TopRow[], filter: string): TopRow[] {
  const needle = filter.toLowerCase();
  return needle ? rows.filter((r) => r.path.toLowerCase().includes(needle) || r.behaviour.toLowerCase().includes(needle)) : rows;
}

/** The first n rows by `by` descending, ties by path ascending, as the daemon sorts them. */
export function topOf(rows: TopRow[], by: TopKey, n: number): TopRow[] {
  return [...rows].sort((a, b) => b[by] - a[by] || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).slice(0, n);
}

export class ObserverEndpoints {
  mailboxes = new Map<string, number>();
  rates = new Map<string, number>();
  restartHistory = new Map<string, Array<{ at: string; reason: string }>>();
  monitorsOf: (path: string) => Monitors = () => ({ monitoring: [], monitoredBy: [] });
  traces: TraceRecord[] = [];
  traceEveryMs = 20;
  /** The fixture's clock for /debug/history: its points are the seconds of the 10 minutes up to `historyEnd`. */
  historyBase = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;
  historyEnd = this.historyBase + 10 * 60_000;
  marks: Mark[] = [];

  constructor(
    readonly node: string,
    private readonly tree: () => ActorInfo,
  ) {}

  /** Answers one of the four endpoints; false for any other request. */
  route(req: IncomingMessage, res: ServerResponse, url: URL, answer: Answer): boolean {
    const get = req.method === 'GET';
    if (url.pathname === '/debug/top' && get) return this.top(url, answer);
    if (url.pathname === '/debug/actor' && get) return this.actor(url, answer);
    if (url.pathname === '/debug/trace' && req.method === 'POST') return this.trace(url, res, answer);
    if (url.pathname === '/debug/history' && get) return answer(200, this.history(Number(url.searchParams.get('since') ?? -Infinity)));
    return false;
  }

  /** Its supervisor restarted it: one more line of restart history. */
  restarted(path: string, reason: string): void {
    this.restartHistory.set(path, [...(this.restartHistory.get(path) ?? []), { at: new Date().toISOString(), reason }].slice(-20));
  }

  rows(): TopRow[] {
    return actors(this.tree()).map((a) => ({
      path: a.path, name: a.name, kind: a.kind, behaviour: a.behaviour,
      mailbox: this.mailboxes.get(a.path) ?? a.mailbox,
      rate: this.rates.get(a.path) ?? 0,
      processed: a.processed,
      restarts: a.restarts,
    }));
  }

  private top(url: URL, answer: Answer): true {
    const by = (url.searchParams.get('by') ?? 'mailbox') as TopKey;
    const n = Number(url.searchParams.get('n') ?? 50);
    if (!TOP_KEYS.includes(by)) return answer(400, { error: `by must be one of ${TOP_KEYS.join(', ')}` });
    if (!Number.isInteger(n) || n < 1 || n > 1000) return answer(400, { error: 'n must be a whole number from 1 to 1000' });
    const rows = this.rows();
    const matched = matching(rows, url.searchParams.get('filter') ?? '');
    const top: TopAnswer = { actors: rows.length, matched: matched.length, top: topOf(matched, by, n) };
    return answer(200, { node: this.node, at: new Date().toISOString(), by, n, intervalMs: INTERVAL_MS, ...top });
  }

  private find(path: string): ActorInfo | undefined {
    return actors(this.tree()).find((a) => a.path === path);
  }

  private actor(url: URL, answer: Answer): true {
    const path = url.searchParams.get('path');
    if (!path) return answer(400, { error: 'the path query parameter is required' });
    const a = this.find(path);
    if (!a) return answer(404, { error: `no actor at ${path}` });
    const row = this.rows().find((r) => r.path === path)!;
    const parent = path.lastIndexOf('/') > 0 ? path.slice(0, path.lastIndexOf('/')) : null;
    const { monitoring, monitoredBy } = this.monitorsOf(path);
    const actor: ProcessInfo = {
      path, name: a.name, kind: a.kind, behaviour: a.behaviour, ...(a.strategy && { strategy: a.strategy }),
      status: 'running', mailbox: row.mailbox, processed: a.processed, rate: row.rate, restarts: a.restarts,
      info: a.info,
      links: { parent, children: a.children.slice(0, LIST_MAX).map((c) => c.path), childCount: a.children.length },
      monitors: {
        monitoring: monitoring.slice(0, LIST_MAX), monitoringCount: monitoring.length,
        monitoredBy: monitoredBy.slice(0, LIST_MAX), monitoredByCount: monitoredBy.length,
      },
      restartHistory: this.restartHistory.get(path) ?? [],
    };
    return answer(200, { node: this.node, actor });
  }

  /** A server-sent event stream: start, one message every traceEveryMs, end after `count` (or when the page closes it). */
  private trace(url: URL, res: ServerResponse, answer: Answer): true {
    const path = url.searchParams.get('path') ?? '';
    const limits: Mutable<TraceLimits> = { count: 0, rate: 0, seconds: 0 };
    for (const [name, bounds] of Object.entries(TRACE_BOUNDS) as Array<[keyof TraceLimits, { default: number; max: number }]>) {
      const value = Number(url.searchParams.get(name) ?? bounds.default);
      if (!Number.isInteger(value) || value < 1 || value > bounds.max) return answer(400, { error: `${name} must be a whole number from 1 to ${bounds.max}` });
      limits[name] = value;
    }
    const { count, rate } = limits;
    const actor = this.find(path);
    if (!actor) return answer(404, { error: `no actor at ${path}` });
    if (this.traces.some((t) => t.path === path && t.sent < t.count && !t.closedEarly)) return answer(409, { error: `${path} is already traced` });
    const record: TraceRecord = { path, count, rate, sent: 0, closedEarly: false };
    this.traces.push(record);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    const send = (event: string, data: unknown): boolean => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('start', { path, behaviour: actor.behaviour, ...limits });
    const timer = setInterval(() => {
      record.sent++;
      const n = record.sent;
      const event: TraceEvent = { n, at: Date.now(), kind: n % 2 ? 'info' : 'cast', type: n % 2 ? 'frame' : 'deliver', size: 100 + n, mailbox: n % 3, us: 10 * n };
      send('message', event);
      if (record.sent === count) {
        clearInterval(timer);
        send('end', { reason: 'count', traced: count });
        res.end();
      }
    }, this.traceEveryMs);
    res.on('close', () => {
      clearInterval(timer);
      if (!res.writableFinished) record.closedEarly = true;
    });
    return true;
  }

  /** The points (one per second) and marks after `since`, of the 10 minutes up to historyEnd. */
  history(since: number): unknown {
    const first = Math.max(this.historyBase, this.historyEnd - (CAPACITY - 1) * INTERVAL_MS);
    const at: number[] = [];
    for (let t = first; t <= this.historyEnd; t += INTERVAL_MS) if (t > since) at.push(t);
    const k = (t: number): number => (t - this.historyBase) / INTERVAL_MS;
    const figures = Object.fromEntries(FIGURES.map((f) => [f, at.map((t) => historyValue(f, k(t)))])) as Record<Figure, number[]>;
    const answer: SeriesSince = { series: { at, ...figures }, marks: this.marks.filter((m) => m.at > since) };
    return { node: this.node, intervalMs: INTERVAL_MS, capacity: CAPACITY, ...answer };
  }
}
