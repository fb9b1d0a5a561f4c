/**
 * The load generator: the run's clients split over worker threads (client i
 * in worker i mod W), each running a ClientGroup, while this thread gives
 * the start signal, adds up their counts for the progress bar and decides
 * when the run is over: every delivery came, a client was closed, nothing
 * more can come, or the timeout.
 *
 * Workers because one thread reading a million frames through `ws` is busy
 * for about as long as the bare uWS server takes to send them: with a single
 * thread, the baseline would measure the load generator.
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { emptyCounts, type GroupCounts, type GroupResult, type Load } from './client_group';
import { nowUs } from './frames';
import { CONNECTS_IN_FLIGHT, expectedDeliveries } from './options';
import { Waiters } from './waiters';
import type { ToMain, ToWorker } from './worker_messages';

export type { Load } from './client_group';

export interface RunResult {
  readonly expected: number;
  readonly delivered: number;
  /** Expected deliveries that never came (per client, so extras elsewhere do not hide them). */
  readonly lost: number;
  readonly acks: number;
  /** Error frames and unexpected closes, by code. */
  readonly errors: Readonly<Record<string, number>>;
  /** "complete", or why the run ended before it was. */
  readonly ended: string;
  /** From the start signal to the last delivery. */
  readonly lastDeliveryMs: number;
  /** One sample per delivery (not in arrival order across workers). */
  readonly latencyMs: Float32Array;
  readonly receivedAtMs: Float32Array;
  /** CPU the whole load generator (every thread) used from the start signal to the end. */
  readonly cpuSeconds: number;
}

/** How the connections were opened, from the workers' counts once every one was welcomed. */
export interface ConnectStats {
  /** From the first connect attempt to the last welcome, on the load generator's clock. */
  readonly acceptSeconds: number;
  /** Handshakes the load generator had in flight at most (every thread's share). */
  readonly inFlight: number;
}

// Every say answered and no delivery for this long: the missing ones are lost.
const QUIET_MS = 1_000;
const CLOSE_TIMEOUT_MS = 10_000;

interface WorkerState {
  readonly worker: Worker;
  counts: GroupCounts;
  ready: boolean;
  connected: boolean;
  done: boolean;
  closed: boolean;
  result?: GroupResult;
}

export class LoadGenerator {
  /** Read by the progress bar while it runs. */
  readonly progress = { connected: 0, delivered: 0, expected: 0 };
  private readonly workers: WorkerState[];
  private failure?: string;
  private readonly waiters = new Waiters();

  constructor(private readonly load: Load, threads: number) {
    this.progress.expected = expectedDeliveries(load.clients, load.messages, load.rooms);
    const count = Math.max(1, Math.min(threads, load.clients));
    this.workers = Array.from({ length: count }, (_, w) => {
      const indices = Array.from({ length: Math.ceil((load.clients - w) / count) }, (_, k) => w + k * count);
      const worker = new Worker(startScript(join(__dirname, 'client_worker.ts')), { eval: true, workerData: { load, indices } });
      const state: WorkerState = { worker, counts: emptyCounts(), ready: false, connected: false, done: false, closed: false };
      worker.on('message', (message: ToMain) => this.receive(state, message));
      worker.on('error', (error) => this.fail(`a load generator thread failed: ${error.stack ?? error.message}`));
      worker.on('exit', () => (state.closed ? undefined : this.fail('a load generator thread exited')));
      return state;
    });
  }

  /**
   * Opens every connection and waits for each one's welcome; on a failure closes them all.
   * The threads start connecting together, once every one has started
   * (loading tsx takes a thread a while): else the accept window would
   * include a thread's start.
   */
  async connect(): Promise<void> {
    await this.waiters.until(() => this.failure !== undefined || this.workers.every((w) => w.ready));
    if (this.failure === undefined) this.post({ type: 'connect' });
    await this.waiters.until(() => this.failure !== undefined || this.workers.every((w) => w.connected));
    if (this.failure !== undefined) {
      await this.close();
      throw new Error(this.failure);
    }
  }

