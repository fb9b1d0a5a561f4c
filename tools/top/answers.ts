/**
 * The admin port's answers that `npm run top` reads (issue 16's contract:
 * GET /debug/top, GET /debug/history, GET /debug/actor), as far as it reads them.
 */

export const SORT_KEYS = ['mailbox', 'rate', 'restarts', 'processed'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface TopRow {
  readonly path: string;
  readonly name: string;
  readonly kind: 'worker' | 'supervisor';
  readonly behaviour: string;
  readonly mailbox: number;
  /** Messages handled per second over the sampler's last interval. */
  readonly rate: number;
  readonly processed: number;
  readonly restarts: number;
}

export interface TopAnswer {
  readonly node: string;
  readonly at: string;
  readonly by: SortKey;
  readonly n: number;
  readonly intervalMs: number;
  /** Every actor of the tree. */
  readonly actors: number;
  readonly matched: number;
  readonly top: readonly TopRow[];
}

export const SERIES = ['connections', 'messages', 'deliveries', 'actorMessages', 'lagMs', 'lagMaxMs', 'relayMailbox', 'rss', 'heapUsed'] as const;
export type SeriesName = (typeof SERIES)[number];

export interface Mark {
  readonly at: number;
  readonly kind: 'broker' | 'restart' | 'crash';
  readonly state?: string;
  readonly path?: string;
  readonly reason?: string;
}

export interface HistoryAnswer {
  readonly node: string;
  readonly intervalMs: number;
  readonly capacity: number;
  /** One point per second, oldest first, all of the same length. */
  readonly series: { readonly at: readonly number[] } & Readonly<Record<SeriesName, readonly number[]>>;
  readonly marks: readonly Mark[];
}

export interface ActorAnswer {
  readonly node: string;
  readonly actor: { readonly path: string; readonly info: Readonly<Record<string, unknown>> };
}
