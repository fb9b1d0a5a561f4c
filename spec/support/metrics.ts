import type { Daemon } from './daemon';

/** Prometheus text format -> `name{labels}` -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${line}`);
    samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

/** The daemon's /metrics, parsed. */
export async function scrapeMetrics(daemon: Daemon): Promise<Map<string, number>> {
  return parseMetrics(await (await fetch(daemon.adminUrl('/metrics'))).text());
}
