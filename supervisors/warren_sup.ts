/**
 * warren_sup: the top of the tree.
 *
 *   relay            the room registry; everything below feeds it or is fed by it
 *   broker           forwards the stream to the relay
 *   presence         who is in each room, cluster-wide, over the broker's presence channel
 *   connection_sup   connections hold memberships in the relay and in presence, publish through the broker
 *   listener         accepts sockets only once all of the above is up
 *   sampler          the node's figures each second, for the observer; depends on nothing
 *
 * rest_for_one, in that order: a child that crashes takes down with it the
 * children started after it, which are the ones that depend on it.
 *   - relay crash: its registry is gone, so every membership is stale; all
 *     connections restart (clients reconnect), and the broker with them.
 *   - broker crash: a bug, not an outage (an outage is a state the broker
 *     rides out without restarting). Its terminate answers every pending
 *     `say` with `unavailable`; the connections restart so that no client is
 *     left holding half-answered state, and reconnect to the new broker.
 *     Presence restarts with it: its channel was the old adapter's.
 *   - presence crash: its slice of the cluster's presence is gone, so every
 *     local membership is stale, as for the relay; the connections restart
 *     (clients reconnect and track themselves again). Its successor starts
 *     with a higher incarnation, so the other nodes replace the old slice at
 *     once. It comes after the broker, whose channel it uses, and before the
 *     connections, which track themselves in it; the relay and the broker do
 *     not depend on it, so a presence crash leaves the chat path running.
 *   - connection_sup crash: every socket closes; the listener restarts.
 *   - listener crash: only the listener restarts, on the same listen
 *     sockets; open websockets carry on.
 *   - sampler crash: only the sampler restarts; the charts, the
 *     application's, miss a second. It restarts with any sibling too.
 * Shutdown runs in reverse: the sampler stops, the listener stops accepting, connections drain
 * and close with 1001 (their members leave as they go), presence says
 * goodbye to the other nodes, the broker closes its RabbitMQ connection,
 * the relay.
 *
 * Intensity: 3 restarts in 60 s. A node whose core keeps crashing is sick;
 * past that it exits non-zero and whatever supervises the OS process
 * (systemd, Kubernetes) starts a fresh one, as `heart` would.
 */
import { type BrokerArgs, broker } from '../lib/actors/broker';
import { listener, type ListenerArgs } from '../lib/actors/listener';
import { presence } from '../lib/actors/presence';
import { relay } from '../lib/actors/relay';
import { sampler } from '../lib/actors/sampler';
import { CLOCK_SKEW_MARGIN_MS } from '../lib/history/duplicate_window';
import type { TokenVerifier } from '../lib/auth/tokens';
import type { Config } from '../lib/config';
import type { ListenSockets } from '../lib/http/listen_sockets';
import type { NodeSeries } from '../lib/node_series';
import { startLink } from '../lib/otp/gen_server';
import type { Link } from '../lib/otp/process';
import { startLink as startSupervisor, type SupervisorModule } from '../lib/otp/supervisor';
import { childRef } from '../lib/otp/sys';
import type { Readiness } from '../lib/readiness';
import { type ConnectionSupRef, connectionSup } from './connection_sup';

export interface WarrenArgs {
  readonly config: Config;
  readonly nodeId: string;
  readonly startedAt: Date;
  readonly readiness: Readiness;
  readonly connect: BrokerArgs['connect'];
  readonly sockets: ListenSockets;
  /** undefined: authentication is off. */
  readonly verifier: TokenVerifier | undefined;
  /** The node's last ten minutes, which the sampler writes. */
  readonly series: NodeSeries;
}

/** A sibling started earlier; refs are paths, so it stays valid when that sibling restarts. */
const sibling = <R>(link: Link, name: string) => childRef(link.parent, name) as R;

export const warrenSup: SupervisorModule<WarrenArgs> = {
  init: (args) => ({
    flags: { strategy: 'rest_for_one', intensity: 3, period: 60 },
    children: [
      {
        id: 'relay',
        start: (link) => {
          const { size, ttlSeconds, maxBytes, maxRecover } = args.config.history;
          return startLink(link, relay, { size, ttlMs: ttlSeconds * 1000, maxBytes, maxRecover });
        },
      },
      {
        id: 'broker',
        // Closing the RabbitMQ connection cleanly can take a moment; past this it is cut.
        shutdown: 5_000,
        start: (link) =>
          startLink(link, broker, {
            nodeId: args.nodeId,
            relay: sibling(link, 'relay'),
            connect: args.connect,
            publishTimeoutMs: args.config.publishTimeoutMs,
            readiness: args.readiness,
            // All the history and the duplicate window may hold, with the window's margin for clocks.
            readBackMs: args.config.history.ttlSeconds * 1000 + CLOCK_SKEW_MARGIN_MS,
          }),
      },
      {
        id: 'presence',
        start: (link) => {
          const { maxListed, downAfterSeconds, heartbeatMs } = args.config.presence;
          return startLink(link, presence, { nodeId: args.nodeId, broker: sibling(link, 'broker'), maxListed, downAfterMs: downAfterSeconds * 1000, heartbeatMs });
        },
      },
      {
        id: 'connection_sup',
        type: 'supervisor',
        start: (link) =>
          startSupervisor(link, connectionSup, {
            nodeId: args.nodeId,
            relay: sibling(link, 'relay'),
            broker: sibling(link, 'broker'),
            presence: sibling(link, 'presence'),
            limits: args.config.limits,
            auth: args.verifier && { verifier: args.verifier, refreshSeconds: args.config.auth.refreshSeconds, clockToleranceSeconds: args.config.auth.clockToleranceSeconds },
          }),
      },
      {
        id: 'listener',
        start: (link) =>
          startLink(link, listener, {
            config: args.config,
            readiness: args.readiness,
            nodeId: args.nodeId,
            startedAt: args.startedAt,
            connectionSup: sibling<ConnectionSupRef>(link, 'connection_sup'),
            root: link.parent,
            sockets: args.sockets,
            verifier: args.verifier,
          } satisfies ListenerArgs),
      },
      {
        id: 'sampler',
        start: (link) => startLink(link, sampler, { root: link.parent, series: args.series }),
      },
    ],
  }),
};
