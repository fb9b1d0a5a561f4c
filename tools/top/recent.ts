/**
 * The last minute of a node's figures, as `npm run top` keeps it between
 * polls: the first GET /debug/history brings the whole ring, every later
 * one (`since` the last point held) only what is new, so a poll moves a
 * few points, not 600.
 */
import { type HistoryAnswer, type Mark, FIGURES, type Figure } from './answers';

/** A minute at the sampler's one point a second: what the sparklines draw. */
export const RECENT_POINTS = 60;
/** The restarts, crashes and broker changes kept for the view. */
const RECENT_MARKS = 5;

export class RecentFigures {
  private node: string | undefined;
  private at: number[] = [];
  private readonly points = new Map<Figure, number[]>(FIGURES.map((name) => [name, []]));
  private kept: Mark[] = [];

  /** The `since` of the next GET /debug/history: the last point held, none at first. */
  get since(): number | undefined {
    return this.at[this.at.length - 1];
  }

  add(answer: HistoryAnswer): void {
    // Another daemon behind the same port: its figures do not continue these.
    if (answer.node !== this.node) this.clear(answer.node);
    const last = this.since ?? -Infinity;
    const fresh = answer.series.at.findIndex((at) => at > last);
    if (fresh !== -1) {
      this.at = [...this.at, ...answer.series.at.slice(fresh)].slice(-RECENT_POINTS);
      for (const name of FIGURES) this.points.set(name, [...this.series(name), ...answer.series[name].slice(fresh)].slice(-RECENT_POINTS));
    }
    const newest = this.kept[this.kept.length - 1]?.at ?? -Infinity;
    this.kept = [...this.kept, ...answer.marks.filter((mark) => mark.at > newest)].slice(-RECENT_MARKS);
  }

  /** Oldest first, at most RECENT_POINTS. */
  series(name: Figure): readonly number[] {
    return this.points.get(name)!;
  }

  latest(name: Figure): number | undefined {
    const points = this.series(name);
    return points[points.length - 1];
  }

  /** The last marks, oldest first. */
  get marks(): readonly Mark[] {
    return this.kept;
  }

  private clear(node: string): void {
    this.node = node;
    this.at = [];
    for (const name of FIGURES) this.points.set(name, []);
    this.kept = [];
  }
}
