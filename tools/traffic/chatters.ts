/**
 * Clients that chat as people do, through the client library on `ws`
 * sockets: each says `name:n` in its room at a steady pace, one say at a
 * time, and everything it says and hears goes into a Ledger. Used by the
 * chaos run, the soak and the cluster spec; the library's reconnects,
 * recovery and resends are what is under test with the daemon.
 */
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import { type Backoff, type ClientOptions, WarrenClient } from 'warren/client';
import type { Ledger } from './ledger';

export interface ChatterOptions {
  readonly name: string;
  readonly room: string;
  /** One daemon's websocket URL, or several to fail over between. */
  readonly url: string | readonly string[];
  readonly ledger: Ledger;
  /** Pause between one say's answer and the next say. */
  readonly intervalMs: number;
  readonly backoff?: Backoff;
  /** The library's options beyond these (timeouts, attempts, a token). */
  readonly client?: Omit<ClientOptions, 'url' | 'name' | 'room' | 'WebSocket' | 'backoff'>;
}

type Frame = { readonly type?: string; readonly id?: string; readonly msgId?: string; readonly text?: string };

export class Chatter {
  readonly client: WarrenClient;
  /** Sockets the library opened, the current one last. */
  readonly sockets: WebSocket[] = [];
  private saying?: Promise<void>;
  private stopped = false;
  private n = 0;

  constructor(private readonly options: ChatterOptions) {
    const { name, room, url, ledger, backoff, client } = options;
    ledger.addReceiver(name, room);
    const sockets = this.sockets;
    this.client = new WarrenClient({
      ...client,
      url,
      name,
      room,
      ...(backoff && { backoff }),
      WebSocket: class TappedSocket extends WebSocket {
        private readonly says = ledger.socket(name);

        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols);
          sockets.push(this);
          // Counted: what the library's handler gets. A frame on a socket the
          // library has let go of (its handler set to null, after a close)
          // was never the library's; it recovers that message on its next
          // socket. This listener runs before the library's, set later.
          this.on('message', (data, isBinary) => {
            if (isBinary || this.onmessage === null) return;
            const frame = JSON.parse(String(data)) as Frame;
            if (frame.type === 'message') ledger.heard(name, { msgId: frame.msgId!, text: frame.text! });
            else if ((frame.type === 'ack' || frame.type === 'error') && frame.id !== undefined) this.says.answered(frame.id);
          });
          this.on('close', () => this.says.closed());
        }

        override send(data: string): void {
          this.says.sent(JSON.parse(data) as { type: string; id?: string });
          super.send(data);
        }
      },
    });
    this.client.on('gap', () => ledger.gap(name));
  }

  get name(): string {
    return this.options.name;
  }

  /** Connects; resolves once welcomed. */
  async connect(): Promise<void> {
    const welcomed = new Promise<void>((resolve) => {
      const off = this.client.on('welcome', () => {
        off();
        resolve();
      });
    });
    this.client.connect();
    await welcomed;
  }

  /** Starts saying, one say at a time, until `stop()`. */
  start(): void {
    this.saying ??= this.sayUntilStopped();
  }

  /** Stops saying; resolves once the say in flight has settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.saying;
  }

  close(): void {
    this.client.close();
  }

  private async sayUntilStopped(): Promise<void> {
    const { name, room, ledger, intervalMs } = this.options;
    while (!this.stopped) {
      const n = this.n++;
      const settle = ledger.said(name, room, n);
      await this.client.say(room, `${name}:${n}`).then(
        ({ msgId }) => settle({ acked: msgId }),
        (error: { code?: string }) => settle({ failed: error.code ?? String(error) }),
      );
      await delay(intervalMs);
    }
  }
}
