/**
 * What a bench run prints and keeps: a readable report per target, the
 * one-line summary scripts read (always the last line), and the JSON result
 * and SVG chart under the results folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { refusedWithoutToken } from './auth';
import { renderChart } from './chart';
import type { FanoutResult, IdleResult } from './measure';
import type { ObserverCost } from './observer';
import { RECOVERED } from './storm_group';
import type { StormResult } from './storm';
import { DIFF_WINDOW_MS, type JoinWindow, MAX_DIFFS_PER_SECOND, median, type PresenceResult } from './presence';

/** PROTOCOL.md / issue 12: the last join costs the node under this much CPU. */
export const JOIN_TARGET_US = 50;

/** Issue 16: /debug/top on a node with 10,000 connections costs it under this much CPU. */
export const TOP_TARGET_MS = 20;

/** The baseline target's name (servers.ts). */
export const BASELINE = 'bare uWS';

/**
 * `auth on`, `auth off`, for the baseline with --auth `tokens not verified`,
 * and `auth NOT ENFORCED` for a daemon that let a client without a token in:
 * its figures measure no verification.
 */
export function authLabel(result: Pick<IdleResult, 'target' | 'auth' | 'authProbe'>): string {
  if (!result.auth) return 'auth off';
  if (result.target === BASELINE) return 'tokens not verified';
  return result.authProbe === undefined || refusedWithoutToken(result.authProbe) ? 'auth on' : 'auth NOT ENFORCED';
}

/** Server CPU (every measured process) per delivery, µs; undefined when no process was measured. */
export function serverUsPerDelivery(result: FanoutResult): number | undefined {
  return serverUsPer(result, result.delivered);
}

/** Server CPU per say sent (a say in a room of s clients is s deliveries), µs; undefined when no process was measured. */
export function serverUsPerSay(result: FanoutResult): number | undefined {
  return serverUsPer(result, result.says);
}

function serverUsPer(result: FanoutResult, count: number): number | undefined {
  const groups = Object.values(result.cpuSeconds);
  return groups.length === 0 || count === 0 ? undefined : (groups.reduce((a, b) => a + b, 0) * 1e6) / count;
}

/** `2.10 us/say (1.50x bare uWS)`: the server CPU per say, against the baseline's when both were measured. */
export function usPerSayText(result: FanoutResult, baseline?: FanoutResult): string {
  const ours = serverUsPerSay(result);
  const theirs = baseline && serverUsPerSay(baseline);
  return `${ours === undefined ? '-' : ours.toFixed(2)} us/say${ours !== undefined && theirs ? ` (${(ours / theirs).toFixed(2)}x ${BASELINE})` : ''}`;
}

/** e.g. `warren/rabbitmq 100x100, auth off: 1.42 s, 704000 deliveries/s, 1.3 us/delivery, 130 us/say (2.1x bare uWS), p99 180 ms, 1.9x bare uWS, lost 0` */
export function fanoutSummary(result: FanoutResult, shape: string, baseline?: FanoutResult): string {
  const usPerDelivery = serverUsPerDelivery(result);
  const ratio = completionRatio(result, baseline);
  return [
    `${result.target} ${shape}, ${authLabel(result)}: ${result.completionSeconds === undefined ? `incomplete (${result.ended})` : `${result.completionSeconds.toFixed(2)} s`}`,
    `${result.deliveriesPerSecond === undefined ? '-' : Math.round(result.deliveriesPerSecond)} deliveries/s`,
    `${usPerDelivery === undefined ? '-' : usPerDelivery.toFixed(2)} us/delivery`,
    usPerSayText(result, baseline),
    `p99 ${formatMs(result.latencyMs.p99)} ms`,
    ...(ratio === undefined ? [] : [`${ratio.toFixed(2)}x ${BASELINE}`]),
    `lost ${result.lost}`,
    ...(errorCount(result) > 0 ? [`errors ${errorCount(result)}`] : []),
  ].join(', ');
}

