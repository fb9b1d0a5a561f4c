/**
 * listener: the uWebSockets.js apps, on the public port (websocket, chat
 * page, health) and the admin port (debug, metrics).
 *
 * The first listener opens both ports; a restarted one takes over the same
 * apps and listen sockets (see lib/http/listen_sockets.ts), and the sockets
 * it accepted stay with their connection processes. So a listener crash
 * closes nothing, and the application closes the ports when it stops.
 * While the daemon drains, upgrades are refused (readiness), not the ports.
 */
import type { TokenVerifier } from '../auth/tokens';
import type { Config } from '../config';
import { adminApp } from '../http/admin_app';
import { type ListenSockets, listen } from '../http/listen_sockets';
import { publicApp } from '../http/public_app';
import { loadStaticFiles } from '../http/static_files';
import { log } from '../log';
import { type GenServer, type ServerRef } from '../otp/gen_server';
import type { Ref } from '../otp/process';
import type { Readiness } from '../readiness';
import { uwsRuntime } from '../uws';
import type { ConnectionSupRef } from '../../supervisors/connection_sup';

export interface ListenerArgs {
  readonly config: Config;
  readonly readiness: Readiness;
  readonly nodeId: string;
  readonly startedAt: Date;
  readonly connectionSup: ConnectionSupRef;
  /** The root supervisor, for the admin port's tree. */
  readonly root: Ref;
  /** The application's ports, open or to be opened. */
  readonly sockets: ListenSockets;
  /** undefined: authentication is off. */
  readonly verifier: TokenVerifier | undefined;
}

export type ListenerRef = ServerRef;

export const listener: GenServer<ListenerArgs, ListenerArgs> = {
  behaviour: 'listener',

  async init(args) {
    const { config, sockets } = args;
    if (sockets.public && sockets.admin) return args;
    const files = loadStaticFiles();
    sockets.public = await listen(publicApp({ ...args, files, stats: sockets.stats }), config.host, config.port, 'PORT');
    sockets.admin = await listen(
      adminApp({ token: config.admin.token, nodeId: args.nodeId, startedAt: args.startedAt, root: args.root, files }),
      config.admin.host,
      config.admin.port,
      'ADMIN_PORT',
    );
    const ports = { port: sockets.public.port, adminPort: sockets.admin.port };
    log.info({ ...ports, host: config.host, adminHost: config.admin.host, uws: uwsRuntime }, `listening on ${config.host}:${ports.port} (admin ${config.admin.host}:${ports.adminPort})`);
    return args;
  },

  formatStatus: ({ sockets }) => ({ uws: uwsRuntime, port: sockets.public?.port, adminPort: sockets.admin?.port, ...sockets.stats }),
};
