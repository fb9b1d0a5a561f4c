/**
 * recon's proc_count and proc_window for warren's processes: the N processes
 * with the longest mailboxes, the highest message rates or the most
 * restarts, as observer's process list sorts them.
 *
 * The answer has to stay cheap on a node with 10,000 sockets (20,000
 * processes): one walk of the live tree that reads three numbers per
 * process and keeps a sorted list of at most N, so nothing is built for a
 * process that does not make the list (not even its path), and no
 * behaviour's `info` is asked for.
 *
 * Rates come from the sampler (lib/actors/sampler.ts), which calls
 * `sampleRates` once per interval while someone looks: each process keeps
 * what it had handled at the last sample and how many it handled in the
 * interval before, two small integers on its record, so a rate costs no map
 * and no allocation. A walk is memory-bound (some 0.5 µs per process, the
 * cache misses of a dozen objects each), so nobody pays it while nobody
 * asks.
 */
import type { Process, Ref } from './process';
import { rateOf, walk } from './sys';

export const TOP_KEYS = ['mailbox', 'rate', 'restarts', 'processed'] as const;
export type TopKey = (typeof TOP_KEYS)[number];

export interface TopQuery {
  readonly by: TopKey;
  readonly n: number;
  /** Lower-case text that a process's path or behaviour must contain. */
  readonly filter?: string;
  /** The sampler's last interval, to turn counts into rates; 0 when there was none yet. */
  readonly intervalMs: number;
}

/** One process, as /debug/top lists it. */
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
  /** Every process in the tree. */
  readonly actors: number;
  /** The processes that match the filter (all of them without one). */
  readonly matched: number;
  readonly top: TopRow[];
}

/**
 * The `n` items with the highest keys of all those offered, highest first,
 * equal keys in the order offered: a sorted array of at most n, so that
 * most offers (20,000 processes, a list of 50) cost one comparison.
 */
export class TopList<T> {
  private readonly entries: Array<{ readonly key: number; readonly item: T }> = [];

  constructor(private readonly n: number) {}

  /** Whether an item with this key would make the list (check before building the item). */
  takes(key: number): boolean {
    return this.entries.length < this.n || key > this.entries[this.n - 1]!.key;
  }

  add(key: number, item: T): void {
    if (!this.takes(key)) return;
    // After every entry with at least this key: an equal one offered earlier stays first.
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.entries[middle]!.key >= key) low = middle + 1;
      else high = middle;
    }
    this.entries.splice(low, 0, { key, item });
    if (this.entries.length > this.n) this.entries.pop();
  }

  get items(): T[] {
    return this.entries.map((entry) => entry.item);
  }
}

/** The top `n` processes below `root` by `by`, highest first; ties keep tree order. */
export function top(root: Ref, { by, n, filter, intervalMs }: TopQuery): TopAnswer {
  const best = new TopList<{ readonly proc: Process; readonly mailbox: number }>(n);
  let actors = 0;
  let matched = 0;
  walk(root, (proc, mailbox) => {
    actors++;
    if (filter && !proc.path.toLowerCase().includes(filter) && !proc.behaviour.name.toLowerCase().includes(filter)) return;
    matched++;
    const key = keyOf(by, proc, mailbox);
    if (best.takes(key)) best.add(key, { proc, mailbox });
  });
  return { actors, matched, top: best.items.map(({ proc, mailbox }) => row(proc, mailbox, intervalMs)) };
}

function keyOf(by: TopKey, proc: Process, mailbox: number): number {
  switch (by) {
    case 'mailbox':
      return mailbox;
    case 'rate':
      return proc.handledInInterval; // the same interval for all: the count orders as the rate does
    case 'restarts':
      return proc.link.restarts;
    case 'processed':
      return proc.processed;
  }
}

function row(proc: Process, mailbox: number, intervalMs: number): TopRow {
  const { behaviour } = proc;
  return {
    path: proc.path,
    name: proc.link.name,
    kind: behaviour.kind,
    behaviour: behaviour.name,
    mailbox,
    rate: rateOf(proc, intervalMs),
    processed: proc.processed,
    restarts: proc.link.restarts,
  };
}

export interface RateSample {
  readonly actors: number;
  /** Messages handled by the processes since the previous sample. */
  readonly handled: number;
}

/** Ends an interval: every process's count since the previous sample becomes its rate. */
export function sampleRates(root: Ref): RateSample {
  let actors = 0;
  let handled = 0;
  walk(root, (proc) => {
    actors++;
    // A restarted process is a new record that starts from 0.
    proc.handledInInterval = proc.processed - proc.processedAtSample;
    proc.processedAtSample = proc.processed;
    handled += proc.handledInInterval;
  });
  return { actors, handled };
}
