/**
 * The paced mode (`--duration S`): latency at a steady offered load rather
 * than after a burst. Each client sends its says evenly spaced at R per
 * second for a warm-up and S seconds (pacing.ts, pacedSchedule), and a
 * delivery's latency is taken from its say's scheduled time. Given R, one run per target;
 * without it, a sweep: the baseline's saturation rate from a burst run,
 * runs at 50% and 80% of it on both targets, then for each target the
 * highest rate whose p99 stays under P99_BOUND_MS (a ladder, then a
 * bisection).
 */
import type { Load } from './load_generator';
import { type FanoutResult, measureFanout } from './measure';
import { type BenchOptions, P99_BOUND_MS } from './options';
import type { Target } from './servers';

/** One paced run: the fanout's figures and what was offered. */
export interface PacedResult extends FanoutResult {
  readonly ratePerClient: number;
  /** Measured, after the warm-up. */
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** Says per second, every client's. */
  readonly offeredSaysPerSecond: number;
  readonly offeredDeliveriesPerSecond: number;
}

/** A rate tried in the search for the highest one under the bound, and whether it stayed under. */
export interface Probe {
  readonly rate: number;
  readonly passed: boolean;
}

export interface Highest {
  /** Says/s; undefined when even the lowest rung failed and no bisection found one. */
  readonly rate?: number;
  /** Every rung of the ladder passed: the boundary lies higher still. */
  readonly capped: boolean;
  readonly tried: readonly Probe[];
}

/** The ladder's rungs, as shares of the baseline's saturation rate: 20%, 40%, ... 200%. */
export const LADDER_STEP = 0.2;
export const LADDER_RUNGS = 10;
export const BISECTIONS = 3;

/**
 * After the last scheduled say, a server gets this long (or --timeout, if
 * shorter) to deliver the rest; what has not come then is lost. A run that
 * far behind is far over the bound anyway.
 */
const DRAIN_SECONDS = 10;

/**
 * Each paced run opens with this much of the same load whose latencies are
 * not counted: the load generator's threads are new for each run, and for
 * their first half second or so their code is cold, which showed as p99s of
 * 100-200 ms on the baseline at 1% of its saturation.
 */
export const WARMUP_SECONDS = 1;

// A burst on the baseline is paced by nothing: bare uWS has no rate limit.
const UNLIMITED = Number.MAX_SAFE_INTEGER;

// The daemon's limit must be out of the way of any rate the sweep may try (lib/config/schema.ts's maximum).
const RAISED_FRAME_RATE = '100000';

/**
 * The settings of a daemon the bench starts for a paced run: its frame rate
 * limit (PROTOCOL.md: 50/s, bursts of 200) raised when the run may exceed it.
 */
export function pacedDaemonEnv(options: Pick<BenchOptions, 'duration' | 'ratePerClient' | 'rate'>): Record<string, string> {
  if (options.duration === undefined || (options.ratePerClient !== undefined && options.ratePerClient <= options.rate)) return {};
  return { FRAME_RATE: RAISED_FRAME_RATE, FRAME_BURST: RAISED_FRAME_RATE };
}

/** Whether a run stayed under the bound: complete, nothing lost, no error, p99 under P99_BOUND_MS. */
export function passes(result: FanoutResult): boolean {
  return result.ended === 'complete' && result.lost === 0 && Object.keys(result.errors).length === 0 && result.latencyMs.p99 < P99_BOUND_MS;
}

/**
 * The next rate to try, given those tried so far in the order this function
 * gave them; undefined when the search is over. Up the ladder until a rung
 * fails, then bisect between the highest pass (or 0) and the lowest failure.
 */
export function nextRate(saturation: number, tried: readonly Probe[]): number | undefined {
  const firstFailure = tried.findIndex((probe) => !probe.passed);
  if (firstFailure === -1) return tried.length < LADDER_RUNGS ? saturation * LADDER_STEP * (tried.length + 1) : undefined;
  if (tried.length - firstFailure - 1 >= BISECTIONS) return undefined;
  const low = Math.max(0, ...tried.filter((probe) => probe.passed).map((probe) => probe.rate));
  const high = Math.min(...tried.filter((probe) => !probe.passed).map((probe) => probe.rate));
  return (low + high) / 2;
}

/** Runs the search with `probe` (a paced run, or a stand-in in specs). */
export async function findHighest(saturation: number, probe: (rate: number) => Promise<boolean>): Promise<Highest> {
  const tried: Probe[] = [];
  for (let rate = nextRate(saturation, tried); rate !== undefined; rate = nextRate(saturation, tried)) tried.push({ rate, passed: await probe(rate) });
  const passed = tried.filter((p) => p.passed).map((p) => p.rate);
  return { ...(passed.length > 0 && { rate: Math.max(...passed) }), capped: tried.every((p) => p.passed), tried };
}

/** Says per client for `seconds` at `ratePerClient`: at least one. */
export function saysFor(ratePerClient: number, seconds: number): number {
  return Math.max(1, Math.round(ratePerClient * seconds));
}

/** One paced run of `rate` says/s in all, spread over the load's clients. */
export async function measurePaced(target: Target, load: Load, rate: number, durationSeconds: number, workers: number, timeoutSeconds: number): Promise<PacedResult> {
  const ratePerClient = rate / load.clients;
  const seconds = WARMUP_SECONDS + durationSeconds;
  const messages = saysFor(ratePerClient, seconds);
  const timeoutMs = (seconds + Math.min(DRAIN_SECONDS, timeoutSeconds)) * 1000;
  const result = await measureFanout(target, { ...load, messages, ratePerClient, timeoutMs, warmupMs: WARMUP_SECONDS * 1000 }, workers);
  return {
    ...result,
    ratePerClient,
    durationSeconds,
    warmupSeconds: WARMUP_SECONDS,
    offeredSaysPerSecond: result.says / seconds,
    offeredDeliveriesPerSecond: result.expected / seconds,
  };
}

/** The baseline's saturation: says/s of a burst of the run's shape (clients × messages / completion); undefined if it did not complete. */
export async function saturationRate(baseline: Target, load: Load, workers: number): Promise<{ rate?: number; burst: FanoutResult }> {
  const burst = await measureFanout(baseline, { ...load, rate: UNLIMITED, burst: UNLIMITED }, workers);
  return { ...(burst.completionSeconds !== undefined && { rate: burst.says / burst.completionSeconds }), burst };
}
