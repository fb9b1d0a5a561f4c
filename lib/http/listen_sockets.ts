/**
 * The two ports of one application and their uWebSockets.js apps, opened by
 * the first listener and kept across its restarts, as ranch keeps a listen
 * socket while its acceptors come and go; the application closes them when
 * it stops.
 *
 * They cannot simply be bound again by a restarted listener: this uWS build
 * listens without SO_REUSEADDR, so a port whose recent connections sit in
 * TIME_WAIT cannot be bound for about a minute (measured: any port that has
 * served a request), and the restart would fail until the supervisor gives up.
 */
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { uWS } from '../uws';

export interface Bound {
  readonly socket: us_listen_socket;
  readonly port: number;
}

export interface UpgradeStats {
  /** Upgrades accepted (also those closed at once with 4001/4003) and refused with an HTTP status. */
  accepted: number;
  refused: number;
  /** Websockets open now: what limits.maxConnections counts, with the upgrades waiting for their token's verification. */
  open: number;
  upgrading: number;
}

export class ListenSockets {
  public: Bound | undefined;
  admin: Bound | undefined;
  /** Of the public port, over every listener's life. */
  readonly stats: UpgradeStats = { accepted: 0, refused: 0, open: 0, upgrading: 0 };

  close(): void {
    for (const bound of [this.public, this.admin]) if (bound) uWS.us_listen_socket_close(bound.socket);
    this.public = this.admin = undefined;
  }
}

export function listen(app: TemplatedApp, host: string, port: number, setting: string): Promise<Bound> {
  return new Promise((resolve, reject) =>
    app.listen(host, port, (socket) => {
      if (socket) resolve({ socket, port: uWS.us_socket_local_port(socket) });
      else reject(new Error(`${setting}: cannot listen on ${host}:${port} (in use, or not an address of this host)`));
    }),
  );
}
