/**
 * A stand-in for the browser's WebSocket, for unit specs of the client
 * library (client/warren.mjs): the spec plays the server, frame by frame,
 * and sees every frame the client sends. The library's `WebSocket` option
 * takes it as it takes the `ws` package's class.
 */
import type { WebSocketLike } from 'warren/client';

export type SentFrame = { readonly type: string; readonly [field: string]: unknown };

export class StandInSocket implements WebSocketLike {
  readyState = 0;
  protocol = '';
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: SentFrame[] = [];
  /** How the client closed it, if it did. */
  closedBy: { code?: number; reason?: string } | undefined;
  readonly url: URL;
  readonly protocols: string[];

  constructor(url: string, protocols: string | string[] | undefined, readonly server: StandInServer) {
    this.url = new URL(url);
    this.protocols = protocols === undefined ? [] : ([] as string[]).concat(protocols);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.server.sends++;
    this.sent.push(JSON.parse(data) as SentFrame);
  }

  /** As a browser's: the close event follows, after the closing handshake (here: a microtask). */
  close(code?: number, reason?: string): void {
    this.closedBy = { code, reason };
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code: code ?? 1005, reason: reason ?? '' }));
  }

  // ---- the server's side ----

  get room(): string {
    return this.url.searchParams.get('room')!;
  }

  /** The upgrade succeeds and the welcome follows, naming the URL's room. */
  welcome(fields: Record<string, unknown> = {}): void {
    this.readyState = 1;
    this.onopen?.({});
    this.frame({ type: 'welcome', protocol: 2, session: `s${this.server.sockets.length}`, user: 'u1', name: 'ann', rooms: [this.room], node: 'n1', ...fields });
  }

  frame(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** The server closes the socket (or the network drops it: 1006). */
  drop(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The frames of this type sent so far. */
  sentOf(type: string): SentFrame[] {
    return this.sent.filter((f) => f.type === type);
  }
}

/** Every socket one client opened, in order; `WebSocket` is the constructor to give the client. */
export class StandInServer {
  readonly sockets: StandInSocket[] = [];
  sends = 0;
  readonly WebSocket: new (url: string, protocols?: string | string[]) => StandInSocket;

  private waiters: Array<() => void> = [];

  constructor() {
    const server = this;
    this.WebSocket = class extends StandInSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, server);
        server.sockets.push(this);
        for (const wake of server.waiters.splice(0)) wake();
      }
    };
  }

  /** The n-th socket opened (1-based), once it is; fails after `timeoutMs`. */
  async opened(n: number, timeoutMs = 2_000): Promise<StandInSocket> {
    const deadline = Date.now() + timeoutMs;
    while (this.sockets.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`socket ${n} was never opened (${this.sockets.length} were)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.sockets[n - 1]!;
  }

  get last(): StandInSocket {
    const socket = this.sockets.at(-1);
    if (socket === undefined) throw new Error('no socket opened yet');
    return socket;
  }
}
