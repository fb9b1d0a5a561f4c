/**
 * Clients split over worker threads (client i in thread i mod W), driven
 * from the main thread in phases: the main thread posts a command, and each
 * thread says when all of its clients have reached the phase it leads to.
 * The reconnect storm (storm.ts) and the presence run (presence.ts) use it;
 * the fanout keeps its own (load_generator.ts), which also adds up progress.
 */
import { Worker } from 'node:worker_threads';
import { startScript } from './load_generator';
import { Waiters } from './waiters';

/** What every thread of such a run says to the main thread. */
export type FromThread<Phase extends string, Result> =
  | { readonly type: 'reached'; readonly phase: Phase }
  | { readonly type: 'failed'; readonly reason: string }
  | { readonly type: 'result'; readonly result: Result }
  | { readonly type: 'closed' };

interface Thread<Phase, Result> {
  readonly worker: Worker;
  readonly phases: Set<Phase>;
  result?: Result;
  closed: boolean;
}

// Closing waits this long for the threads' clients, then terminates them anyway.
const CLOSE_TIMEOUT_MS = 10_000;

/** Clients from..clients-1 over `threads` threads, client i in thread i mod threads. */
export function spread(clients: number, threads: number, from = 0): number[][] {
  const count = Math.max(1, Math.min(threads, clients - from));
  return Array.from({ length: count }, (_, w) => Array.from({ length: Math.ceil((clients - from - w) / count) }, (_, k) => from + w + k * count));
}

export class ClientThreads<Phase extends string, Result> {
  private readonly threads: Thread<Phase, Result>[];
  private failure?: string;
  private readonly waiters = new Waiters();

  /** A thread per entry of `groups` runs `script` with workerData `{ ...data, indices }`: the clients it runs. */
  constructor(script: string, data: Readonly<Record<string, unknown>>, groups: readonly (readonly number[])[]) {
    this.threads = groups.map((indices) => {
      const worker = new Worker(startScript(script), { eval: true, workerData: { ...data, indices } });
      const state: Thread<Phase, Result> = { worker, phases: new Set(), closed: false };
      worker.on('message', (message: FromThread<Phase, Result>) => {
        if (message.type === 'failed') this.failure ??= message.reason;
        else if (message.type === 'reached') state.phases.add(message.phase);
        else if (message.type === 'result') state.result = message.result;
        else state.closed = true;
        this.waiters.wake();
      });
      worker.on('error', (error) => ((this.failure ??= `a client thread failed: ${error.stack ?? error.message}`), this.waiters.wake()));
      return state;
    });
  }

  /**
   * Resolves once every thread is in `phase`. A failure, or the timeout when
   * `required`, throws: the run cannot go on. Otherwise the timeout just ends the wait,
   * and the results say which clients did not get there.
   */
  async reach(phase: Phase, timeoutMs: number, required = true): Promise<void> {
    let timedOut = false;
    const timer = setTimeout(() => ((timedOut = true), this.waiters.wake()), timeoutMs);
    await this.waiters.until(() => this.failure !== undefined || timedOut || this.threads.every((t) => t.phases.has(phase)));
    clearTimeout(timer);
    if (this.failure !== undefined) throw new Error(this.failure);
    if (timedOut && required) throw new Error(`the clients were not all ${phase} within ${timeoutMs / 1000} s`);
  }

  post(message: unknown): void {
    for (const { worker } of this.threads) worker.postMessage(message);
  }

  /** Each thread's result as of now, in the order of `groups` (asked with `{ type: 'result' }`). */
  async results(): Promise<Result[]> {
    for (const thread of this.threads) thread.result = undefined;
    this.post({ type: 'result' });
    await this.waiters.until(() => this.failure !== undefined || this.threads.every((t) => t.result !== undefined));
    if (this.failure !== undefined) throw new Error(this.failure);
    return this.threads.map((t) => t.result!);
  }

  async close(): Promise<void> {
    this.post({ type: 'close' });
    const timer = setTimeout(() => this.threads.forEach((t) => (t.closed = true)), CLOSE_TIMEOUT_MS);
    await this.waiters.until(() => this.threads.every((t) => t.closed));
    clearTimeout(timer);
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
