/**
 * One client's websocket, as the actors see it.
 *
 * A uWebSockets.js WebSocket is valid only until its close handler has run;
 * after that every method on it throws. Actors run later than the uWS
 * callbacks, so they never touch it directly: this wrapper knows whether the
 * socket is still open and turns every write after the close into a no-op.
 *
 * It also carries the socket's events (frames, close) to the connection
 * process. The connection attaches itself in its init; what happens before
 * that waits here, as the kernel would buffer bytes for an Erlang process
 * that has not read its socket yet.
 */
import type { WebSocket } from 'uWebSockets.js';
import { closes } from './metrics';
import { type Ref, send } from './otp/process';
import { CLOSE, type CloseReason } from './protocol/errors';

/** What the listener reports about a socket, for its connection's websocket_handle. */
export type SocketEvent =
  | { readonly type: 'frame'; readonly text: string }
  | { readonly type: 'binary' }
  | { readonly type: 'oversized'; readonly bytes: number }
  | { readonly type: 'closed'; readonly code: number };

// uWS's send() results: written, buffered for later (backpressure), or dropped.
const DROPPED = 2;

export class ClientSocket {
  private open = true;
  private owner: Ref | undefined;
  private early: SocketEvent[] | undefined;
  /**
   * Per room, the `pos` of the last message written here: where a restarted
   * consumer resumes (connection.ts), since it outlives the consumer. Made
   * with the first message: an idle socket does not pay for it.
   */
  private positions: Map<string, string> | undefined;

  constructor(
    private readonly ws: WebSocket<unknown>,
    readonly remote: string,
    /** Past this many unsent bytes the client is too slow: closed with 1013. */
    private readonly maxBufferedBytes: number,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  get buffered(): number {
    return this.open ? this.ws.getBufferedAmount() : 0;
  }

  /**
   * Writes frames in one syscall (cork). Returns how many were written; the
   * rest are dropped because the socket is closed or past the buffer limit,
   * in which case it has just been closed with 1013.
   */
  write(frames: readonly (string | Uint8Array)[]): number {
    if (!this.open) return 0;
    let written = 0;
    this.ws.cork(() => {
      for (const frame of frames) {
        if (this.ws.send(frame, false) === DROPPED) break;
        written++;
      }
    });
    if (written < frames.length || this.ws.getBufferedAmount() > this.maxBufferedBytes) this.close('slowClient');
    return written;
  }

  /** Everything of `room` up to `pos` has been written. */
  reached(room: string, pos: string): void {
    (this.positions ??= new Map()).set(room, pos);
  }

  /** The `pos` of the last message of `room` written here, if any. */
  position(room: string): string | undefined {
    return this.positions?.get(room);
  }

  /** `text` replaces the reason's usual text (a 4001 says which check the token failed); at most 123 bytes. */
  close(reason: CloseReason, text: string = CLOSE[reason].reason): void {
    if (!this.open) return;
    this.open = false;
    const { code } = CLOSE[reason];
    closes.inc({ code });
    this.ws.end(code, text);
  }

  /** The connection process that handles this socket's events from now on. */
  attach(owner: Ref): void {
    this.owner = owner;
    for (const event of this.early ?? []) send(owner, event);
    this.early = undefined;
  }

  /** Called by the listener from uWS callbacks. */
  notify(event: SocketEvent): void {
    if (event.type === 'closed') this.open = false;
    if (this.owner) send(this.owner, event);
    else (this.early ??= []).push(event);
  }
}
