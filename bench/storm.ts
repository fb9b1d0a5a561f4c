/**
 * The reconnect storm (`npm run bench -- --reconnect-storm N`), issue 10's
 * target: N clients join one room and each keeps the `pos` of the message it
 * saw; all disconnect; a sender says M messages into the room; then all N
 * reconnect at once with `?since=<pos>`, and each must get `welcome` with
 * `recovered: true` and exactly the M replays (storm_group.ts checks every
 * frame). Measured: from the first reconnect to the last client recovered,
 * each client's own recovery time, the daemon's CPU and its event-loop lag
 * over the storm.
 *
 * One room: every recovery then reads the same room's history, the case the
 * issue names (1,000 clients × 100 messages). More rooms would not spread
 * the work: the node's one relay serves every recovery, whatever the room.
 *
 * The clients run in worker threads, as in the fanout, so that reading the
 * N × M replays does not make the load generator the bottleneck; the sender
 * is one socket on the main thread.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import type { Window } from './cpu_profile';
import { paddingFor, sayFrame } from './frames';
import { mergeCounts } from './load_generator';
import { monotonicUs } from './measure';
import { saysAllowed } from './pacing';
import { cpuSeconds } from './proc_metrics';
import type { Target } from './servers';
import { type Percentiles, percentiles } from './stats';
import { AFTER_STORM, RECOVERED, type StormGroupResult, type StormLoad, type StormPhase } from './storm_group';
import { ClientThreads, spread } from './threads';
import type { ToStormWorker } from './worker_messages';

export interface StormSetup {
  readonly clients: number;
  readonly messages: number;
  readonly payload: number;
  readonly workers: number;
  /** For each phase (connect, each client's recovery...). */
  readonly timeoutMs: number;
  readonly rate: number;
  readonly burst: number;
}