/** e.g. `warren idle 10000, auth on: 3.1 KiB/conn (1.20x bare uWS), 2500 accepts/s (0.81x bare uWS), /debug/top 6.2 ms CPU, idle 1.4% CPU` */
export function idleSummary(result: IdleResult, baseline?: IdleResult): string {
  const versus = (figure: (r: IdleResult) => number) => (baseline ? ` (${(figure(result) / figure(baseline)).toFixed(2)}x ${BASELINE})` : '');
  const { observer } = result;
  return [
    `warren idle ${result.connections}, ${authLabel(result)}: ${(result.rssPerConnectionBytes / 1024).toFixed(1)} KiB/conn${versus((r) => r.rssPerConnectionBytes)}`,
    `${Math.round(result.acceptsPerSecond)} accepts/s${versus((r) => r.acceptsPerSecond)}`,
    // The dearest sort: the issue's bound is on every one.
    ...(observer ? [`/debug/top ${formatMs(Math.max(...Object.values(observer.top).map((cost) => cost.cpuMs)))} ms CPU`, `idle ${observer.idleCpuPercent.toFixed(1)}% CPU (${observer.observedCpuPercent.toFixed(1)}% observed)`] : []),
  ].join(', ');
}

export function completionRatio(result: FanoutResult, baseline?: FanoutResult): number | undefined {
  if (baseline?.completionSeconds === undefined || result.completionSeconds === undefined) return undefined;
  return result.completionSeconds / baseline.completionSeconds;
}

export function describeFanout(result: FanoutResult, baseline?: FanoutResult): string {
  const us = (seconds: number) => `${((seconds * 1e6) / Math.max(1, result.delivered)).toFixed(2)} µs/delivery`;
  const cpu = Object.entries(result.cpuSeconds).map(([label, seconds]) => `${label} ${seconds.toFixed(2)} s (${us(seconds)})`);
  const total = serverUsPerDelivery(result);
  const perSay = serverUsPerSay(result);
  const { p50, p95, p99, max } = result.latencyMs;
  const lines = [
    `${result.target}${result.uws ? ` (uWS ${result.uws})` : ''}, ${authLabel(result)}: ${result.ended}`,
    `  completion   ${result.completionSeconds === undefined ? '- (not every delivery came)' : `${result.completionSeconds.toFixed(3)} s after the start signal`} (connecting took ${result.connectSeconds.toFixed(2)} s)`,
    `  throughput   ${result.deliveriesPerSecond === undefined ? '-' : Math.round(result.deliveriesPerSecond).toLocaleString('en-US')} deliveries/s`,
    `  latency      p50 ${formatMs(p50)} ms, p95 ${formatMs(p95)} ms, p99 ${formatMs(p99)} ms, max ${formatMs(max)} ms`,
    `  server CPU   ${cpu.length > 0 ? cpu.join(', ') : 'not measured (give --pid)'}${cpu.length > 1 && total !== undefined ? `; total ${total.toFixed(2)} µs/delivery` : ''}${perSay === undefined ? '' : `; ${perSay.toFixed(2)} µs per say (${result.says.toLocaleString('en-US')} says)`}`,
    `  load gen CPU ${result.loadGeneratorCpuSeconds.toFixed(2)} s (${us(result.loadGeneratorCpuSeconds)})`,
    `  peak RSS     ${Object.entries(result.peakRssBytes).map(([label, bytes]) => `${label} ${mib(bytes)}`).join(', ') || '-'}`,
    `  delivered    ${result.delivered.toLocaleString('en-US')} of ${result.expected.toLocaleString('en-US')}, lost ${result.lost}, acks ${result.acks}, errors ${formatErrors(result.errors)}`,
  ];
  const ratio = completionRatio(result, baseline);
  const baselineUs = baseline && serverUsPerDelivery(baseline);
  const baselinePerSay = baseline && serverUsPerSay(baseline);
  if (ratio !== undefined) {
    lines.push(
      `  vs ${BASELINE}  ${ratio.toFixed(2)}x the completion time${total !== undefined && baselineUs ? `, ${(total / baselineUs).toFixed(2)}x the server CPU per delivery` : ''}` +
        `${perSay !== undefined && baselinePerSay ? `, ${(perSay / baselinePerSay).toFixed(2)}x per say` : ''}`,
    );
  }
  return lines.join('\n');
}

