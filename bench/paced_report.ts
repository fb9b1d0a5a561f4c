/**
 * What a paced run prints: a line per run, and a summary line per target
 * (warren's last: scripts read the last line).
 */
import { P99_BOUND_MS } from './options';
import type { Highest, PacedResult } from './paced';
import { BASELINE, formatMs, usPerSayText } from './report';

/** A share of the baseline's saturation rate and the run at it. */
export interface SweepPoint {
  readonly share: number;
  readonly result: PacedResult;
}

/** What the sweep found for one target. */
export interface SweepOutcome {
  readonly target: string;
  readonly points: readonly SweepPoint[];
  readonly highest: Highest;
}

/** ` (1.23x bare uWS)` when both figures are there. */
function versus(ours: number | undefined, theirs: number | undefined): string {
  return ours !== undefined && theirs ? ` (${(ours / theirs).toFixed(2)}x ${BASELINE})` : '';
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function perSecond(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function errorsOf(result: PacedResult): string {
  const entries = Object.entries(result.errors);
  return entries.length === 0 ? 'none' : entries.map(([code, count]) => `${code} ×${count}`).join(', ');
}

/** One run, e.g. `warren/local at 2,000 says/s (20/s per client, 50% of bare uWS's saturation): 200,000 deliveries/s offered; p50 ...` */
export function describePaced(result: PacedResult, share?: number, baseline?: PacedResult): string {
  const { p50, p99, max } = result.latencyMs;
  return (
    `${result.target} at ${perSecond(result.offeredSaysPerSecond)} says/s (${result.ratePerClient.toFixed(1)}/s per client${share === undefined ? '' : `, ${percent(share)} of ${BASELINE}'s saturation`}, ${result.warmupSeconds} s warm-up + ${result.durationSeconds} s): ` +
    `${perSecond(result.offeredDeliveriesPerSecond)} deliveries/s offered; latency from the scheduled send p50 ${formatMs(p50)} ms${versus(p50, baseline?.latencyMs.p50)}, ` +
    `p99 ${formatMs(p99)} ms${versus(p99, baseline?.latencyMs.p99)}, max ${formatMs(max)} ms; delivered ${result.delivered.toLocaleString('en-US')} of ${result.expected.toLocaleString('en-US')}, lost ${result.lost}, errors ${errorsOf(result)}; ` +
    // The load generator shares the machine: when its CPU nears its threads' share of the run, it is what was measured.
    `${usPerSayText(result, baseline)} server CPU, load generator CPU ${result.loadGeneratorCpuSeconds.toFixed(1)} s${result.ended === 'complete' ? '' : `; ${result.ended}`}`
  );
}

/** With --rate-per-client, e.g. `warren/local paced 100 clients at 20/s for 5 s: 2000 says/s, 200000 deliveries/s offered, p50 3.0 ms, p99 12 ms (2.00x bare uWS), max 30 ms, 2.10 us/say (1.50x bare uWS), lost 0` */
export function pacedSummary(result: PacedResult, shape: string, baseline?: PacedResult): string {
  const { p50, p99, max } = result.latencyMs;
  return [
    `${result.target} paced ${shape} at ${result.ratePerClient}/s per client for ${result.durationSeconds} s: ${Math.round(result.offeredSaysPerSecond)} says/s`,
    `${Math.round(result.offeredDeliveriesPerSecond)} deliveries/s offered`,
    `p50 ${formatMs(p50)} ms`,
    `p99 ${formatMs(p99)} ms${versus(p99, baseline?.latencyMs.p99)}`,
    `max ${formatMs(max)} ms`,
    usPerSayText(result, baseline),
    `lost ${result.lost}`,
    ...(Object.keys(result.errors).length > 0 ? [`errors ${errorsOf(result)}`] : []),
    ...(result.ended === 'complete' ? [] : [result.ended]),
  ].join(', ');
}

/** `p99 < 100 ms up to 4000 says/s`, `... at 200% and above`, or `... at none tried`. */
export function highestText(highest: Highest, theirs?: Highest): string {
  const bound = `p99 < ${P99_BOUND_MS} ms`;
  if (highest.rate === undefined) return `${bound} at no rate tried (the lowest was ${Math.round(Math.min(...highest.tried.map((p) => p.rate)))} says/s)`;
  return `${bound} up to ${Math.round(highest.rate)} says/s${highest.capped ? ' or more (every rung of the ladder passed)' : ''}${versus(highest.rate, theirs?.rate)}`;
}

/**
 * The sweep's line for a target, e.g. `warren/local paced 100x1room for 5 s: 50% (5000 says/s) p50 2.0 ms, p99 20 ms (4.00x bare uWS), max 30 ms;
 * 80% (...) ...; p99 < 100 ms up to 4000 says/s (0.50x bare uWS); 2.10 us/say at 80% (1.50x bare uWS); lost 0`
 */
export function sweepSummary(ours: SweepOutcome, shape: string, durationSeconds: number, saturation: number, baseline?: SweepOutcome): string {
  const theirs = (share: number) => baseline?.points.find((point) => point.share === share)?.result;
  const points = ours.points.map(({ share, result }) => {
    const { p50, p99, max } = result.latencyMs;
    const other = theirs(share);
    return `${percent(share)} (${Math.round(result.offeredSaysPerSecond)} says/s) p50 ${formatMs(p50)} ms${versus(p50, other?.latencyMs.p50)}, p99 ${formatMs(p99)} ms${versus(p99, other?.latencyMs.p99)}, max ${formatMs(max)} ms`;
  });
  const last = ours.points[ours.points.length - 1];
  const lost = ours.points.reduce((sum, point) => sum + point.result.lost, 0);
  const parts = [
    ...(baseline ? [] : [`saturation ${Math.round(saturation)} says/s (a burst)`]),
    ...points,
    highestText(ours.highest, baseline?.highest),
    ...(last ? [`${usPerSayText(last.result, theirs(last.share))} at ${percent(last.share)}`] : []),
    `lost ${lost}`,
  ];
  return `${ours.target} paced ${shape} for ${durationSeconds} s: ${parts.join('; ')}`;
}
