/**
 * The node's figures over the last minutes, one point per sample, in a ring
 * buffer of fixed size (a column of doubles per figure: 10 minutes at one
 * point a second is some 50 KB, whatever the node's load), and the events
 * worth marking on a chart: broker state changes, crashes and restarts.
 * Written by the sampler process and read by the admin port, so a page
 * opened late still sees what happened before it.
 *
 * The application owns it, as an ETS table given to a supervisor would be
 * owned, so that the sampler's restarts (rest_for_one restarts it with any
 * sibling before it) lose nothing; for the same reason the marks are written
 * by event handlers of the application, not by the sampler.
 */
import type { ConnectionState } from './broker/adapter';
import { type ExitReason, formatReason } from './otp/exit_reason';
import { reports } from './otp/reports';
import type { Readiness } from './readiness';

export const FIGURES = [
  /** Open websockets (connection processes). */
  'connections',
  /** Chat messages this node accepted and published, per second. */
  'messages',
  /** Chat messages written to client sockets, per second. */
  'deliveries',
  /** Messages handled by all processes, per second. */
  'actorMessages',
  /** Event-loop delay over the interval, p99 and max, ms. */
  'lagMs',
  'lagMaxMs',
  /** Messages waiting in the relay's mailbox at the sample. */
  'relayMailbox',
  /** Resident set size and V8 heap in use, bytes. */
  'rss',
  'heapUsed',
] as const;
export type Figure = (typeof FIGURES)[number];

/** One sample: when (epoch ms) and every figure. */
export type Point = Readonly<Record<'at' | Figure, number>>;

export type Mark =
  | { readonly at: number; readonly kind: 'broker'; readonly state: string }
  | { readonly at: number; readonly kind: 'crash' | 'restart'; readonly path: string; readonly reason: string };

export interface SeriesSince {
  /** One array per figure and one of times, all as long, oldest first. */
  readonly series: Record<'at' | Figure, number[]>;
  readonly marks: Mark[];
}

const COLUMNS = ['at', ...FIGURES] as const;

export class NodeSeries {
  private readonly columns: Record<'at' | Figure, Float64Array>;
  private readonly marks: Mark[] = [];
  /** Where the next point goes, and how many are kept. */
  private next = 0;
  private size = 0;

  constructor(
    readonly capacity: number,
    private readonly markCapacity: number,
  ) {
    this.columns = Object.fromEntries(COLUMNS.map((column) => [column, new Float64Array(capacity)])) as Record<'at' | Figure, Float64Array>;
  }

  get points(): number {
    return this.size;
  }

  add(point: Point): void {
    for (const column of COLUMNS) this.columns[column][this.next] = point[column];
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  mark(mark: Mark): void {
    this.marks.push(mark);
    // A few hundred at most: shifting them is cheaper than it sounds, and rare.
    if (this.marks.length > this.markCapacity) this.marks.shift();
  }

  /** The points and marks after `since` (epoch ms; everything kept when 0). */
  since(since = 0): SeriesSince {
    const series = Object.fromEntries(COLUMNS.map((column) => [column, [] as number[]])) as Record<'at' | Figure, number[]>;
    const oldest = (this.next - this.size + this.capacity) % this.capacity;
    for (let offset = 0; offset < this.size; offset++) {
      const slot = (oldest + offset) % this.capacity;
      if (this.columns.at[slot]! <= since) continue;
      for (const column of COLUMNS) series[column].push(this.columns[column][slot]!);
    }
    return { series, marks: this.marks.filter((mark) => mark.at > since) };
  }
}

/** Ten minutes of points at the sampler's default interval of a second. */
export const POINTS = 600;
/** Enough for a bad ten minutes; a flood of restarts keeps its newest. */
export const MARKS = 200;

/** Marks broker state changes, crashes and restarts on `series` until the returned function is called. */
export function recordMarks(series: NodeSeries, readiness: Readiness): () => void {
  const onBroker = (state: ConnectionState) => series.mark({ at: Date.now(), kind: 'broker', state });
  const onCrash = (path: string, _behaviour: string, reason: ExitReason) => series.mark({ at: Date.now(), kind: 'crash', path, reason: formatReason(reason) });
  const onRestart = (path: string, _behaviour: string, reason: ExitReason) => series.mark({ at: Date.now(), kind: 'restart', path, reason: formatReason(reason) });
  readiness.changes.on('broker', onBroker);
  reports.on('crash', onCrash).on('restart', onRestart);
  return () => {
    readiness.changes.off('broker', onBroker);
    reports.off('crash', onCrash).off('restart', onRestart);
  };
}