export function describeIdle(result: IdleResult, baseline?: IdleResult): string {
  const perAccept = (r: IdleResult) => (r.cpuUsPerAccept === undefined ? 'not measured (give --pid)' : `${r.cpuUsPerAccept.toFixed(0)} µs per connection`);
  const lines = [
    `${result.target}, ${authLabel(result)}: ${result.connections} idle connections (opened in ${result.connectSeconds.toFixed(1)} s, worker threads' start included)`,
    `  accepted     ${Math.round(result.acceptsPerSecond).toLocaleString('en-US')} connections/s: ${result.acceptSeconds.toFixed(3)} s from the first connect attempt to the last welcome, at most ${result.connectsInFlight} handshakes in flight`,
    `  server CPU   ${perAccept(result)} while accepting`,
    `  RSS          ${mib(result.rssBeforeBytes)} before, ${mib(result.rssAfterBytes)} after: ${(result.rssPerConnectionBytes / 1024).toFixed(2)} KiB per connection`,
    `  heap         ${result.heapPerConnectionBytes === undefined ? 'not available' : `${(result.heapPerConnectionBytes / 1024).toFixed(2)} KiB per connection`}`,
    ...(result.observer ? describeObserver(result.observer) : []),
  ];
  if (baseline) {
    lines.push(
      `  vs ${BASELINE}  ${((result.rssPerConnectionBytes - baseline.rssPerConnectionBytes) / 1024).toFixed(2)} KiB per connection more (${(result.rssPerConnectionBytes / baseline.rssPerConnectionBytes).toFixed(2)}x), ` +
        `${(result.acceptsPerSecond / baseline.acceptsPerSecond).toFixed(2)}x the accepts/s`,
    );
  }
  return lines.join('\n');
}

/** The lines of what observing the idle node cost it (observer.ts). */
function describeObserver({ n, actors, idleSeconds, idleCpuPercent, observedCpuPercent, top }: ObserverCost): string[] {
  const sorts = Object.entries(top).map(([by, cost]) => `by ${by} ${formatMs(cost.cpuMs)} ms CPU, ${formatMs(cost.wallMs.mean)} ms wall (max ${formatMs(cost.wallMs.max)})`);
  const requests = Object.values(top)[0]?.requests ?? 0;
  return [
    `  idle CPU     ${idleCpuPercent.toFixed(2)}% of a core over ${idleSeconds} s with nothing asked (the sampler's point a second, and the node's timers); ` +
      `${observedCpuPercent.toFixed(2)}% while observed (the sampler's walk of ${actors.toLocaleString('en-US')} actors each second for their rates)`,
    `  /debug/top   n=${n}, ${requests} requests each, one after the other: ${sorts.join('; ')} (target: under ${TOP_TARGET_MS} ms of daemon CPU)`,
  ];
}

/** e.g. `warren/local storm 1000x100: 1000/1000 recovered in 1.23 s (p50 610 ms, p99 1100 ms, max 1200 ms), event-loop lag max 80 ms, daemon CPU 0.91 s` */
export function stormSummary(result: StormResult): string {
  const { recovered, clients, recoveryMs, eventLoopLag } = result;
  const failures = Object.entries(result.outcomes).filter(([outcome]) => outcome !== RECOVERED);
  return [
    `${result.target} storm ${clients}x${result.messages}: ${recovered}/${clients} recovered` +
      (result.stormSeconds === undefined ? '' : ` in ${result.stormSeconds.toFixed(2)} s`) +
      (recovered > 0 ? ` (p50 ${formatMs(recoveryMs.p50)} ms, p99 ${formatMs(recoveryMs.p99)} ms, max ${formatMs(recoveryMs.max)} ms)` : ''),
    ...(failures.length > 0 ? [`FAILED: ${formatErrors(Object.fromEntries(failures))}`] : []),
    `event-loop lag max ${eventLoopLag ? formatMs(eventLoopLag.maxMs) : '-'} ms`,
    `daemon CPU ${result.cpuSeconds['daemon'] === undefined ? '-' : result.cpuSeconds['daemon'].toFixed(2)} s`,
  ].join(', ');
}

