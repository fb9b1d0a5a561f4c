/**
 * The warren application, as `warren_app.erl` would be: `start` brings up
 * the supervision tree, `prepStop` drains, `stop` takes the tree down.
 *
 * Draining (OTP's prep_stop) happens while the whole tree still runs, since
 * answering the `say`s in flight needs the broker: readiness turns 503 so
 * load balancers move on, new upgrades are refused, every connection is
 * told to drain (it sends its pending acks, then closes with 1001), in
 * batches over shutdown.drainSeconds, and the tree stops in order once they
 * are gone or the time is up.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { warrenSup } from '../supervisors/warren_sup';
import { loadTokenVerifier, type TokenVerifier } from './auth/tokens';
import type { BrokerAdapter } from './broker/adapter';
import { LocalAdapter } from './broker/local_bus';
import { connectRabbitMQ } from './broker/rascal_adapter';
import type { Config } from './config';
import { ListenSockets } from './http/listen_sockets';
import { log } from './log';
import { Application } from './otp/application';
import type { ExitReason } from './otp/exit_reason';
import { drainConnections } from './drainer';
import { childRef } from './otp/sys';
import { MARKS, NodeSeries, POINTS, recordMarks } from './node_series';
import { Readiness } from './readiness';

export interface Warren {
  readonly app: Application;
  /** The application's ports: they outlive listener restarts, and close with the application. */
  readonly sockets: ListenSockets;
  readonly nodeId: string;
  readonly readiness: Readiness;
  /** The node's last ten minutes (/debug/history), kept across the sampler's restarts. */
  readonly series: NodeSeries;
  /** Ends the marks' event handlers (stop). */
  readonly stopMarks: () => void;
}

export interface StartOptions {
  readonly onRootExit?: (reason: ExitReason) => void;
  /** Verifies the tokens instead of the one config.auth describes (specs slow it down). */
  readonly verifier?: TokenVerifier;
}

export async function start(config: Config, { onRootExit, ...options }: StartOptions = {}): Promise<Warren> {
  const nodeId = config.nodeId ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
  // The key is read once, before anything starts: a bad key file is a bad setting.
  const verifier = options.verifier ?? (await loadTokenVerifier(config.auth));
  const readiness = new Readiness();
  const sockets = new ListenSockets();
  const series = new NodeSeries(POINTS, MARKS);
  const stopMarks = recordMarks(series, readiness);
  try {
    const app = await Application.start({
      name: 'warren_sup',
      supervisor: warrenSup,
      args: { config, nodeId, startedAt: new Date(), readiness, connect: brokerFor({ ...config, nodeId }), sockets, verifier, series },
      ...(onRootExit && { onRootExit }),
    });
    return { app, sockets, nodeId, readiness, series, stopMarks };
  } catch (error) {
    stopMarks();
    sockets.close();
    throw error;
  }
}

/**
 * Resolves once every connection has closed, or `deadline` (epoch ms) has
 * come. The connections are told in batches over `drainMs` (drainer.ts).
 */
export async function prepStop({ app, readiness }: Warren, deadline: number, drainMs = 0): Promise<void> {
  readiness.draining = true;
  const connectionSup = childRef(app.root, 'connection_sup');
  if (connectionSup) await drainConnections(connectionSup, drainMs, deadline);
}

export async function stop({ app, sockets, stopMarks }: Warren): Promise<void> {
  await app.stop();
  stopMarks();
  sockets.close();
}

/** `config` carries the node id drawn at start: RabbitMQ shows it as the connection's name. */
function brokerFor(config: Config): () => Promise<BrokerAdapter> {
  if (config.broker.url) return () => connectRabbitMQ(config);
  log.info('no AMQP_URL: using the in-process broker, a single node (set AMQP_URL to share rooms between daemons)');
  return async () => new LocalAdapter();
}
