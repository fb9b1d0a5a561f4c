/**
 * A fixed address (127.0.0.1 and a free port) in front of a daemon that is
 * replaced: a TCP relay to the current target port, which refuses (closes at
 * once) while there is none. It stands in for "the daemon restarted on the
 * same port": this uWS build listens without SO_REUSEADDR, so a port that
 * served connections cannot be bound again for about a minute while they sit
 * in TIME_WAIT (lib/http/listen_sockets.ts).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { atExit } from './hooks';

export class TcpRelay {
  /** The port connections are relayed to; undefined: every connection is closed at once. */
  target: number | undefined;
  private readonly sockets = new Set<Socket>();
  private closed: Promise<void> | undefined;

  private constructor(private readonly server: Server, target: number) {
    this.target = target;
  }

  static async start(target: number): Promise<TcpRelay> {
    const server = createServer();
    const relay = new TcpRelay(server, target);
    server.on('connection', (socket) => relay.relay(socket));
    await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
    atExit(() => relay.close());
    return relay;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Ends every relayed connection and stops listening. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((ok) => {
      this.server.close(() => ok());
      for (const socket of this.sockets) socket.destroy();
    });
    return this.closed;
  }

  private relay(client: Socket): void {
    if (this.target === undefined) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: this.target });
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      this.sockets.add(from);
      from.pipe(to);
      // Either side gone (closed or failed): so is the other.
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
      from.on('error', () => to.destroy());
    }
  }
}
