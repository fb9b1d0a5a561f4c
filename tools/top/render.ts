/**
 * One frame of `npm run top` as lines of text, from what the admin port
 * answered (a pure function of the view and the terminal's size, so it is
 * specced): a title, the node's figures with a sparkline of their last
 * minute, a line of notice (what went wrong, else the last restart, crash
 * or broker change), and the top actors in columns sized to the width.
 */
import type { Figure, Mark, TopAnswer, TopKey, TopRow } from './answers';
import { clock, fitNumber, grouped, keepEnd, keepStart, mebibytes, milliseconds, perSecond, sparkline } from './format';
import { RECENT_POINTS } from './recent';

export interface Size {
  readonly columns: number;
  /** Absent: no bound (one frame printed to a pipe); the table shows every row. */
  readonly rows?: number;
}

export interface Line {
  readonly text: string;
  /** How a terminal may set it off; the text alone says everything. */
  readonly style?: 'title' | 'heading' | 'alert';
}

export interface Figures {
  series(name: Figure): readonly number[];
  readonly marks: readonly Mark[];
}

export interface View {
  readonly admin: string;
  readonly by: TopKey;
  readonly intervalSeconds: number;
  readonly now: Date;
  readonly figures: Figures;
  /** The last answer of GET /debug/top, if one came. */
  readonly top?: TopAnswer;
  readonly broker?: string;
  /** What kept the last refresh from coming. */
  readonly problem?: string;
}

const KEYS_HINT = 'm r s p sort · q quit';
// A figure: its label, its value, a sparkline in what is left of the cell.
const LABEL_WIDTH = 14;
const VALUE_WIDTH = 12;
const MIN_CELL = 40;
// More figures on a line would leave each too short a sparkline.
const MAX_CELLS_PER_LINE = 3;
const MIN_SPARK = 4;
const GAP = '  ';
const MIN_PATH = 12;
const MAX_BEHAVIOUR = 16;

interface Cell {
  readonly label: string;
  readonly value: string;
  readonly series?: readonly number[];
}

interface Column {
  readonly title: string;
  readonly width: number;
  readonly sorts?: TopKey;
  readonly cell: (row: TopRow, width: number) => string;
}

export function renderFrame(view: View, size: Size): Line[] {
  const lines: Line[] = [{ text: title(view, size.columns), style: 'title' }, ...figureLines(view, size.columns).map((text) => ({ text })), { text: summary(view) }, notice(view)];
  const columns = tableColumns(view.top?.top ?? [], view.by, size.columns);
  lines.push({ text: columns.map((column, i) => align(column.title + (column.sorts === view.by ? '▼' : ''), column.width, i)).join(GAP), style: 'heading' });
  const room = size.rows === undefined ? Infinity : Math.max(0, size.rows - lines.length);
  for (const row of (view.top?.top ?? []).slice(0, room)) lines.push({ text: columns.map((column, i) => align(column.cell(row, column.width), column.width, i)).join(GAP) });
  return lines.map((line) => ({ ...line, text: line.text.slice(0, size.columns).trimEnd() }));
}

/** How many actors a frame of this size shows below its figures: the `n` to ask for. */
export function tableRows(size: Required<Size>): number {
  return Math.max(1, size.rows - (figureLineCount(size.columns) + 4));
}

function title(view: View, columns: number): string {
  const node = view.top ? ` · node ${view.top.node}` : '';
  const left = `warren top${node} · ${view.admin} · ${clock(view.now)} · every ${view.intervalSeconds} s`;
  const room = columns - left.length - KEYS_HINT.length;
  return room >= 2 ? `${left}${' '.repeat(room)}${KEYS_HINT}` : left;
}

/** The node's figures, each the latest point of its series; then the broker's state. */
const FIGURE_CELLS: ReadonlyArray<readonly [label: string, series: Figure, format: (value: number | undefined) => string]> = [
  ['connections', 'connections', grouped],
  ['chat msgs/s', 'messages', perSecond],
  ['deliveries/s', 'deliveries', perSecond],
  ['actor msgs/s', 'actorMessages', perSecond],
  ['lag p99', 'lagMs', milliseconds],
  ['lag max', 'lagMaxMs', milliseconds],
  ['relay mailbox', 'relayMailbox', grouped],
  ['rss', 'rss', mebibytes],
  ['heap used', 'heapUsed', mebibytes],
];
const CELLS = FIGURE_CELLS.length + 1;

