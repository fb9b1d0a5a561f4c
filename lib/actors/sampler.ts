/**
 * sampler: the node's figures once a second, like os_mon's memsup and
 * observer's load charts, into the ring buffer the application keeps
 * (lib/node_series.ts) for the observer page and `npm run top`. A point
 * costs the same with 10 sockets or 10,000: counters, a child count, a
 * mailbox length, the event-loop histogram and the memory.
 *
 * While someone looks at the processes (/debug/top, /debug/actor: each
 * request casts `observed`), each tick also ends the interval of every
 * process's message rate (lib/otp/top.ts). That is a walk of the whole
 * tree, some 10 ms at 10,000 sockets, so it stops a minute after the last
 * request: a node nobody observes pays nothing for its observer.
 *
 * The last child of warren_sup: nothing depends on it, so under
 * rest_for_one its crash restarts it alone, and it is the first to stop.
 * Its history is the application's, so a restart loses a second of it.
 */
import { createHistogram, performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { deliveries, publishes } from '../metrics';
import type { NodeSeries } from '../node_series';
import { type GenServer, type ServerRef, noreply } from '../otp/gen_server';
import { type Ref, messagesHandled, send } from '../otp/process';
import { childCount, childRef, mailboxOf } from '../otp/sys';
import { sampleRates } from '../otp/top';

export interface SamplerArgs {
  /** The root supervisor: the tree sampled. */
  readonly root: Ref;
  readonly series: NodeSeries;
  /** Default 1000: observer's refresh, and the resolution of the charts. */
  readonly intervalMs?: number;
  /** How long rates are kept up after the last request for them; default a minute, which `npm run top --interval` should stay below. */
  readonly observedMs?: number;
}

/** Someone asked for the processes' rates: keep them for a while. */
export type Observed = { readonly type: 'observed' };
export type SamplerRef = ServerRef<never, Observed, never>;

const DEFAULT_INTERVAL_MS = 1_000;
const OBSERVED_MS = 60_000;

/**
 * The event loop's lag over each interval: a timer every TICK_MS, and how
 * late each tick came, in a histogram that each sample reads and empties.
 * Not perf_hooks' monitorEventLoopDelay: emptied each interval, that one
 * skips the first gap after it, so a stall that began just before a sample
 * would be lost (measured: a loop blocked 120 ms right after a reset reads
 * 11 ms).
 */
export class LagMeter {
  static readonly TICK_MS = 10;
  private readonly lateness = createHistogram();
  private last = performance.now();
  private readonly timer = setInterval(() => this.tick(), LagMeter.TICK_MS);

  constructor() {
    this.timer.unref();
  }

  /** p99 and max of the interval since the last read, in ms; then a new interval. */
  read(): { readonly p99: number; readonly max: number } {
    const { lateness } = this;
    const figures = { p99: microsToMs(lateness.percentile(99)), max: microsToMs(lateness.max) }; // empty: 0 and 0
    lateness.reset();
    return figures;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = performance.now();
    // Histograms hold whole numbers from 1: µs, and on time counts as 1 µs.
    this.lateness.record(Math.max(1, Math.round((now - this.last - LagMeter.TICK_MS) * 1000)));
    this.last = now;
  }
}

type Tick = { readonly type: 'tick' };
const TICK: Tick = { type: 'tick' };

export interface SamplerState {
  readonly args: SamplerArgs;
  /** How often it samples (ms). */
  readonly periodMs: number;
  sampledAt: number;
  /** The counters' totals at the last sample. */
  messages: number;
  deliveries: number;
  handled: number;
  /** Until when the rates are wanted (epoch ms). */
  observedUntil: number;
  /** The rates' last interval (ms): /debug/top's rates are over it; 0 while there is none. */
  intervalMs: number;
  ratesSampledAt: number;
  readonly lag: LagMeter;
  readonly timer: NodeJS.Timeout;
}

export const sampler: GenServer<SamplerArgs, SamplerState, never, Observed, never, Tick> = {
  behaviour: 'sampler',

  init(args, self) {
    const periodMs = args.intervalMs ?? DEFAULT_INTERVAL_MS;
    const now = Date.now();
    return {
      args,
      periodMs,
      sampledAt: now,
      messages: publishes.count('acked'),
      deliveries: deliveries.value,
      handled: messagesHandled(),
      observedUntil: 0,
      intervalMs: 0,
      ratesSampledAt: now,
      lag: new LagMeter(),
      timer: setInterval(() => send(self, TICK), periodMs),
    };
  },

  handleCast(_observed, state) {
    const now = Date.now();
    if (now >= state.observedUntil) {
      // Nobody looked for a while: the processes' counts since then are no interval of anyone's.
      sampleRates(state.args.root);
      state.ratesSampledAt = now;
      state.intervalMs = 0;
    }
    state.observedUntil = now + (state.args.observedMs ?? OBSERVED_MS);
    return noreply(state);
  },

  handleInfo(_tick, state) {
    sample(state);
    if (Date.now() < state.observedUntil) sampleProcesses(state);
    else state.intervalMs = 0;
    return noreply(state);
  },

  terminate(_reason, state) {
    clearInterval(state.timer);
    state.lag.stop();
  },

  formatStatus: ({ args, periodMs, intervalMs, observedUntil }) => ({
    points: args.series.points,
    capacity: args.series.capacity,
    periodMs,
    intervalMs,
    observed: Date.now() < observedUntil,
  }),
};

function sample(state: SamplerState): void {
  const now = Date.now();
  const seconds = (now - state.sampledAt) / 1000;
  const messages = publishes.count('acked');
  const delivered = deliveries.value;
  const handled = messagesHandled();
  const lag = state.lag.read();
  const { root } = state.args;
  const child = (name: string, read: (ref: Ref) => number) => {
    const ref = childRef(root, name);
    return ref ? read(ref) : 0;
  };
  state.args.series.add({
    at: now,
    connections: child('connection_sup', childCount),
    messages: perSecond(messages - state.messages, seconds),
    deliveries: perSecond(delivered - state.deliveries, seconds),
    actorMessages: perSecond(handled - state.handled, seconds),
    lagMs: lag.p99,
    lagMaxMs: lag.max,
    relayMailbox: child('relay', mailboxOf),
    rss: process.memoryUsage.rss(),
    heapUsed: getHeapStatistics().used_heap_size,
  });
  state.sampledAt = now;
  state.messages = messages;
  state.deliveries = delivered;
  state.handled = handled;
}

/** A count over `seconds` as a rate, to one decimal; 0 for no time at all. */
export function perSecond(count: number, seconds: number): number {
  return seconds > 0 ? Math.round((count * 10) / seconds) / 10 : 0;
}

/** µs as ms, to two decimals (so the 1 µs of a tick on time is 0). */
export function microsToMs(micros: number): number {
  return Math.round(micros / 10) / 100;
}

function sampleProcesses(state: SamplerState): void {
  const now = Date.now();
  sampleRates(state.args.root);
  state.intervalMs = now - state.ratesSampledAt;
  state.ratesSampledAt = now;
}