  /** After `connect`. Worker threads start at different times: the window spans them all. */
  connectStats(): ConnectStats {
    const counts = this.workers.map((w) => w.counts);
    const first = Math.min(...counts.map((c) => c.firstAttemptUs));
    const last = Math.max(...counts.map((c) => c.lastWelcomeUs));
    return {
      acceptSeconds: (last - first) / 1e6,
      inFlight: counts.reduce((sum, c) => sum + Math.min(CONNECTS_IN_FLIGHT, c.connected), 0),
    };
  }

  /** Gives the start signal; resolves when the run is over, complete or not. */
  async run(): Promise<RunResult> {
    const cpuBefore = process.cpuUsage();
    const startUs = nowUs();
    this.post({ type: 'start', startUs });
    let timedOut = false;
    const timeout = setTimeout(() => ((timedOut = true), this.waiters.wake()), this.load.timeoutMs);
    let quietSince = { delivered: -1, at: 0 };
    const quietCheck = setInterval(() => {
      const { delivered } = this.progress;
      if (delivered !== quietSince.delivered) quietSince = { delivered, at: Date.now() };
      this.waiters.wake();
    }, 100);
    const allAnswered = () => this.sum((c) => c.answered) === this.load.clients * this.load.messages;
    const quiet = () => allAnswered() && Date.now() - quietSince.at >= QUIET_MS;
    await this.waiters.until(() => this.failure !== undefined || this.workers.every((w) => w.done) || timedOut || quiet());
    clearTimeout(timeout);
    clearInterval(quietCheck);
    const cpu = process.cpuUsage(cpuBefore);
    const ended = this.workers.every((w) => w.done)
      ? 'complete'
      : (this.failure ?? (timedOut ? `timed out after ${this.load.timeoutMs / 1000} s` : `every say answered, no delivery for ${QUIET_MS / 1000} s`));
    this.post({ type: 'result' });
    await this.waiters.until(() => this.workers.every((w) => w.result));
    const results = this.workers.map((w) => w.result!);
    const total = (field: 'delivered' | 'lost' | 'acks') => results.reduce((sum, r) => sum + r[field], 0);
    const lastDeliveryUs = Math.max(...results.map((r) => r.lastDeliveryUs));
    return {
      expected: this.progress.expected,
      delivered: total('delivered'),
      lost: total('lost'),
      acks: total('acks'),
      errors: mergeCounts(results.map((r) => r.errors)),
      ended,
      lastDeliveryMs: lastDeliveryUs > 0 ? (lastDeliveryUs - startUs) / 1000 : NaN,
      latencyMs: concat(results.map((r) => r.latencyMs)),
      receivedAtMs: concat(results.map((r) => r.receivedAtMs)),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  }

  /** Closes every connection, then the threads. */
  async close(): Promise<void> {
    this.post({ type: 'close' });
    const deadline = setTimeout(() => this.workers.forEach((w) => (w.closed = true)), CLOSE_TIMEOUT_MS);
    await this.waiters.until(() => this.workers.every((w) => w.closed));
    clearTimeout(deadline);
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private receive(state: WorkerState, message: ToMain): void {
    if (message.type === 'failed') return this.fail(message.reason);
    if (message.type === 'ready') state.ready = true;
    else if (message.type === 'result') state.result = message.result;
    else if (message.type === 'closed') state.closed = true;
    else {
      state.counts = message.counts;
      if (message.type === 'connected') state.connected = true;
      if (message.type === 'done') state.done = true;
      this.progress.connected = this.sum((c) => c.connected);
      this.progress.delivered = this.sum((c) => c.delivered);
    }
    this.waiters.wake();
  }

  private fail(reason: string): void {
    this.failure ??= reason;
    this.waiters.wake();
  }

  private post(message: ToWorker): void {
    for (const { worker, closed } of this.workers) if (!closed) worker.postMessage(message);
  }

  private sum(field: (counts: GroupCounts) => number): number {
    return this.workers.reduce((sum, w) => sum + field(w.counts), 0);
  }

}

/** A worker cannot load TypeScript by itself: register tsx in it first. */
export function startScript(file: string): string {
  return `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(file)});`;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const all = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

export function mergeCounts(tables: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const merged: Record<string, number> = {};
  for (const table of tables) for (const [key, count] of Object.entries(table)) merged[key] = (merged[key] ?? 0) + count;
  return merged;
}