function cells({ figures, broker }: View): Cell[] {
  return [
    ...FIGURE_CELLS.map(([label, name, format]): Cell => {
      const series = figures.series(name);
      return { label, value: format(series[series.length - 1]), series };
    }),
    { label: 'broker', value: broker ?? '-' },
  ];
}

function cellsPerLine(columns: number): number {
  return Math.max(1, Math.min(MAX_CELLS_PER_LINE, Math.floor(columns / MIN_CELL)));
}

function figureLineCount(columns: number): number {
  return Math.ceil(CELLS / cellsPerLine(columns));
}

function figureLines(view: View, columns: number): string[] {
  const perLine = cellsPerLine(columns);
  const width = Math.floor(columns / perLine);
  const spark = Math.min(RECENT_POINTS, width - LABEL_WIDTH - VALUE_WIDTH - GAP.length - 1);
  const drawn = cells(view).map(({ label, value, series }) => {
    const bars = series && series.length > 0 && spark >= MIN_SPARK ? ` ${sparkline(series, spark)}` : '';
    return `${label.padEnd(LABEL_WIDTH)}${value.padStart(VALUE_WIDTH)}${bars}`.padEnd(width);
  });
  const lines: string[] = [];
  for (let i = 0; i < drawn.length; i += perLine) lines.push(drawn.slice(i, i + perLine).join(''));
  return lines;
}

function summary({ top, by }: View): string {
  if (!top) return 'no answer from /debug/top yet';
  const rates = top.intervalMs > 0 ? `rates over ${(top.intervalMs / 1000).toFixed(1)} s` : 'no rates before the first sample';
  return `${grouped(top.actors)} actors · top ${top.top.length} by ${by} · ${rates} · at ${clock(Date.parse(top.at))}`;
}

function notice(view: View): Line {
  if (view.problem !== undefined) return { text: `${view.problem} (asking again every ${view.intervalSeconds} s)`, style: 'alert' };
  const mark = view.figures.marks[view.figures.marks.length - 1];
  return { text: mark ? `last event: ${describeMark(mark)}` : '' };
}

function describeMark(mark: Mark): string {
  const what = mark.kind === 'broker' ? `broker ${mark.state}` : `${mark.kind} ${mark.path}: ${mark.reason}`;
  return `${clock(mark.at)} ${what}`;
}

/**
 * PATH takes what the other columns leave (all it needs at most); where
 * even its least does not fit, figures go from the right, never the one
 * sorted by.
 */
function tableColumns(rows: readonly TopRow[], by: TopKey, columns: number): Column[] {
  const count = (title: string, width: number, sorts: TopKey, decimals = 0): Column => ({ title, width, sorts, cell: (row, w) => fitNumber(row[sorts], w, decimals) });
  const behaviourWidth = Math.min(MAX_BEHAVIOUR, Math.max('BEHAVIOUR'.length, ...rows.map((row) => row.behaviour.length)));
  const behaviour: Column = { title: 'BEHAVIOUR', width: behaviourWidth, cell: (row, w) => keepStart(row.behaviour, w) };
  let shown = [behaviour, count('MAILBOX', 8, 'mailbox'), count('MSGS/S', 9, 'rate', 1), count('PROCESSED', 11, 'processed'), count('RESTARTS', 9, 'restarts')];
  const widthOf = (some: readonly Column[]) => some.reduce((sum, column) => sum + GAP.length + column.width, 0);
  for (const column of [...shown].reverse()) {
    if (MIN_PATH + widthOf(shown) > columns && column.sorts !== undefined && column.sorts !== by) shown = shown.filter((kept) => kept !== column);
  }
  const longest = Math.max('PATH'.length, ...rows.map((row) => row.path.length));
  const path = Math.max(MIN_PATH, Math.min(longest, columns - widthOf(shown)));
  return [{ title: 'PATH', width: path, cell: (row, w) => keepEnd(row.path, w) }, ...shown];
}

/** The first two columns (path, behaviour) to the left, the figures to the right. */
function align(text: string, width: number, column: number): string {
  return column < 2 ? text.padEnd(width) : text.padStart(width);
}