export function describeStorm(result: StormResult): string {
  const { recoveryMs: r, welcomeMs: w, eventLoopLag: lag } = result;
  const replays = result.recovered * result.messages;
  const cpu = Object.entries(result.cpuSeconds).map(([label, seconds]) => `${label} ${seconds.toFixed(2)} s${replays > 0 ? ` (${((seconds * 1e6) / replays).toFixed(2)} µs per replay)` : ''}`);
  return [
    `${result.target}: reconnect storm, ${result.clients} clients in room ${result.room}, ${result.messages} messages missed each`,
    `  recovered    ${result.recovered} of ${result.clients}: ${formatErrors(result.outcomes)}; then ${result.live} got the live message after the storm, and nothing else`,
    `  storm        ${result.stormSeconds === undefined ? '- (not every client recovered)' : `${result.stormSeconds.toFixed(3)} s`} from the first reconnect to the last client recovered (target: 2 s)`,
    `  per client   recovered after p50 ${formatMs(r.p50)} ms, p99 ${formatMs(r.p99)} ms, max ${formatMs(r.max)} ms; welcome after p50 ${formatMs(w.p50)} ms, p99 ${formatMs(w.p99)} ms, max ${formatMs(w.max)} ms`,
    `  event loop   ${lag ? `lag max ${formatMs(lag.maxMs)} ms, p99 ${formatMs(lag.p99Ms)} ms, mean ${formatMs(lag.meanMs)} ms over the storm (target: under 100 ms)` : 'not measured (no metrics URL)'}`,
    `  idle loop    lag max ${formatMs(result.idleLoopLag.maxMs)} ms, p99 ${formatMs(result.idleLoopLag.p99Ms)} ms on the bench's own idle main thread meanwhile: the machine's share`,
    `  daemon says  ${result.daemonRecoveries ? formatErrors(result.daemonRecoveries) : '-'} (warren_recoveries_total over the storm)`,
    `  server CPU   ${cpu.join(', ') || 'not measured (give --pid)'}`,
    `  load gen CPU ${result.loadGeneratorCpuSeconds.toFixed(2)} s (connecting the ${result.clients} clients first took ${result.connectSeconds.toFixed(2)} s)`,
  ].join('\n');
}

/**
 * A join's own cost: the median of the splits in which the diff came after
 * it was read (undefined when none did); the first join after a diff, or
 * the `next` one in the same window.
 */
export function joinAloneUs(result: PresenceResult, next = false): number | undefined {
  const separated = result.splits.filter((split) => split.separated);
  return separated.length === 0 ? undefined : median(separated.map((split) => (next ? split.nextJoinUs : split.joinUs)));
}

/** The diff's fan-out to every other member, µs: the median over the splits. */
export function fanOutUs(result: PresenceResult): number {
  return median(result.splits.map((split) => split.fanOutUs));
}

