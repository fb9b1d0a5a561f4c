/**
 * One measurement against one target: the fanout run (load generator plus
 * the server's CPU and memory around it) and the idle-connections run (with
 * what observing the idle node costs it, observer.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Window } from './cpu_profile';
import { type Load, LoadGenerator, type RunResult } from './load_generator';
import { measureObserver, type ObserverCost, type ObserverRun } from './observer';
import { cpuSeconds, PeakRss, rssBytes } from './proc_metrics';
import { ProgressBar } from './progress';
import type { Target } from './servers';
import { type Percentiles, percentiles, type SeriesPoint, timeSeries } from './stats';

export interface FanoutResult extends Pick<RunResult, 'expected' | 'delivered' | 'lost' | 'acks' | 'errors' | 'ended'> {
  readonly target: string;
  readonly uws?: string;
  /** Says sent: clients × messages. */
  readonly says: number;
  /** The clients offered tokens (--auth); bare uWS verifies none. */
  readonly auth: boolean;
  /** With --auth, what a client offering no token got from warren (auth.ts, probeWithoutToken). */
  readonly authProbe?: string;
  readonly connectSeconds: number;
  /** From the start signal to the last delivery; undefined when not every delivery came. */
  readonly completionSeconds?: number;
  readonly deliveriesPerSecond?: number;
  /** Publish-to-receive, ms, on the load generator's clock. */
  readonly latencyMs: Percentiles;
  /** Deliveries the latency was sampled from: every one, or those after a paced run's warm-up. */
  readonly latencySamples: number;
  /** CPU seconds during the run per measured process group ("daemon", "rabbitmq", "bare uWS"), and the load generator's. */
  readonly cpuSeconds: Readonly<Record<string, number>>;
  readonly loadGeneratorCpuSeconds: number;
  /** Peak resident memory from the start signal to the end, per process group. */
  readonly peakRssBytes: Readonly<Record<string, number>>;
  readonly series: readonly SeriesPoint[];
  /** From the start signal to the end, on CLOCK_MONOTONIC: to pick the run out of a CPU profile. */
  readonly runWindow: Window;
}

export interface IdleResult {
  readonly target: string;
  readonly connections: number;
  /** As in FanoutResult. */
  readonly auth: boolean;
  readonly authProbe?: string;
  /** Wall time of the whole connect, worker threads' start included. */
  readonly connectSeconds: number;
  /** From the first connect attempt to the last welcome: the server's accepting. */
  readonly acceptSeconds: number;
  readonly acceptsPerSecond: number;
  /** At most this many handshakes were in flight. */
  readonly connectsInFlight: number;
  /** CPU of the server's processes per connection accepted, µs; undefined when none is measured. */
  readonly cpuUsPerAccept?: number;
  /** Resident memory of the server's processes (all groups) before and after opening them. */
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly rssPerConnectionBytes: number;
  readonly heapPerConnectionBytes?: number;
  /** What the idle node's sampler and GET /debug/top cost it; a daemon with an admin port only. */
  readonly observer?: ObserverCost;
}

const CHART_SLICES = 60;
// After the last welcome, time for the server to finish its per-connection work.
const IDLE_SETTLE_MS = 2_000;

export async function measureFanout(target: Target, load: Load, workers: number): Promise<FanoutResult> {
  const generator = new LoadGenerator(load, workers);
  const bar = new ProgressBar(target.name, load.clients, generator.progress);
  const connectStart = performance.now();
  try {
    await generator.connect();
  } catch (error) {
    bar.stop();
    throw error;
  }
  const connectSeconds = (performance.now() - connectStart) / 1000;
  // Listed once: finding a process's descendants reads all of /proc, too
  // costly to do at every sample.
  const pids = target.processes.map((group) => group.pids());
  const peaks = pids.map((group) => new PeakRss(group));
  const cpuBefore = pids.map(cpuSeconds);
  const fromUs = monotonicUs();
  const run = await generator.run();
  const toUs = monotonicUs();
  const cpuAfter = pids.map(cpuSeconds);
  const peakRss = peaks.map((peak) => peak.stop());
  bar.stop();
  await generator.close();
  const completionSeconds = run.lost === 0 && run.delivered === run.expected ? run.lastDeliveryMs / 1000 : undefined;
  const perGroup = (values: number[]) => Object.fromEntries(target.processes.map((group, i) => [group.label, values[i]!]));
  return {
    target: target.name,
    ...(target.uws !== undefined && { uws: target.uws }),
    says: load.clients * load.messages,
    auth: load.tokens !== undefined,
    expected: run.expected,
    delivered: run.delivered,
    lost: run.lost,
    acks: run.acks,
    errors: run.errors,
    ended: run.ended,
    connectSeconds,
    ...(completionSeconds !== undefined && { completionSeconds, deliveriesPerSecond: run.expected / completionSeconds }),
    latencyMs: percentiles(run.latencyMs),
    latencySamples: run.latencyMs.length,
    cpuSeconds: perGroup(cpuAfter.map((after, i) => after - cpuBefore[i]!)),
    loadGeneratorCpuSeconds: run.cpuSeconds,
    peakRssBytes: perGroup(peakRss),
    series: timeSeries(run.receivedAtMs, run.latencyMs, Math.max(1, run.lastDeliveryMs), CHART_SLICES),
    runWindow: { fromUs, toUs },
  };
}

/** With `observe`, the cost of observing is measured too, where the target has an admin port. */
export async function measureIdle(target: Target, load: Load, workers: number, observe?: ObserverRun): Promise<IdleResult> {
  const pids = target.processes.flatMap((group) => group.pids());
  const rssBeforeBytes = rssBytes(pids);
  const heapBefore = await target.heapUsedBytes();
  const generator = new LoadGenerator(load, workers);
  const bar = new ProgressBar(target.name, load.clients, generator.progress);
  // The server is idle until the first attempt: its CPU over the whole
  // connect is its CPU for accepting (the welcomes are the last of it).
  const cpuBefore = cpuSeconds(pids);
  const connectStart = performance.now();
  await generator.connect().finally(() => bar.stop());
  const connectSeconds = (performance.now() - connectStart) / 1000;
  const cpuAccepting = cpuSeconds(pids) - cpuBefore;
  const { acceptSeconds, inFlight } = generator.connectStats();
  await delay(IDLE_SETTLE_MS);
  const rssAfterBytes = rssBytes(pids);
  const heapAfter = await target.heapUsedBytes();
  const daemon = target.processes.find((group) => group.label === 'daemon')?.pids() ?? [];
  const observer = observe && target.adminUrl && daemon.length > 0 ? await measureObserver(target.adminUrl, daemon, observe) : undefined;
  await generator.close();
  return {
    target: target.name,
    connections: load.clients,
    auth: load.tokens !== undefined,
    connectSeconds,
    acceptSeconds,
    acceptsPerSecond: load.clients / acceptSeconds,
    connectsInFlight: inFlight,
    ...(pids.length > 0 && { cpuUsPerAccept: (cpuAccepting * 1e6) / load.clients }),
    rssBeforeBytes,
    rssAfterBytes,
    rssPerConnectionBytes: (rssAfterBytes - rssBeforeBytes) / load.clients,
    ...(heapBefore !== undefined && heapAfter !== undefined && { heapPerConnectionBytes: (heapAfter - heapBefore) / load.clients }),
    ...(observer && { observer }),
  };
}

export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
