/**
 * The hottest functions of a V8 CPU profile (`node --cpu-prof` writes one
 * `.cpuprofile` per thread when the process exits): self time per function
 * and per source file, summed over every sample.
 *
 *   npx tsx bench/cpu_profile.ts <file.cpuprofile> [top]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface Profile {
  readonly startTime: number;
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Hotspot {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Everything but (idle): what the process really spent. */
  readonly busyMs: number;
  /** The longest run of samples without (idle): the worst block of the event loop the profile saw. */
  readonly longestBusyMs: number;
  readonly functions: readonly Hotspot[];
  readonly files: readonly Hotspot[];
}

const ROOT = join(__dirname, '..');

/** A span of CLOCK_MONOTONIC in µs: the clock V8 times its samples with (process.hrtime in any process). */
export interface Window {
  readonly fromUs: number;
  readonly toUs: number;
}

/** Self time per function and file, over the samples within `window` (all when absent). */
export function summarizeProfile(file: string, window?: Window, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const idleIds = new Set(profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id));
  let at = profile.startTime;
  let busySince: number | undefined;
  let longestBusyUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
    if (!idleIds.has(id)) busySince ??= at - delta;
    else if (busySince !== undefined) {
      longestBusyUs = Math.max(longestBusyUs, at - delta - busySince);
      busySince = undefined;
    }
  });
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const source = url ? shorten(url) : '';
    totalUs += us;
    if (functionName === '(idle)') idleUs += us;
    add(functions, source ? `${functionName || '(anonymous)'} ${source}:${lineNumber + 1}` : functionName, us);
    add(files, source || functionName, us);
  }
  const busyUs = totalUs - idleUs;
  const ranked = (table: Map<string, number>) =>
    [...table].filter(([name]) => name !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ name, ms: us / 1000, share: us / busyUs }));
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, longestBusyMs: longestBusyUs / 1000, functions: ranked(functions), files: ranked(files) };
}

/** The profile with the most samples in `dir` (the main thread's, not tsx's loader thread). */
export function mainThreadProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).map((name) => join(dir, name));
  return files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

export function describeProfile(file: string, summary: ProfileSummary, span: string): string {
  const row = ({ name, ms, share }: Hotspot) => `  ${ms.toFixed(0).padStart(7)} ms ${(share * 100).toFixed(1).padStart(5)}%  ${name}`;
  return [
    `CPU profile ${relative(process.cwd(), file)}: ${summary.busyMs.toFixed(0)} ms busy of ${summary.totalMs.toFixed(0)} ms (${span}), ${summary.longestBusyMs.toFixed(0)} ms at most without a pause`,
    'hottest functions (self time):',
    ...summary.functions.map(row),
    'hottest files (self time):',
    ...summary.files.map(row),
  ].join('\n');
}

function add(table: Map<string, number>, key: string, us: number): void {
  table.set(key, (table.get(key) ?? 0) + us);
}

function shorten(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  return path.startsWith(ROOT) ? relative(ROOT, path) : path;
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/cpu_profile.ts <file.cpuprofile> [top]');
  process.stdout.write(`${describeProfile(file, summarizeProfile(file, undefined, Number(top ?? 15)), 'the whole process life')}\n`);
}
