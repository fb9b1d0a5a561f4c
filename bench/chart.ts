/**
 * The run as an SVG chart, hand-written (no dependency): latency (p50 solid,
 * p99 dashed) over the run on top, delivery rate below, one colour per target,
 * time from the start signal on the x axis.
 */
import type { SeriesPoint } from './stats';

export interface ChartLine {
  readonly label: string;
  readonly series: readonly SeriesPoint[];
}

const WIDTH = 900;
const PANEL_HEIGHT = 230;
const MARGIN = { left: 80, right: 20, top: 50, gap: 60, bottom: 60 };
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];

interface Panel {
  readonly top: number;
  readonly title: string;
  readonly unit: string;
  readonly yMax: number;
  readonly lines: ReadonlyArray<{ colour: string; dashed: boolean; points: Array<[number, number]> }>;
}

export function renderChart(title: string, lines: readonly ChartLine[]): string {
  const step = (series: readonly SeriesPoint[]) => (series[1]?.atMs ?? 1) - (series[0]?.atMs ?? 0);
  const middle = (point: SeriesPoint, series: readonly SeriesPoint[]) => (point.atMs + step(series) / 2) / 1000;
  const xMax = niceCeiling(Math.max(...lines.map((line) => ((line.series.at(-1)?.atMs ?? 0) + step(line.series)) / 1000)));
  const latencyLines = lines.flatMap((line, i) =>
    (['p50', 'p99'] as const).map((p) => ({
      colour: COLOURS[i % COLOURS.length]!,
      dashed: p === 'p99',
      points: line.series.flatMap((point): Array<[number, number]> => (point.latency ? [[middle(point, line.series), point.latency[p]]] : [])),
    })),
  );
  const rateLines = lines.map((line, i) => ({
    colour: COLOURS[i % COLOURS.length]!,
    dashed: false,
    points: line.series.map((point): [number, number] => [middle(point, line.series), point.deliveriesPerSecond]),
  }));
  const yMaxOf = (panelLines: Panel['lines']) => niceCeiling(Math.max(1, ...panelLines.flatMap((line) => line.points.map(([, y]) => y))));
  const panels: Panel[] = [
    { top: MARGIN.top, title: 'latency, publish to receive (p50 solid, p99 dashed)', unit: 'ms', yMax: yMaxOf(latencyLines), lines: latencyLines },
    { top: MARGIN.top + PANEL_HEIGHT + MARGIN.gap, title: 'deliveries per second', unit: '/s', yMax: yMaxOf(rateLines), lines: rateLines },
  ];
  const height = MARGIN.top + 2 * PANEL_HEIGHT + MARGIN.gap + MARGIN.bottom;
  const legend = lines.map((line, i) => `<text x="${MARGIN.left + 10 + i * 220}" y="${height - 15}" fill="${COLOURS[i % COLOURS.length]}">■ ${escape(line.label)}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`,
    ...panels.map((panel) => drawPanel(panel, xMax)),
    `<text x="${MARGIN.left + (WIDTH - MARGIN.left - MARGIN.right) / 2}" y="${height - 35}" text-anchor="middle">seconds after the start signal</text>`,
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}

function drawPanel(panel: Panel, xMax: number): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const x = (value: number) => MARGIN.left + (value / xMax) * plotWidth;
  const y = (value: number) => panel.top + PANEL_HEIGHT - (value / panel.yMax) * PANEL_HEIGHT;
  const parts = [`<text x="${MARGIN.left}" y="${panel.top - 8}">${escape(panel.title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const value = (panel.yMax * i) / 4;
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(value)}" y2="${y(value)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(value) + 4}" text-anchor="end">${formatTick(value)}${panel.unit === 'ms' ? ' ms' : ''}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const value = (xMax * i) / 5;
    parts.push(`<text x="${x(value)}" y="${panel.top + PANEL_HEIGHT + 16}" text-anchor="middle">${formatTick(value)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${panel.top}" width="${plotWidth}" height="${PANEL_HEIGHT}" fill="none" stroke="#888"/>`);
  for (const line of panel.lines) {
    if (line.points.length === 0) continue;
    const points = line.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="${line.colour}" stroke-width="1.6"${line.dashed ? ' stroke-dasharray="5,3"' : ''}/>`);
  }
  return parts.join('\n');
}

/** The smallest 1, 2 or 5 × 10^n at or above `value`. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((m) => m * magnitude >= value * (1 - 1e-9)) ?? 10) * magnitude;
}

function formatTick(value: number): string {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toFixed(2)}k`;
  return String(+value.toFixed(2));
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
