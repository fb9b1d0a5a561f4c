/**
 * What observing a node costs it (issue 16: "/debug/top on a node with
 * 10,000 connections answers in under 20 ms of daemon CPU"), measured in
 * idle mode once the connections are open: the daemon's CPU while they sit
 * idle and nothing is asked (the sampler's point a second, no walk); then
 * GET /debug/top by mailbox, rate and restarts, one request after the
 * other, each with the daemon's CPU and the wall time it took; then the
 * idle CPU again while the sampler keeps the rates up for the requests,
 * which is its walk over the tree each second. CPU is read from /proc
 * (proc_metrics.ts), never asked of the daemon.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { adminJson } from '../tools/admin_port';
import type { TopAnswer } from '../tools/top/answers';
import { cpuMicroseconds } from './proc_metrics';

/** The sorts timed: mailbox and restarts read the processes; rate also reads the sampler's last counts. */
export const TIMED_SORTS = ['mailbox', 'rate', 'restarts'] as const;
/** The page a person asks for (the observer page's and `npm run top`'s default). */
const TOP_N = 50;

export interface ObserverRun {
  /** Idle wall time over which the daemon's CPU is taken, unobserved and then observed. */
  readonly idleSeconds: number;
  /** GET /debug/top per sort. */
  readonly requests: number;
}

export const OBSERVER_RUN: ObserverRun = { idleSeconds: 10, requests: 20 };

export interface TopCost {
  readonly requests: number;
  /**
   * Daemon CPU per request, ms: its CPU across the requests over their
   * number. The idle node's own CPU in that time counts too (a bound from
   * above; it is idleCpuPercent of the wall time).
   */
  readonly cpuMs: number;
  /** Wall time per request as the bench sees it, ms: the mean and the slowest. */
  readonly wallMs: { readonly mean: number; readonly max: number };
}

export interface ObserverCost {
  /** The rows each /debug/top asked for. */
  readonly n: number;
  /** Actors in the tree (the answer's `actors`): what each walk covers. */
  readonly actors: number;
  readonly idleSeconds: number;
  /** Daemon CPU per wall second while nothing was asked, % of one core. */
  readonly idleCpuPercent: number;
  /** The same just after the requests, while the sampler walks the tree each second for their rates. */
  readonly observedCpuPercent: number;
  readonly top: Readonly<Record<(typeof TIMED_SORTS)[number], TopCost>>;
}

/** `adminUrl` is the daemon's admin port, `pids` its processes (not the broker's). */
export async function measureObserver(adminUrl: string, pids: readonly number[], run: ObserverRun = OBSERVER_RUN): Promise<ObserverCost> {
  const admin = { url: adminUrl };
  const idleCpu = async (): Promise<number> => {
    const from = { cpu: cpuMicroseconds(pids), at: performance.now() };
    await delay(run.idleSeconds * 1000);
    return ((cpuMicroseconds(pids) - from.cpu) / 1000 / (performance.now() - from.at)) * 100;
  };
  const idleCpuPercent = await idleCpu();
  let actors = 0;
  const timeSort = async (by: (typeof TIMED_SORTS)[number]): Promise<TopCost> => {
    const walls: number[] = [];
    const cpuBefore = cpuMicroseconds(pids);
    for (let i = 0; i < run.requests; i++) {
      const started = performance.now();
      ({ actors } = await adminJson<TopAnswer>(admin, `/debug/top?by=${by}&n=${TOP_N}`));
      walls.push(performance.now() - started);
    }
    const cpuMs = (cpuMicroseconds(pids) - cpuBefore) / 1000 / run.requests;
    return { requests: run.requests, cpuMs, wallMs: { mean: walls.reduce((a, b) => a + b, 0) / walls.length, max: Math.max(...walls) } };
  };
  const top = {} as Record<(typeof TIMED_SORTS)[number], TopCost>;
  for (const by of TIMED_SORTS) top[by] = await timeSort(by);
  const observedCpuPercent = await idleCpu();
  return { n: TOP_N, actors, idleSeconds: run.idleSeconds, idleCpuPercent, observedCpuPercent, top };
}
