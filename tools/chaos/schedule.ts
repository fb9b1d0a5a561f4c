/**
 * Which fault comes next in a chaos run: drawn from a seeded PRNG, so that
 * `--seed` replays the same order of kinds and the same picks among the
 * targets a tree offers (which targets exist depends on timing).
 *
 * Pacing, as the design's restart intensities allow:
 *   - relay, broker, presence, connection_sup and listener are restarted by
 *     warren_sup (supervisors/warren_sup.ts): rest_for_one, at most 3
 *     restarts in 60 s, and a 4th within 60 s takes the daemon down on
 *     purpose. So at most TOP_LEVEL_BUDGET of these kills fall within any
 *     TOP_LEVEL_WINDOW_MS: the 60 s and 10 s more, because the supervisor
 *     stamps a restart when it handles the crash, and on a loaded machine
 *     that lags the kill.
 *   - a consumer is restarted by its connection at most 3 times in 10 s
 *     (lib/actors/connection.ts; past that the connection gives up and its
 *     client reconnects): one connection's consumer is killed at most once
 *     per CONSUMER_REST_MS.
 *   - connections are temporary children of connection_sup, never
 *     restarted (their client reconnects), and a broker-side close of the
 *     AMQP connections is an outage the broker rides out without a restart:
 *     neither counts toward an intensity, so neither is held back.
 */

export const TOP_LEVEL = ['relay', 'broker', 'presence', 'connection_sup', 'listener'] as const;
export const FAULT_KINDS = ['consumer', 'connection', 'amqp_close', ...TOP_LEVEL] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
type TopLevel = (typeof TOP_LEVEL)[number];

export const TOP_LEVEL_BUDGET = 3;
export const TOP_LEVEL_WINDOW_MS = 70_000;
export const CONSUMER_REST_MS = 12_000;

const UNPACED: readonly FaultKind[] = ['consumer', 'connection', 'amqp_close'];

export const isTopLevel = (kind: FaultKind): kind is TopLevel => (TOP_LEVEL as readonly string[]).includes(kind);

/** mulberry32: small, fast, and the same sequence for a seed on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T | undefined {
  return items[Math.floor(random() * items.length)];
}

export class FaultSchedule {
  /** Kinds still to come in this round: every kind comes once per round, in a shuffled order. */
  private deck: FaultKind[] = [];
  private topLevelAt: number[] = [];
  private consumerKilledAt = new Map<string, number>();

  constructor(readonly random: () => number) {}

  /** The kind of the fault to inflict at `now` (ms). */
  next(now: number): FaultKind {
    if (this.deck.length === 0) this.deck = this.shuffled(FAULT_KINDS);
    this.topLevelAt = this.topLevelAt.filter((time) => now - time < TOP_LEVEL_WINDOW_MS);
    const budgetLeft = this.topLevelAt.length < TOP_LEVEL_BUDGET;
    const index = this.deck.findIndex((kind) => budgetLeft || !isTopLevel(kind));
    // Only top-level kinds left this round and no budget for them: they wait, and an unpaced fault comes instead.
    if (index === -1) return pick(this.random, UNPACED)!;
    const [kind] = this.deck.splice(index, 1) as [FaultKind];
    if (isTopLevel(kind)) this.topLevelAt.push(now);
    return kind;
  }

  /** The actor to kill among `paths` (sorted, so that a seed picks alike); a consumer killed within CONSUMER_REST_MS is spared. */
  target(kind: 'consumer' | 'connection', now: number, paths: readonly string[]): string | undefined {
    if (kind === 'connection') return pick(this.random, [...paths].sort());
    for (const [path, time] of this.consumerKilledAt) if (now - time >= CONSUMER_REST_MS) this.consumerKilledAt.delete(path);
    const path = pick(this.random, paths.filter((candidate) => !this.consumerKilledAt.has(candidate)).sort());
    if (path !== undefined) this.consumerKilledAt.set(path, now);
    return path;
  }

  private shuffled(kinds: readonly FaultKind[]): FaultKind[] {
    const deck = [...kinds];
    for (let i = deck.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [deck[i], deck[j]] = [deck[j]!, deck[i]!];
    }
    return deck;
  }
}
