/**
 * listener: the uWebSockets.js apps, on the public port (websocket, chat
 * page, health) and the admin port (debug, metrics).
 *
 * Stopping the listener stops accepting; it does not close the websockets
 * it accepted. Those belong to their connection processes, which close them
 * (1001 on shutdown) when connection_sup stops them. A restarted listener
 * binds its ports again and the open sockets carry on.
 */
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Config } from '../config';
import { adminApp } from '../http/admin_app';
import { publicApp } from '../http/public_app';
import { loadStaticFiles } from '../http/static_files';
import { log } from '../log';
import { type GenServer, type ServerRef } from '../otp/gen_server';
import type { Ref } from '../otp/process';
import type { Readiness } from '../readiness';
import { uWS, uwsRuntime } from '../uws';
import type { ConnectionSupRef } from '../../supervisors/connection_sup';

export interface ListenerArgs {
  readonly config: Config;
  readonly readiness: Readiness;
  readonly nodeId: string;
  readonly startedAt: Date;
  readonly connectionSup: ConnectionSupRef;
  /** The root supervisor, for the admin port's tree. */
  readonly root: Ref;
}

interface Bound {
  readonly socket: us_listen_socket;
  readonly port: number;
}

interface State {
  readonly public: Bound;
  readonly admin: Bound;
  readonly stats: { accepted: number; refused: number };
}

export type ListenerRef = ServerRef;

export const listener: GenServer<ListenerArgs, State> = {
  behaviour: 'listener',

  async init(args) {
    const files = loadStaticFiles();
    const stats = { accepted: 0, refused: 0 };
    const { config } = args;
    const publicPort = await listen(publicApp({ ...args, files, stats }), config.host, config.port, 'PORT');
    const adminPort = await listen(
      adminApp({ token: config.admin.token, nodeId: args.nodeId, startedAt: args.startedAt, root: args.root, files }),
      config.admin.host,
      config.admin.port,
      'ADMIN_PORT',
    );
    log.info({ port: publicPort.port, adminPort: adminPort.port, host: config.host, adminHost: config.admin.host, uws: uwsRuntime }, `listening on ${config.host}:${publicPort.port} (admin ${config.admin.host}:${adminPort.port})`);
    return { public: publicPort, admin: adminPort, stats };
  },

  terminate(_reason, state) {
    uWS.us_listen_socket_close(state.public.socket);
    uWS.us_listen_socket_close(state.admin.socket);
  },

  formatStatus: (state) => ({ uws: uwsRuntime, port: state.public.port, adminPort: state.admin.port, ...state.stats }),
};

function listen(app: TemplatedApp, host: string, port: number, setting: string): Promise<Bound> {
  return new Promise((resolve, reject) =>
    app.listen(host, port, (socket) => {
      if (socket) resolve({ socket, port: uWS.us_socket_local_port(socket) });
      else reject(new Error(`${setting}: cannot listen on ${host}:${port} (in use, or not an address of this host)`));
    }),
  );
}