/** The daemon's event-loop delay over the storm, ms, its own 10 ms tick taken off (see eventLoopLag). */
export interface EventLoopLag {
  readonly maxMs: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export interface StormResult {
  readonly target: string;
  readonly clients: number;
  readonly messages: number;
  readonly room: string;
  /** Clients that got `recovered: true` and exactly the M replays. */
  readonly recovered: number;
  /** How every client ended: `recovered` or what went wrong first; a client not recovered is a failure. */
  readonly outcomes: Readonly<Record<string, number>>;
  /** Recovered clients that then got the live message said after the storm, and nothing else. */
  readonly live: number;
  /** From the first reconnect to the last client recovered; undefined unless every client recovered. */
  readonly stormSeconds?: number;
  /** Per recovered client: from its reconnect to its last replay. */
  readonly recoveryMs: Percentiles;
  /** Per client: from its reconnect to its welcome. */
  readonly welcomeMs: Percentiles;
  /** Undefined when the daemon's metrics cannot be read (a daemon given by --url). */
  readonly eventLoopLag?: EventLoopLag;
  /**
   * The same histogram on the bench's own main thread, idle over the storm:
   * what the machine alone (other processes, the load generator's threads)
   * does to an event loop that has nothing to do.
   */
  readonly idleLoopLag: EventLoopLag;
  /** The daemon's own count of recoveries during the storm, by outcome. */
  readonly daemonRecoveries?: Readonly<Record<string, number>>;
  /** CPU seconds over the storm per measured process group ("daemon", "rabbitmq"). */
  readonly cpuSeconds: Readonly<Record<string, number>>;
  readonly loadGeneratorCpuSeconds: number;
  readonly connectSeconds: number;
  /** The storm on CLOCK_MONOTONIC: to pick it out of a CPU profile. */
  readonly runWindow: Window;
}

export const STORM_ROOM = 'storm';
/** A room must hold the M messages each client missed (the default, 100, does for M = 100). */
export function stormDaemonEnv(messages: number): Record<string, string> {
  return { HISTORY_SIZE: String(messages) };
}

// After the storm, how long the live message said then may take to reach every client.
const LIVE_TIMEOUT_MS = 10_000;
// prom-client's event-loop histogram (perf_hooks.monitorEventLoopDelay) times
// the gaps between its own ticks, 10 ms apart by default: an idle loop reads
// 10 ms. Each scrape resets it, and it skips the first tick after a reset.
const EVENT_LOOP_TICK_MS = 10;
const AFTER_RESET_MS = 3 * EVENT_LOOP_TICK_MS;

export async function measureStorm(target: Target, setup: StormSetup): Promise<StormResult> {
  const load: StormLoad = { url: target.url, room: STORM_ROOM, messages: setup.messages };
  const sender = await Sender.open(target.url, setup);
  const clients = new ClientThreads<StormPhase, StormGroupResult>(join(__dirname, 'storm_worker.ts'), { load }, spread(setup.clients, setup.workers));
  try {
    const connectStart = performance.now();
    await clients.reach('connected', setup.timeoutMs);
    const connectSeconds = (performance.now() - connectStart) / 1000;
    // The message whose position every client keeps.
    await sender.say([0], setup.timeoutMs);
    await clients.reach('marked', setup.timeoutMs);
    clients.post({ type: 'disconnect' } satisfies ToStormWorker);
    await clients.reach('disconnected', setup.timeoutMs);
    if (target.metricsUrl) await untilMetric(target.metricsUrl, 'warren_connections', (open) => open === 1, setup.timeoutMs);
    // The sender reads its own messages back: the relay keeps a message in
    // the history before it fans it out, so then every one is there.
    await sender.say(Array.from({ length: setup.messages }, (_, i) => i), setup.timeoutMs);

    const before = target.metricsUrl ? await scrape(target.metricsUrl) : undefined; // resets the lag histogram
    const pids = target.processes.map((group) => group.pids());
    const cpuBefore = pids.map(cpuSeconds);
    await delay(AFTER_RESET_MS);
    const loadCpuBefore = process.cpuUsage();
    const idleLoop = monitorEventLoopDelay({ resolution: EVENT_LOOP_TICK_MS });
    idleLoop.enable();
    const fromUs = monotonicUs();
    clients.post({ type: 'reconnect' } satisfies ToStormWorker);
    await clients.reach('settled', setup.timeoutMs, false);
    const toUs = monotonicUs();
    idleLoop.disable();
    const cpuAfter = pids.map(cpuSeconds);
    const loadCpu = process.cpuUsage(loadCpuBefore);
    const after = target.metricsUrl ? await scrape(target.metricsUrl) : undefined;

    await sender.say([AFTER_STORM], setup.timeoutMs);
    await clients.reach('live', LIVE_TIMEOUT_MS, false);
    const groups = await clients.results();
    const recoveryMs = concat(groups.map((g) => g.recoveryMs)).filter((ms) => !Number.isNaN(ms));
    const outcomes = mergeCounts(groups.map((g) => g.outcomes));
    const recovered = outcomes[RECOVERED] ?? 0;
    const firstUs = Math.min(...groups.map((g) => g.firstReconnectUs));
    const lastUs = Math.max(...groups.map((g) => g.lastRecoveredUs));
    return {
      target: target.name,
      clients: setup.clients,
      messages: setup.messages,
      room: STORM_ROOM,
      recovered,
      outcomes,
      live: groups.reduce((sum, g) => sum + g.live, 0),
      ...(recovered === setup.clients && { stormSeconds: (lastUs - firstUs) / 1e6 }),
      recoveryMs: percentiles(Float32Array.from(recoveryMs)),
      welcomeMs: percentiles(Float32Array.from(concat(groups.map((g) => g.welcomeMs)).filter((ms) => !Number.isNaN(ms)))),
      ...(before && after && { eventLoopLag: eventLoopLag((name) => metricValue(after, `warren_nodejs_eventloop_lag_${name}_seconds`)), daemonRecoveries: recoveriesBetween(before, after) }),
      idleLoopLag: eventLoopLag((name) => (name === 'p99' ? idleLoop.percentile(99) : idleLoop[name]) / 1e9),
      cpuSeconds: Object.fromEntries(target.processes.map((group, i) => [group.label, cpuAfter[i]! - cpuBefore[i]!])),
      loadGeneratorCpuSeconds: (loadCpu.user + loadCpu.system) / 1e6,
      connectSeconds,
      runWindow: { fromUs, toUs },
    };
  } finally {
    sender.close();
    await clients.close();
  }
}

/** A histogram's figures (in seconds) over the storm, each less the tick. */
function eventLoopLag(seconds: (name: 'max' | 'p99' | 'mean') => number | undefined): EventLoopLag {
  const lag = (name: 'max' | 'p99' | 'mean') => Math.max(0, (seconds(name) ?? NaN) * 1000 - EVENT_LOOP_TICK_MS);
  return { maxMs: lag('max'), p99Ms: lag('p99'), meanMs: lag('mean') };
}

function recoveriesBetween(before: string, after: string): Record<string, number> {
  const count = (metrics: string, outcome: string) => metricValue(metrics, 'warren_recoveries_total', `outcome="${outcome}"`) ?? 0;
  return Object.fromEntries(['recovered', 'not_recovered'].map((outcome) => [outcome, count(after, outcome) - count(before, outcome)]));
}

/** A sample of the Prometheus text format: `name{labels} value`, the labels matched as written. */
export function metricValue(metrics: string, name: string, labels?: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(labels === undefined ? `${name} ` : `${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

async function untilMetric(url: string, name: string, holds: (value: number | undefined) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!holds(metricValue(await scrape(url), name))) {
    if (Date.now() > deadline) throw new Error(`${name} at ${url} never reached the value awaited`);
    await delay(50);
  }
}

/** The one socket that says the storm's messages, and reads them back with their acks. */
class Sender {
  private said = 0;
  private acks = 0;
  private received = 0;
  private errors: string[] = [];
  private waiter?: () => void;
  private readonly padding: string;

  private constructor(private readonly ws: WebSocket, private readonly setup: StormSetup) {
    this.padding = paddingFor(setup.payload);
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { type: string; code?: string };
      if (frame.type === 'ack') this.acks++;
      else if (frame.type === 'message') this.received++;
      else if (frame.type === 'error') this.errors.push(frame.code ?? 'error');
      this.waiter?.();
    });
  }

  static async open(url: string, setup: StormSetup): Promise<Sender> {
    const ws = new WebSocket(`${url}/websocket?name=storm-sender&room=${STORM_ROOM}`, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once('message', resolve);
      ws.once('error', reject);
    });
    return new Sender(ws, setup);
  }

  /** Says a message ending with each number, under the rate limit; resolves once each is acked and read back. */
  async say(numbers: readonly number[], timeoutMs: number): Promise<void> {
    const [acks, received] = [this.acks + numbers.length, this.received + numbers.length];
    const start = performance.now();
    let sent = 0;
    const deadline = Date.now() + timeoutMs;
    while (this.acks < acks || this.received < received) {
      if (this.errors.length > 0) throw new Error(`the storm's sender got errors: ${this.errors.join(', ')}`);
      if (Date.now() > deadline) throw new Error(`the storm's sender: ${this.acks} acks and ${this.received} messages of ${acks} within ${timeoutMs / 1000} s`);
      for (const allowed = saysAllowed(performance.now() - start, numbers.length, this.setup.rate, this.setup.burst); sent < allowed; sent++) {
        this.ws.send(sayFrame(numbers[sent]!, `s${this.said++}`, this.padding));
      }
      await Promise.race([new Promise<void>((resolve) => (this.waiter = resolve)), delay(10)]);
    }
  }

  close(): void {
    this.ws.close(1000);
  }
}

function concat(parts: readonly Float64Array[]): number[] {
  return parts.flatMap((part) => [...part]);
}
