/**
 * The presence run (`npm run bench -- --presence N`), issue 12's target:
 * 10,000 connections join one room with presence; the last join costs the
 * node under 50 µs of CPU, and no member gets more than one presence_diff
 * per room per 250 ms.
 *
 * N clients connect, each to a room of its own (presence_group.ts), then
 * join the shared room with `presence: true`, in order, in steps; a step
 * ends once each of its joiners has its `presence` frame and every member
 * has been told the room's new size by a diff. Measured, as the server's CPU
 * (its threads' schedstat, to the nanosecond: proc_metrics.ts):
 * - the first WINDOW_JOINS joins and the WINDOW_JOINS before the last, per
 *   join: their diffs' fan-outs included, so that a cost growing with the
 *   room shows;
 * - the last join alone, the room quiet for QUIET_MS before it: the join
 *   and the diff announcing it to the N-1 others, together (the diff is due
 *   at once, so the two cannot be told apart there);
 * - the two apart, SPLITS times: the last two clients leave, and right
 *   after that diff has reached everyone they join again, one after the
 *   other, so that their diff waits out the 250 ms window; the CPU read once
 *   each presence frame is back is that join's own, then what the diff
 *   adds. The first join after a diff pays for what the diff changed (the
 *   coalescer lists the room's members anew), the second does not. A split
 *   whose diff came before those reads is not counted as separated.
 * Every client records when each of its diffs came: the most within any one
 * second and the shortest gap are the coalescing figures.
 */
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { nowUs } from './frames';
import { mergeCounts } from './load_generator';
import { monotonicUs } from './measure';
import type { Window } from './cpu_profile';
import { cpuMicroseconds } from './proc_metrics';
import { type DiffRates, type PresenceGroupResult, type PresencePhase, type PresenceSeen, type PresenceStep } from './presence_group';
import type { Target } from './servers';
import { ClientThreads, spread } from './threads';
import type { ToPresenceWorker } from './worker_messages';

export interface PresenceSetup {
  readonly clients: number;
  readonly workers: number;
  /** For each step. */
  readonly timeoutMs: number;
}

/** Joins measured together: the server's CPU over them, per process group, µs. */
export interface JoinWindow {
  /** Client indices [from, to): joins from + 1 to `to`, counted from 1. */
  readonly from: number;
  readonly to: number;
  readonly cpuUs: Readonly<Record<string, number>>;
  /** The server's own (the first group's) CPU per join. */
  readonly usPerJoin: number;
  /** presence_diff frames delivered meanwhile (their fan-outs are in the cost). */
  readonly diffFrames: number;
  readonly seconds: number;
}

export interface LastJoin {
  /** The join and its diff's fan-out to every other member, from the quiet room to the diff delivered. */
  readonly totalUs: number;
  /** What the last client's presence frame said. */
  readonly presence?: PresenceSeen;
}

export interface Split {
  /** From the join sent to its presence frame back: the first join after a diff. */
  readonly joinUs: number;
  /** The same for the join right after it, in the same window. */
  readonly nextJoinUs: number;
  /** From then to its diff delivered to every other member. */
  readonly fanOutUs: number;
  /** No diff came before the join's own cost was read. */
  readonly separated: boolean;
}

export interface Coalescing {
  /** presence_diff frames received over the whole run, by every client. */
  readonly diffs: number;
  /** As client OBSERVER saw them: the verdict's figures. */
  readonly observer: DiffRates;
  /** The most any member saw, and the closest: the load generator's read delays included. */
  readonly anyMember: DiffRates;
  /** The observer's diffs within the bound. */
  readonly withinBound: boolean;
}

export interface PresenceResult {
  readonly target: string;
  readonly clients: number;
  readonly room: string;
  readonly connectSeconds: number;
  readonly early: JoinWindow;
  readonly late: JoinWindow;
  readonly last: LastJoin;
  readonly splits: readonly Split[];
  readonly coalescing: Coalescing;
  /** What a /metrics scrape costs the server, µs (median of SCRAPES); undefined without metrics. */
  readonly scrapeUs?: number;
  /** Error frames and unexpected frames, by what. */
  readonly errors: Readonly<Record<string, number>>;
  /** From the first join to the end, on CLOCK_MONOTONIC: to pick the run out of a CPU profile. */
  readonly runWindow: Window;
}

export const PRESENCE_ROOM = 'presence-bench';
// PROTOCOL.md "Presence": at most one presence_diff per room per 250 ms.
export const DIFF_WINDOW_MS = 250;
export const MAX_DIFFS_PER_SECOND = 1000 / DIFF_WINDOW_MS;
const WINDOW_JOINS = 1000;
const QUIET_MS = 1000;
const SPLITS = 5;
const SCRAPES = 5;
// Client 0, the first to join, alone in a thread of its own: it reads each
// diff as it comes, where a thread of 5,000 sockets reads a diff's 5,000
// copies one after the other, so that a member's arrivals there are late by
// where it comes in that queue, and two diffs can seem closer than they were.
const OBSERVER = 0;

/** At most MAX_DIFFS_PER_SECOND in any second, and never two closer than DIFF_WINDOW_MS. */
export function withinCoalescingBound(rates: DiffRates): boolean {
  return rates.maxInSecond <= MAX_DIFFS_PER_SECOND && rates.minGapMs >= DIFF_WINDOW_MS;
}

