/**
 * A trace (lib/otp/trace.ts) as server-sent events on the response to
 * `POST /debug/trace`: `start`, one `message` per message handled, `end`
 * with the reason, then the response ends. The response itself is the
 * stream, so the page reads it with fetch() and the bearer token it sends
 * everywhere (an EventSource cannot send one), and `curl -N` shows it live.
 *
 * Events of one turn of the event loop go out together, in one cork: a
 * traced relay handles its messages in slices of 64.
 */
import type { HttpResponse } from 'uWebSockets.js';
import { trace, type TraceEnd, type TraceEvent, type TraceHandle, type TraceLimits, type TraceSink } from '../otp/trace';
import type { Process } from '../otp/process';

class EventStream implements TraceSink {
  private pending: string[] = [];
  private flushing: NodeJS.Immediate | undefined;
  private ended = false;
  private aborted = false;

  constructor(private readonly res: HttpResponse) {}

  /** Writes the head and the first event at once, in the request's own handler. */
  open(start: object): void {
    this.res.cork(() => {
      this.res
        .writeStatus('200 OK')
        .writeHeader('Content-Type', 'text/event-stream')
        .writeHeader('Cache-Control', 'no-store')
        .write(encode('start', start));
    });
  }

  onAborted(stop: () => void): void {
    this.res.onAborted(() => {
      this.aborted = true;
      stop();
    });
  }

  message(event: TraceEvent): void {
    this.queue(encode('message', event));
  }

  end(reason: TraceEnd, traced: number): void {
    this.ended = true;
    this.queue(encode('end', { reason, traced }));
  }

  private queue(event: string): void {
    this.pending.push(event);
    this.flushing ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushing = undefined;
    const chunk = this.pending.join('');
    this.pending = [];
    if (this.aborted) return;
    this.res.cork(() => {
      if (this.ended) this.res.end(chunk);
      else this.res.write(chunk);
    });
  }
}

function encode(event: string, data: object): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Starts tracing `proc` onto `res`; false (nothing written) when it is traced already. */
export function streamTrace(res: HttpResponse, proc: Process, limits: TraceLimits): boolean {
  const stream = new EventStream(res);
  const handle: TraceHandle | undefined = trace(proc, limits, stream);
  if (!handle) return false;
  stream.onAborted(() => handle.stop());
  stream.open({ path: proc.path, behaviour: proc.behaviour.name, ...limits });
  return true;
}
