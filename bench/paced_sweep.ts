/**
 * The paced mode's runs against started targets (paced.ts has the parts):
 * one run per target at --rate-per-client, or the sweep. Runs go from the
 * baseline to warren at each rate, so that each warren figure is printed
 * beside the baseline's at the same offered load.
 */
import type { Load } from './load_generator';
import type { BenchOptions } from './options';
import { findHighest, measurePaced, type PacedResult, passes, saturationRate } from './paced';
import { describePaced, pacedSummary, type SweepOutcome, type SweepPoint, sweepSummary } from './paced_report';
import { BASELINE } from './report';
import type { Target } from './servers';

/** The shares of the baseline's saturation every target is measured at (issue 15). */
export const SHARES = [0.5, 0.8] as const;

export interface PacedOutcome {
  /** One line per target, warren's last. */
  readonly summary: string;
  /** For the JSON results. */
  readonly document: Record<string, unknown>;
}

export async function runPaced(options: BenchOptions, shape: string, targets: readonly Target[], load: (url: string) => Load): Promise<PacedOutcome> {
  const duration = options.duration!;
  const baselineAt = targets.findIndex((target) => target.name === BASELINE);
  // Every run, by target and rounded rate: the ladder takes the 80% run again rather than repeat it.
  const runs = targets.map(() => new Map<number, PacedResult>());
  const at = async (i: number, rate: number, share?: number): Promise<PacedResult> => {
    const key = Math.round(rate);
    const known = runs[i]!.get(key);
    if (known) return known;
    const result = await measurePaced(targets[i]!, load(targets[i]!.url), rate, duration, options.workers, options.timeoutSeconds);
    runs[i]!.set(key, result);
    console.log(describePaced(result, share, i === baselineAt ? undefined : runs[baselineAt]?.get(key)));
    return result;
  };
  const all = () => runs.map((byRate) => [...byRate.values()]);

  if (options.ratePerClient !== undefined) {
    const rate = options.ratePerClient * options.clients;
    const results: PacedResult[] = [];
    for (const i of targets.keys()) results.push(await at(i, rate));
    const baseline = results[baselineAt];
    return { summary: results.map((result) => pacedSummary(result, shape, result === baseline ? undefined : baseline)).join('\n'), document: { results } };
  }

  const { rate: saturation, burst } = await saturationRate(targets[baselineAt]!, load(targets[baselineAt]!.url), options.workers);
  if (saturation === undefined) throw new Error(`the burst on ${BASELINE} did not complete (${burst.ended}): there is no saturation rate to pace at`);
  console.log(
    `${BASELINE} saturation: ${Math.round(saturation)} says/s (${burst.says.toLocaleString('en-US')} says in a burst, the last delivery ${burst.completionSeconds!.toFixed(3)} s after the start signal)`,
  );
  const points: SweepPoint[][] = targets.map(() => []);
  for (const share of SHARES) for (const i of targets.keys()) points[i]!.push({ share, result: await at(i, share * saturation, share) });
  const outcomes: SweepOutcome[] = [];
  for (const [i, target] of targets.entries()) {
    console.log(`${target.name}: the highest rate with p99 under the bound, a ladder of ${BASELINE}'s saturation then a bisection`);
    const highest = await findHighest(saturation, async (rate) => passes(await at(i, rate, rate / saturation)));
    outcomes.push({ target: target.name, points: points[i]!, highest });
  }
  const baseline = outcomes[baselineAt];
  const summary = outcomes.map((outcome) => sweepSummary(outcome, shape, duration, saturation, outcome === baseline ? undefined : baseline)).join('\n');
  return { summary, document: { saturation, burst, outcomes, runs: all() } };
}
