/**
 * Message tracing, as `sys:trace` or `recon_trace`: the type and size of
 * every message one process handles (never its payload), handed to a sink
 * (the admin port streams them as server-sent events).
 *
 * A trace is bounded the way recon_trace bounds one, so that tracing the
 * relay on a busy node cannot become the node's problem: it stops after
 * `count` messages, as soon as more than `rate` arrive within one second,
 * after `seconds`, when the process exits, or when its sink goes away.
 * Nothing is traced by default; with no trace on, the process engine pays
 * one comparison per message (lib/otp/process.ts, `setTracer`).
 */
import { performance } from 'node:perf_hooks';
import type { ExitReason } from './exit_reason';
import * as nact from './nact';
import { type ExitListener, type MessageTracer, type Process, setTracer } from './process';
import { describeMessage, isDescribed } from './reports';

export interface TraceLimits {
  /** Messages to trace before stopping. */
  readonly count: number;
  /** More messages than this within one second stop the trace. */
  readonly rate: number;
  readonly seconds: number;
}

export const TRACE_BOUNDS = {
  count: { default: 100, max: 10_000 },
  rate: { default: 1_000, max: 10_000 },
  seconds: { default: 60, max: 3_600 },
} as const;

/** One message handled, as a trace shows it. */
export interface TraceEvent {
  /** 1 for the first message traced. */
  readonly n: number;
  /** When the process took it (epoch ms). */
  readonly at: number;
  readonly kind: 'call' | 'cast' | 'info';
  readonly type: string;
  /** Bytes it carries (see messageSize). */
  readonly size: number;
  /** Messages left waiting once it was handled. */
  readonly mailbox: number;
  /** Time spent handling it, µs (until its promise settled, when the handler awaited). */
  readonly us: number;
}

export type TraceEnd = 'count' | 'rate' | 'timeout' | 'exited' | 'closed';

export interface TraceSink {
  message(event: TraceEvent): void;
  end(reason: TraceEnd, traced: number): void;
}

const RATE_WINDOW_MS = 1_000;

class Trace implements MessageTracer, ExitListener {
  private traced = 0;
  private windowStart = 0;
  private inWindow = 0;
  private ended = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly proc: Process,
    private readonly limits: TraceLimits,
    private readonly sink: TraceSink,
  ) {}

  /** Once it is the process's tracer: the trace's time limit runs, and the process's exit ends it. */
  start(): void {
    this.timer = setTimeout(() => this.stop('timeout'), this.limits.seconds * 1000);
    this.timer.unref();
    this.proc.addExitListener(this);
  }

  handle(proc: Process, message: unknown): void | Promise<void> {
    const at = Date.now();
    const envelope = isDescribed(message) ? message : undefined;
    const kind = envelope?.envelope ?? 'info';
    const type = describeMessage(message);
    const size = messageSize(envelope ? envelope.content : message);
    const started = performance.now();
    const done = () => this.record({ at, kind, type, size, us: Math.round((performance.now() - started) * 1000) });
    let pending: void | Promise<void>;
    try {
      pending = proc.handle(message);
    } catch (error) {
      done();
      throw error;
    }
    if (!pending) return done();
    return pending.finally(done);
  }

  processDown(): void {
    this.stop('exited');
  }

  stop(reason: TraceEnd): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    setTracer(this.proc, undefined);
    this.proc.removeExitListener(this);
    this.sink.end(reason, this.traced);
  }

  private record(event: Omit<TraceEvent, 'n' | 'mailbox'>): void {
    if (this.ended) return;
    if (event.at - this.windowStart >= RATE_WINDOW_MS) {
      this.windowStart = event.at;
      this.inWindow = 0;
    }
    if (++this.inWindow > this.limits.rate) return this.stop('rate');
    const mailbox = nact.findActor(this.proc.self)?.mailbox.length ?? 0;
    this.sink.message({ n: ++this.traced, ...event, mailbox });
    if (this.traced >= this.limits.count) this.stop('count');
  }
}

export interface TraceHandle {
  /** Ends the trace early (its sink went away): the sink hears `closed`. */
  stop(): void;
}

/** Starts tracing `proc`; undefined when it is being traced already. */
export function trace(proc: Process, limits: TraceLimits, sink: TraceSink): TraceHandle | undefined {
  const running = new Trace(proc, limits, sink);
  if (!setTracer(proc, running)) return undefined;
  running.start();
  return { stop: () => running.stop('closed') };
}

// Deep enough for a message's own fields and theirs (a cast's publish and
// its frame); below that an object counts as one reference.
const SIZE_DEPTH = 3;
const REFERENCE_BYTES = 8;

/**
 * The bytes a message carries, counted alike for every message, and never
 * by serialising it: strings as UTF-8, buffers by their length, numbers and
 * references as 8 bytes, arrays and objects as the sum of their elements
 * and fields, three levels deep.
 */
export function messageSize(value: unknown, depth = 0): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value === null || typeof value !== 'object') return typeof value === 'undefined' ? 0 : REFERENCE_BYTES;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.byteLength;
  if (depth >= SIZE_DEPTH) return REFERENCE_BYTES;
  const items: Iterable<unknown> = Array.isArray(value) ? value : value instanceof Map || value instanceof Set ? value.values() : Object.values(value);
  let size = 0;
  for (const item of items) size += messageSize(item, depth + 1);
  return size;
}
