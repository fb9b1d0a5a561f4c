/**
 * The admin port's answers that `npm run top` reads (docs/observer.md), as
 * the daemon builds them: GET /debug/top, GET /debug/history and
 * GET /debug/actor.
 */
import type { SeriesSince } from '../../lib/node_series';
import type { ProcessInfo } from '../../lib/otp/sys';
import type { TopAnswer as Top, TopKey } from '../../lib/otp/top';

export { FIGURES, type Figure, type Mark } from '../../lib/node_series';
export { TOP_KEYS, type TopKey, type TopRow } from '../../lib/otp/top';

export interface TopAnswer extends Top {
  readonly node: string;
  /** ISO time of the walk. */
  readonly at: string;
  readonly by: TopKey;
  readonly n: number;
  /** The sampler's last interval, which the rates are over; 0 before its first. */
  readonly intervalMs: number;
}

export interface HistoryAnswer extends SeriesSince {
  readonly node: string;
  readonly intervalMs: number;
  readonly capacity: number;
}

export interface ActorAnswer {
  readonly node: string;
  readonly actor: ProcessInfo;
}
