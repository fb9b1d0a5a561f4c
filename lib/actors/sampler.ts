/**
 * sampler: the node's figures once a second, like os_mon's memsup and
 * observer's load charts, into the ring buffer the application keeps
 * (lib/node_series.ts) for the observer page and `npm run top`.
 *
 * Each tick it also ends the interval of every process's message rate
 * (lib/otp/top.ts): one walk of the tree, which counts the connections and
 * the messages handled on the way.
 *
 * The last child of warren_sup: nothing depends on it, so under
 * rest_for_one its crash restarts it alone, and it is the first to stop.
 * Its history is the application's, so a restart loses a second of it.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { deliveries, publishes } from '../metrics';
import type { NodeSeries } from '../node_series';
import { type GenServer, type ServerRef, noreply } from '../otp/gen_server';
import { type Ref, send } from '../otp/process';
import { childRef, mailboxOf } from '../otp/sys';
import { sampleRates } from '../otp/top';

export interface SamplerArgs {
  /** The root supervisor: the tree sampled. */
  readonly root: Ref;
  readonly series: NodeSeries;
  /** Default 1000: observer's refresh, and the resolution of the charts. */
  readonly intervalMs?: number;
}

export type SamplerRef = ServerRef<never, never, never>;

const DEFAULT_INTERVAL_MS = 1_000;
// perf_hooks' delay histogram times the gaps between its own ticks, this far
// apart: an idle loop reads one tick, which is not lag, and is taken off.
const LAG_TICK_MS = 10;

type Tick = { readonly type: 'tick' };
const TICK: Tick = { type: 'tick' };

export interface SamplerState {
  readonly args: SamplerArgs;
  /** How often it samples (ms). */
  readonly periodMs: number;
  /** The last interval, measured (ms): the rates of /debug/top are over it; 0 before the first. */
  intervalMs: number;
  sampledAt: number;
  /** The counters' totals at the last sample. */
  messages: number;
  deliveries: number;
  readonly lag: IntervalHistogram;
  readonly timer: NodeJS.Timeout;
}

export const sampler: GenServer<SamplerArgs, SamplerState, never, never, never, Tick> = {
  behaviour: 'sampler',

  init(args, self) {
    const periodMs = args.intervalMs ?? DEFAULT_INTERVAL_MS;
    const lag = monitorEventLoopDelay({ resolution: LAG_TICK_MS });
    lag.enable();
    sampleRates(args.root); // the first interval starts now
    return {
      args,
      periodMs,
      intervalMs: 0,
      sampledAt: Date.now(),
      messages: publishes.count('acked'),
      deliveries: deliveries.value,
      lag,
      timer: setInterval(() => send(self, TICK), periodMs),
    };
  },

  handleInfo(_tick, state) {
    sample(state);
    return noreply(state);
  },

  terminate(_reason, state) {
    clearInterval(state.timer);
    state.lag.disable();
  },

  formatStatus: ({ args, periodMs, intervalMs }) => ({ points: args.series.points, capacity: args.series.capacity, periodMs, intervalMs }),
};

function sample(state: SamplerState): void {
  const now = Date.now();
  const seconds = (now - state.sampledAt) / 1000;
  const { handled, behaviours } = sampleRates(state.args.root);
  const messages = publishes.count('acked');
  const delivered = deliveries.value;
  const relay = childRef(state.args.root, 'relay');
  const perSecond = (count: number) => (seconds > 0 ? Math.round((count * 10) / seconds) / 10 : 0);
  const lagMs = (nanoseconds: number) => Math.max(0, Math.round(nanoseconds / 1e4 - LAG_TICK_MS * 100) / 100);
  state.args.series.add({
    at: now,
    connections: behaviours.get('connection') ?? 0,
    messages: perSecond(messages - state.messages),
    deliveries: perSecond(delivered - state.deliveries),
    actorMessages: perSecond(handled),
    lagMs: lagMs(state.lag.percentile(99)),
    lagMaxMs: lagMs(state.lag.max),
    relayMailbox: relay ? mailboxOf(relay) : 0,
    rss: process.memoryUsage.rss(),
    heapUsed: getHeapStatistics().used_heap_size,
  });
  state.lag.reset();
  state.intervalMs = now - state.sampledAt;
  state.sampledAt = now;
  state.messages = messages;
  state.deliveries = delivered;
}