/** e.g. `warren/local presence 10000: join alone 28 µs (target 50: met), last join with its diff's fan-out 2310 µs, ...` */
export function presenceSummary(result: PresenceResult, baseline?: PresenceResult): string {
  const alone = joinAloneUs(result);
  const versus = (figure: (r: PresenceResult) => number | undefined) => {
    const [ours, theirs] = [figure(result), baseline && figure(baseline)];
    return ours !== undefined && theirs ? ` (${(ours / theirs).toFixed(2)}x ${BASELINE})` : '';
  };
  const { coalescing: c } = result;
  return [
    `${result.target} presence ${result.clients}: join alone ${alone === undefined ? '- (never separated from its diff)' : `${us(alone)} µs${versus(joinAloneUs)} (target ${JOIN_TARGET_US}: ${alone < JOIN_TARGET_US ? 'met' : 'NOT met'}), the next in its window ${us(joinAloneUs(result, true)!)} µs${versus((r) => joinAloneUs(r, true))}`}`,
    `last join with its diff's fan-out ${us(result.last.totalUs)} µs${versus((r) => r.last.totalUs)}`,
    `joins ${joinRange(result.early)} ${us(result.early.usPerJoin)} µs, ${joinRange(result.late)} ${us(result.late.usPerJoin)} µs each${versus((r) => r.late.usPerJoin)}`,
    `diffs at most ${c.observer.maxInSecond}/s, min gap ${formatMs(c.observer.minGapMs)} ms: ${coalescingVerdict(result, baseline)}`,
    ...(Object.keys(result.errors).length > 0 ? [`errors ${formatErrors(result.errors)}`] : []),
  ].join(', ');
}

export function describePresence(result: PresenceResult, baseline?: PresenceResult): string {
  const window = (w: JoinWindow) =>
    `  joins ${joinRange(w).padEnd(11)} ${us(w.usPerJoin)} µs per join (${Object.entries(w.cpuUs).map(([label, cpu]) => `${label} ${(cpu / 1000).toFixed(1)} ms`).join(', ')}) over ${w.seconds.toFixed(2)} s; ` +
    `${w.diffFrames.toLocaleString('en-US')} diff frames delivered meanwhile, their fan-outs included`;
  const alone = joinAloneUs(result);
  const separated = result.splits.filter((split) => split.separated).length;
  const { last, coalescing: c } = result;
  const seen = last.presence ? `its presence frame: users ${last.presence.users}, ${last.presence.listed} listed${last.presence.truncated ? ', truncated' : ''}` : 'its presence frame was not seen';
  const lines = [
    `${result.target}: ${result.clients} connections join ${result.room} with presence, each from a room of its own (connecting took ${result.connectSeconds.toFixed(1)} s)`,
    window(result.early),
    window(result.late),
    `  growth       ${(result.late.usPerJoin / result.early.usPerJoin).toFixed(2)}x the CPU per join from the first joins to the last (the same cost whatever the room's size: 1x)`,
    `  last join    ${us(last.totalUs)} µs for the join AND its diff's fan-out to the ${result.clients - 1} others, the room quiet for a second before (the diff is due at once); ${seen}`,
    `  join alone   ${alone === undefined ? '-' : `${us(alone)} µs`}: the last two clients left and joined again at once, their diff held by the window; the first join's, median of ${separated} of ${result.splits.length} (${result.splits.map((split) => `${us(split.joinUs)}${split.separated ? '' : '*'}`).join(', ')} µs; * the diff came first)` +
      `${alone === undefined ? '' : `; target under ${JOIN_TARGET_US} µs: ${alone < JOIN_TARGET_US ? 'met' : 'NOT met'}`}`,
    `  next join    ${alone === undefined ? '-' : `${us(joinAloneUs(result, true)!)} µs`}: the second of the two, in the same window (${result.splits.map((split) => `${us(split.nextJoinUs)}${split.separated ? '' : '*'}`).join(', ')} µs): what the first pays for the diff before it is the difference`,
    `  diff fan-out ${us(fanOutUs(result))} µs for one diff to ${result.clients - 1} members (${(fanOutUs(result) / (result.clients - 1)).toFixed(2)} µs per member), median of the same ${result.splits.length}: what coalescing amortises over a burst of joins`,
    `  coalescing   client 1, in a thread of its own, got at most ${c.observer.maxInSecond} diffs in a second, two at least ${formatMs(c.observer.minGapMs)} ms apart ` +
      `(bound: ${MAX_DIFFS_PER_SECOND} per second, ${DIFF_WINDOW_MS} ms): ${coalescingVerdict(result, baseline)}`,
    `               any member: at most ${c.anyMember.maxInSecond} in a second, two at least ${formatMs(c.anyMember.minGapMs)} ms apart, as read by threads of thousands of sockets (their read delays included); ${c.diffs.toLocaleString('en-US')} diffs received in all`,
    ...(result.scrapeUs === undefined ? [] : [`  a scrape    of /metrics costs this server ${us(result.scrapeUs)} µs: the CPU is read from /proc/<pid>/task/*/schedstat instead`]),
    `  errors       ${formatErrors(result.errors)}`,
  ];
  if (baseline) {
    const ratio = (ours: number | undefined, theirs: number | undefined) => (ours !== undefined && theirs ? `${(ours / theirs).toFixed(2)}x` : '-');
    lines.push(
      `  vs ${BASELINE}  ${ratio(result.early.usPerJoin, baseline.early.usPerJoin)} and ${ratio(result.late.usPerJoin, baseline.late.usPerJoin)} the CPU per join (first and last joins), ` +
        `${ratio(alone, joinAloneUs(baseline))} the join alone, ${ratio(joinAloneUs(result, true), joinAloneUs(baseline, true))} the next join, ${ratio(fanOutUs(result), fanOutUs(baseline))} the fan-out, ${ratio(last.totalUs, baseline.last.totalUs)} the last join with its fan-out`,
    );
  }
  return lines.join('\n');
}