/** The joins measured at each end of the room's growth: WINDOW_JOINS, or fewer so that both fit before the last. */
export function windowJoins(clients: number): number {
  return Math.min(WINDOW_JOINS, Math.floor((clients - 1) / 2));
}

export async function measurePresence(target: Target, setup: PresenceSetup): Promise<PresenceResult> {
  const n = setup.clients;
  const span = windowJoins(n);
  const clients = new ClientThreads<PresencePhase, PresenceGroupResult>(join(__dirname, 'presence_worker.ts'), { load: { url: target.url, room: PRESENCE_ROOM } }, [[OBSERVER], ...spread(n, setup.workers, OBSERVER + 1)]);
  const groups = target.processes.map((group) => ({ label: group.label, pids: group.pids() }));
  const cpu = () => groups.map((group) => cpuMicroseconds(group.pids));
  let steps = 0;
  /** Runs a step; resolves once it is joined (its joiners have their presence frames) or settled. */
  const post = (type: PresenceStep['type'], from: number, to: number, users: number, timed = true) => {
    const step = ++steps;
    clients.post({ type, step, from, to, users, timed } satisfies ToPresenceWorker);
    return {
      joined: () => clients.reach(`joined:${step}`, setup.timeoutMs),
      settled: () => clients.reach(`settled:${step}`, setup.timeoutMs),
    };
  };
  const diffsSoFar = async () => (await clients.results()).reduce((sum, r) => sum + r.diffs, 0);
  const measured = async (from: number, to: number): Promise<JoinWindow> => {
    const diffsBefore = await diffsSoFar();
    const start = performance.now();
    const before = cpu();
    await post('join', from, to, to).settled();
    const after = cpu();
    const seconds = (performance.now() - start) / 1000;
    const cpuUs = Object.fromEntries(groups.map((group, i) => [group.label, after[i]! - before[i]!]));
    return { from, to, cpuUs, usPerJoin: (after[0]! - before[0]!) / (to - from), diffFrames: (await diffsSoFar()) - diffsBefore, seconds };
  };
  try {
    const connectStart = performance.now();
    await clients.reach('connected', setup.timeoutMs);
    const connectSeconds = (performance.now() - connectStart) / 1000;
    const scrapeUs = target.metricsUrl ? await scrapeCost(target.metricsUrl, () => cpu()[0]!) : undefined;
    const fromUs = monotonicUs();

    const early = await measured(0, span);
    if (n - 1 - span > span) await post('join', span, n - 1 - span, n - 1 - span).settled();
    const late = await measured(n - 1 - span, n - 1);
    await quiet(clients);

    const before = cpu()[0]!;
    await post('join', n - 1, n, n).settled();
    const last: LastJoin = { totalUs: cpu()[0]! - before, ...presenceOf(await clients.results(), n - 1) };

    const splits: Split[] = [];
    for (let i = 0; i < SPLITS; i++) {
      await post('leave', n - 2, n, n - 2).settled();
      const sent = cpu()[0]!;
      await post('join', n - 2, n - 1, n - 1).joined();
      const first = cpu()[0]!;
      const rejoin = post('join', n - 1, n, n, false);
      await rejoin.joined();
      const answered = cpu()[0]!;
      const answeredUs = nowUs();
      await rejoin.settled();
      const told = cpu()[0]!;
      const firstDiffUs = Math.min(...(await clients.results()).map((r) => r.firstDiffUs));
      splits.push({ joinUs: first - sent, nextJoinUs: answered - first, fanOutUs: told - answered, separated: firstDiffUs > answeredUs });
    }
    const toUs = monotonicUs();

    const results = await clients.results();
    const anyMember = { maxInSecond: Math.max(...results.map((r) => r.maxInSecond)), minGapMs: Math.min(...results.map((r) => r.minGapMs)) };
    const observer = { maxInSecond: results[0]!.maxInSecond, minGapMs: results[0]!.minGapMs };
    return {
      target: target.name,
      clients: n,
      room: PRESENCE_ROOM,
      connectSeconds,
      early,
      late,
      last,
      splits,
      coalescing: { diffs: results.reduce((sum, r) => sum + r.diffs, 0), observer, anyMember, withinBound: withinCoalescingBound(observer) },
      ...(scrapeUs !== undefined && { scrapeUs }),
      errors: mergeCounts(results.map((r) => r.errors)),
      runWindow: { fromUs, toUs },
    };
  } finally {
    await clients.close();
  }
}

/** Waits until no client has had a diff for QUIET_MS. */
async function quiet(clients: ClientThreads<PresencePhase, PresenceGroupResult>): Promise<void> {
  for (;;) {
    const sinceUs = nowUs() - Math.max(...(await clients.results()).map((r) => r.lastDiffUs));
    if (sinceUs >= QUIET_MS * 1000) return;
    await delay(QUIET_MS - sinceUs / 1000 + 10);
  }
}

function presenceOf(results: readonly PresenceGroupResult[], index: number): { presence?: PresenceSeen } {
  const presence = results.map((r) => r.presence).find((seen) => seen?.index === index);
  return presence ? { presence } : {};
}

/** The server's CPU for one scrape of its /metrics, µs: the median of SCRAPES. */
async function scrapeCost(url: string, cpuUs: () => number): Promise<number> {
  const costs: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    const before = cpuUs();
    const res = await fetch(url);
    await res.text();
    costs.push(cpuUs() - before);
  }
  return median(costs);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
}
