/**
 * The Rascal configuration warren runs with: the static topology of
 * config/rascal.json (the fanout exchange `chat`, this node's queue `node`
 * bound to it, the publication and subscription `chat`) with the runtime
 * values of `Config` merged in: URLs, retry, prefetch, queue limits and the
 * confirm timeout. Code refers to the topology by the names exported here,
 * as Rascal intends.
 */
import { withDefaultConfig, type BrokerConfig } from 'rascal';
import RASCAL_TOPOLOGY from '../../config/rascal.json';
import type { Config } from '../config';

export { RASCAL_TOPOLOGY };
export type RascalTopology = typeof RASCAL_TOPOLOGY;

export const VHOST = '/';
export const PUBLICATION = 'chat';
export const SUBSCRIPTION = 'chat';
/** This node's queue; `replyTo: true` makes its real name `node:<uuid>`, fixed for the life of the broker. */
export const NODE_QUEUE = 'node';

/** Pure: the same Config and topology give the same Rascal config (the queue's uuid is drawn later, by Rascal). */
export function buildRascalConfig(config: Config, topology: RascalTopology = RASCAL_TOPOLOGY): BrokerConfig {
  const { url = [], prefetch, queue, reconnect } = config.broker;
  const vhost = topology.vhosts[VHOST];
  const nodeQueue = vhost.queues[NODE_QUEUE];
  const backoff = { strategy: 'exponential', min: reconnect.minMs, max: reconnect.maxMs, factor: 2 };
  const rascalConfig = {
    defaults: {
      // Rascal reads the connection retry from here only: a `retry` given
      // with a connection is silently dropped (configure.js keeps a fixed
      // list of connection attributes), leaving its 1 s..60 s default.
      vhosts: { connection: { retry: backoff } },
    },
    vhosts: {
      [VHOST]: {
        ...vhost,
        connections: url.map((each) => ({
          url: each,
          // amqplib leaves Nagle's algorithm on; with delayed ACKs every
          // confirm then waits ~40 ms: ~30 publishes/s one at a time instead
          // of thousands (bench/broker_throughput.ts).
          socketOptions: { noDelay: true, clientProperties: { connection_name: connectionName(config) } },
        })),
        // Failover in the order AMQP_URL lists the brokers ('random', the
        // default, shuffles them once per process).
        connectionStrategy: 'fixed',
        publicationChannelPools: {
          // One confirm channel. The broker actor has one batch in flight at
          // a time, so a second channel would sit idle; and with one, batches
          // leave in the order they were published even when two overlap or
          // one follows a batch whose confirm is late (Rascal holds a channel
          // until its confirm, and two channels may reorder).
          confirmPool: { max: 1 },
        },
        queues: {
          ...vhost.queues,
          [NODE_QUEUE]: {
            ...nodeQueue,
            options: {
              ...nodeQueue.options,
              arguments: { ...nodeQueue.options.arguments, 'x-expires': queue.expiresMs, 'x-max-length': queue.maxLength },
            },
          },
        },
        publications: {
          ...vhost.publications,
          // Rascal's own confirm timeout (10 s by default) frees the channel a
          // batch holds; past the publish timeout no one waits for it anyway.
          [PUBLICATION]: { ...vhost.publications[PUBLICATION], timeout: config.publishTimeoutMs },
        },
        subscriptions: {
          ...vhost.subscriptions,
          // The same backoff when consuming fails again after a reconnect.
          [SUBSCRIPTION]: { ...vhost.subscriptions[SUBSCRIPTION], prefetch, retry: backoff },
        },
      },
    },
  };
  // @types/rascal (v10-era) lacks noDelay, replyTo and the publication timeout.
  return withDefaultConfig(rascalConfig as BrokerConfig);
}

/** The real name of this node's queue (`node:<uuid>`), from a broker's configuration or `preflight`'s result. */
export function nodeQueueName(configured: BrokerConfig): string {
  const queues = configured.vhosts?.[VHOST]?.queues as Record<string, { fullyQualifiedName?: string }> | undefined;
  const name = queues?.[NODE_QUEUE]?.fullyQualifiedName;
  if (name === undefined) throw new Error(`Rascal configuration: no queue ${NODE_QUEUE} in vhost ${VHOST}`);
  return name;
}

/** Shown in RabbitMQ's management UI and `rabbitmqctl list_connections`. */
function connectionName(config: Config): string {
  return config.nodeId === undefined ? 'warren' : `warren ${config.nodeId}`;
}

type Callback = (error: Error | null | undefined, configured: BrokerConfig) => void;
type PreflightStep = (config: BrokerConfig, next: Callback) => void;

// Broker.create runs these two (synchronous) steps before it connects. They
// are not exported, and no other entry point runs them without a broker,
// so they are reached by path; rascal is pinned (21.0.1) in package.json.
const configure: PreflightStep = require('rascal/lib/config/configure');
const validate: PreflightStep = require('rascal/lib/config/validate');

/**
 * What Rascal makes of `rascalConfig` (connections expanded, names
 * qualified), or its error: the same checks Broker.create runs, done without
 * a broker so that a bad topology is reported at start even while RabbitMQ
 * is down.
 */
export function preflight(rascalConfig: BrokerConfig): BrokerConfig {
  let outcome: { error: Error } | { configured: BrokerConfig } | undefined;
  // configure mutates what it is given, hence the copy.
  configure(structuredClone(rascalConfig), (configureError, configured) => {
    if (configureError) outcome = { error: configureError };
    else validate(configured, (error) => (outcome = error ? { error } : { configured }));
  });
  if (outcome === undefined) throw new Error('rascal: configure/validate did not answer synchronously');
  if ('error' in outcome) throw outcome.error;
  return outcome.configured;
}
