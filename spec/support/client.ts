/**
 * A websocket client for specs that speaks PROTOCOL.md: it keeps every frame
 * it receives (parsed), and waits for the ones a spec expects.
 */
import { once } from 'node:events';
import WebSocket from 'ws';
import { atExit } from './hooks';

export type Frame = { readonly type: string; readonly [field: string]: unknown };

export interface ConnectOptions {
  /** Sec-WebSocket-Protocol: `warren.v2` and `warren.bearer.<JWT>` (PROTOCOL.md). */
  readonly protocols?: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
}

export class ChatClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const text = data.toString();
      this.frames.push(isBinary ? { type: 'binary' } : (JSON.parse(text) as Frame));
      for (const wake of this.waiters.splice(0)) wake();
    });
    // Not events.once: it rejects on 'error' (a refused upgrade), and nothing awaits `closed` then.
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    void this.closed.then(() => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Connects and waits for the welcome frame. */
  static async connect(url: string, options: ConnectOptions = {}): Promise<ChatClient> {
    const client = await ChatClient.open(url, options);
    await client.next('welcome');
    return client;
  }

  /** Connects and waits for the upgrade only: for sockets the server closes at once (4001, 4003). */
  static async open(url: string, { protocols, headers }: ConnectOptions = {}): Promise<ChatClient> {
    const ws = new WebSocket(url, [...(protocols ?? [])], { headers: { ...headers } });
    const client = new ChatClient(ws);
    atExit(async () => client.terminate());
    await once(ws, 'open'); // rejects with the refusal (400, 503...) as an 'error' event
    return client;
  }

  get welcome(): Frame {
    return this.frames[0]!;
  }

  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame received (from `from` on) matching `type` and the given fields. */
  async next(type: string, fields: Record<string, unknown> = {}, timeoutMs = 5_000, from = 0): Promise<Frame> {
    return this.waitFor(() => this.frames.slice(from).find((f) => f.type === type && matches(f, fields)), `a ${type} frame ${JSON.stringify(fields)}`, timeoutMs);
  }

  /** Waits until `count` frames of `type` have arrived; returns them all. */
  async collect(type: string, count: number, timeoutMs = 10_000): Promise<Frame[]> {
    return this.waitFor(() => {
      const found = this.frames.filter((f) => f.type === type);
      return found.length >= count ? found : undefined;
    }, `${count} ${type} frames`, timeoutMs);
  }

  /** Stops reading from the socket: the server's send buffer fills up. */
  pause(): void {
    (this.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  resume(): void {
    (this.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    await this.closed;
  }

  terminate(): void {
    this.ws.terminate();
  }

  private waitFor<T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no ${what} within ${timeoutMs} ms; got ${this.frames.length} frames, last: ${JSON.stringify(this.frames.slice(-3))}`));
      }, timeoutMs);
      const check = () => {
        const found = find();
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else if (this.ws.readyState === WebSocket.CLOSED) {
          clearTimeout(timer);
          reject(new Error(`the socket closed while waiting for ${what}`));
        } else this.waiters.push(check);
      };
      check();
    });
  }
}

function matches(frame: Frame, fields: Record<string, unknown>): boolean {
  return Object.entries(fields).every(([key, value]) => JSON.stringify(frame[key]) === JSON.stringify(value));
}
