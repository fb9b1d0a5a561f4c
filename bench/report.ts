/**
 * What a bench run prints and keeps: a readable report per target, the
 * one-line summary scripts read (always the last line), and the JSON result
 * and SVG chart under the results folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { renderChart } from './chart';
import type { FanoutResult, IdleResult } from './measure';

const BASELINE = 'bare uWS';

/** Server CPU (every measured process) per delivery, µs; undefined when no process was measured. */
export function serverUsPerDelivery(result: FanoutResult): number | undefined {
  const groups = Object.values(result.cpuSeconds);
  return groups.length === 0 || result.delivered === 0 ? undefined : (groups.reduce((a, b) => a + b, 0) * 1e6) / result.delivered;
}

/** e.g. `warren/rabbitmq 100x100: 1.42 s, 704000 deliveries/s, 1.3 us/delivery, p99 180 ms, 1.9x bare uWS, lost 0` */
export function fanoutSummary(result: FanoutResult, shape: string, baseline?: FanoutResult): string {
  const usPerDelivery = serverUsPerDelivery(result);
  const ratio = completionRatio(result, baseline);
  return [
    `${result.target} ${shape}: ${result.completionSeconds === undefined ? `incomplete (${result.ended})` : `${result.completionSeconds.toFixed(2)} s`}`,
    `${result.deliveriesPerSecond === undefined ? '-' : Math.round(result.deliveriesPerSecond)} deliveries/s`,
    `${usPerDelivery === undefined ? '-' : usPerDelivery.toFixed(2)} us/delivery`,
    `p99 ${formatMs(result.latencyMs.p99)} ms`,
    ...(ratio === undefined ? [] : [`${ratio.toFixed(2)}x ${BASELINE}`]),
    `lost ${result.lost}`,
    ...(errorCount(result) > 0 ? [`errors ${errorCount(result)}`] : []),
  ].join(', ');
}

/** e.g. `warren idle 10000: 3.1 KiB/conn, 1.2x bare uWS` */
export function idleSummary(result: IdleResult, baseline?: IdleResult): string {
  const ratio = baseline ? result.rssPerConnectionBytes / baseline.rssPerConnectionBytes : undefined;
  return `warren idle ${result.connections}: ${(result.rssPerConnectionBytes / 1024).toFixed(1)} KiB/conn${ratio === undefined ? '' : `, ${ratio.toFixed(2)}x ${BASELINE}`}`;
}

export function completionRatio(result: FanoutResult, baseline?: FanoutResult): number | undefined {
  if (baseline?.completionSeconds === undefined || result.completionSeconds === undefined) return undefined;
  return result.completionSeconds / baseline.completionSeconds;
}

export function describeFanout(result: FanoutResult, baseline?: FanoutResult): string {
  const us = (seconds: number) => `${((seconds * 1e6) / Math.max(1, result.delivered)).toFixed(2)} µs/delivery`;
  const cpu = Object.entries(result.cpuSeconds).map(([label, seconds]) => `${label} ${seconds.toFixed(2)} s (${us(seconds)})`);
  const total = serverUsPerDelivery(result);
  const { p50, p95, p99, max } = result.latencyMs;
  const lines = [
    `${result.target}${result.uws ? ` (uWS ${result.uws})` : ''}: ${result.ended}`,
    `  completion   ${result.completionSeconds === undefined ? '- (not every delivery came)' : `${result.completionSeconds.toFixed(3)} s after the start signal`} (connecting took ${result.connectSeconds.toFixed(2)} s)`,
    `  throughput   ${result.deliveriesPerSecond === undefined ? '-' : Math.round(result.deliveriesPerSecond).toLocaleString('en-US')} deliveries/s`,
    `  latency      p50 ${formatMs(p50)} ms, p95 ${formatMs(p95)} ms, p99 ${formatMs(p99)} ms, max ${formatMs(max)} ms`,
    `  server CPU   ${cpu.length > 0 ? cpu.join(', ') : 'not measured (give --pid)'}${cpu.length > 1 && total !== undefined ? `; total ${total.toFixed(2)} µs/delivery` : ''}`,
    `  load gen CPU ${result.loadGeneratorCpuSeconds.toFixed(2)} s (${us(result.loadGeneratorCpuSeconds)})`,
    `  peak RSS     ${Object.entries(result.peakRssBytes).map(([label, bytes]) => `${label} ${mib(bytes)}`).join(', ') || '-'}`,
    `  delivered    ${result.delivered.toLocaleString('en-US')} of ${result.expected.toLocaleString('en-US')}, lost ${result.lost}, acks ${result.acks}, errors ${formatErrors(result.errors)}`,
  ];
  const ratio = completionRatio(result, baseline);
  const baselineUs = baseline && serverUsPerDelivery(baseline);
  if (ratio !== undefined) {
    lines.push(`  vs ${BASELINE}  ${ratio.toFixed(2)}x the completion time${total !== undefined && baselineUs ? `, ${(total / baselineUs).toFixed(2)}x the server CPU per delivery` : ''}`);
  }
  return lines.join('\n');
}

export function describeIdle(result: IdleResult, baseline?: IdleResult): string {
  const lines = [
    `${result.target}: ${result.connections} idle connections (opened in ${result.connectSeconds.toFixed(1)} s)`,
    `  RSS          ${mib(result.rssBeforeBytes)} before, ${mib(result.rssAfterBytes)} after: ${(result.rssPerConnectionBytes / 1024).toFixed(2)} KiB per connection`,
    `  heap         ${result.heapPerConnectionBytes === undefined ? 'not available' : `${(result.heapPerConnectionBytes / 1024).toFixed(2)} KiB per connection`}`,
  ];
  if (baseline) lines.push(`  vs ${BASELINE}  ${((result.rssPerConnectionBytes - baseline.rssPerConnectionBytes) / 1024).toFixed(2)} KiB per connection more`);
  return lines.join('\n');
}

/** Writes `<name>.json` (and `<name>.svg` for fanout runs) under `dir`; returns their paths. */
export function writeResults(dir: string, name: string, document: Record<string, unknown>, chart?: { title: string; results: readonly FanoutResult[] }): string[] {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${name}.json`);
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg() };
  writeFileSync(json, `${JSON.stringify({ ...document, machine, at: new Date().toISOString() }, null, 2)}\n`);
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