/**
 * The arrivals against the bound. A client sees a diff some time after the
 * server flushed it, and not always the same time, so two diffs flushed
 * 250 ms apart can arrive closer: outside the bound strictly but no closer
 * than the baseline's, whose timer never publishes two within 250 ms, is
 * that delivery jitter, measured in the same run.
 */
export function coalescingVerdict(result: PresenceResult, baseline?: PresenceResult): string {
  const ours = result.coalescing.observer;
  if (result.coalescing.withinBound) return 'within the bound';
  const theirs = baseline?.coalescing.observer;
  if (theirs && ours.minGapMs >= theirs.minGapMs && ours.maxInSecond <= Math.max(MAX_DIFFS_PER_SECOND, theirs.maxInSecond)) {
    return `within the bound but for delivery jitter (${BASELINE}, whose timer waits ${DIFF_WINDOW_MS} ms, saw ${theirs.maxInSecond}/s and ${formatMs(theirs.minGapMs)} ms)`;
  }
  return 'OUTSIDE the bound';
}

function joinRange(w: JoinWindow): string {
  return `${w.from + 1}-${w.to}`;
}

/** µs: whole above 10, one decimal below. */
function us(value: number): string {
  return formatMs(value);
}

/** Writes `<name>.json` (and `<name>.svg` for fanout runs) under `dir`; returns their paths. */
export function writeResults(dir: string, name: string, document: Record<string, unknown>, chart?: { title: string; results: readonly FanoutResult[] }): string[] {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${name}.json`);
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg() };
  // A secret given to the bench (--auth-secret, AUTH_HMAC_SECRET) may be a real daemon's: never on disk.
  const withoutSecret = (key: string, value: unknown) => (key === 'authSecret' ? undefined : value);
  writeFileSync(json, `${JSON.stringify({ ...document, machine, at: new Date().toISOString() }, withoutSecret, 2)}\n`);
  if (!chart) return [json];
  const svg = join(dir, `${name}.svg`);
  writeFileSync(svg, renderChart(chart.title, chart.results.map((result) => ({ label: result.target, series: result.series }))));
  return [json, svg];
}

function errorCount(result: FanoutResult): number {
  return Object.values(result.errors).reduce((a, b) => a + b, 0);
}

function formatErrors(errors: Readonly<Record<string, number>>): string {
  const entries = Object.entries(errors);
  return entries.length === 0 ? 'none' : entries.map(([code, count]) => `${code} ×${count}`).join(', ');
}

/** Milliseconds: whole above 10, one decimal below. */
export function formatMs(ms: number): string {
  return Number.isNaN(ms) ? '-' : ms >= 10 ? String(Math.round(ms)) : ms.toFixed(1);
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
