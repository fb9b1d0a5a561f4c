/**
 * The Rascal configuration warren runs with: the static topology of
 * config/rascal.json (the fanout exchange `chat`, the stream `chat.log`
 * bound to it that every daemon reads, the publication and subscription
 * `chat`) with the runtime values of `Config` merged in: URLs, retry,
 * prefetch and the confirm timeout. Code refers to the topology by the
 * names exported here, as Rascal intends.
 */
import { withDefaultConfig, type BrokerConfig } from 'rascal';
import { z } from 'zod';
import RASCAL_TOPOLOGY from '../../config/rascal.json';
import type { Config } from '../config';

export { RASCAL_TOPOLOGY };
export type RascalTopology = typeof RASCAL_TOPOLOGY;

export const VHOST = '/';
export const PUBLICATION = 'chat';
export const SUBSCRIPTION = 'chat';
/** The log of every batch: one stream, the same name for every daemon. */
export const STREAM = 'chat.log';

/** Pure: the same Config and topology give the same Rascal config. */
export function buildRascalConfig(config: Config, topology: RascalTopology = RASCAL_TOPOLOGY): BrokerConfig {
  const { url = [], prefetch, reconnect } = config.broker;
  const vhost = topology.vhosts[VHOST];
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
        publications: {
          ...vhost.publications,
          // Rascal's own confirm timeout (10 s by default) frees the channel a
          // batch holds; past the publish timeout no one waits for it anyway.
          [PUBLICATION]: { ...vhost.publications[PUBLICATION], timeout: config.publishTimeoutMs },
        },
        subscriptions: {
          ...vhost.subscriptions,
          // The same backoff when consuming fails again after a reconnect.
          // `prefetch` is per consumer: RabbitMQ refuses a stream consumer
          // without one, and a global one (Rascal's `channelPrefetch`).
          [SUBSCRIPTION]: { ...vhost.subscriptions[SUBSCRIPTION], prefetch, retry: backoff },
        },
      },
    },
  };
  // @types/rascal (v10-era) lacks noDelay and the publication timeout.
  return withDefaultConfig(rascalConfig as BrokerConfig);
}

/** Shown in RabbitMQ's management UI and `rabbitmqctl list_connections`. */
export function connectionName(config: Config): string {
  return config.nodeId === undefined ? 'warren' : `warren ${config.nodeId}`;
}

type Callback = (error: Error | null | undefined, configured: BrokerConfig) => void;
type PreflightStep = (config: BrokerConfig, next: Callback) => void;

// Broker.create runs these two (synchronous) steps before it connects. They
// are not exported, and no other entry point runs them without a broker,
// so they are reached by path; rascal is pinned (21.0.1) in package.json.
const configure: PreflightStep = require('rascal/lib/config/configure');
const validate: PreflightStep = require('rascal/lib/config/validate');

const positive = (what: string) => z.int({ error: `expected a whole number of ${what}` }).min(1, { error: `expected a whole number of ${what}, at least 1` });

/**
 * The stream as warren relies on it, checked before connecting: RabbitMQ
 * would see a bad value only once a daemon declares the stream, and it
 * ignores an argument it does not know (a misspelt one), leaving the
 * stream without that bound.
 */
const StreamOptions = z.object({
  durable: z.literal(true, { error: 'expected true (a stream is durable)' }),
  exclusive: z.literal(false, { error: 'expected false (every daemon reads the stream)' }),
  autoDelete: z.literal(false, { error: 'expected false (the log outlives its readers)' }),
  arguments: z.strictObject(
    {
      'x-queue-type': z.literal('stream', { error: 'expected "stream"' }),
      // RabbitMQ's units: Y, M(onths), D, h, m, s.
      'x-max-age': z.string({ error: 'expected an age such as "2h" (a number and one of Y M D h m s)' }).regex(/^[1-9][0-9]*[YMDhms]$/, {
        error: 'expected an age such as "2h" (a number and one of Y M D h m s)',
      }),
      'x-max-length-bytes': positive('bytes'),
      // Retention drops whole segments and always keeps the last one.
      'x-stream-max-segment-size-bytes': positive('bytes').max(64 * 1024 * 1024, {
        error: 'expected at most 67108864 (64 MiB): retention drops whole segments, so a large one outlives x-max-age',
      }),
      'x-initial-cluster-size': positive('replicas'),
    },
    { error: 'expected the stream arguments' },
  ),
});

/** Throws, naming the argument, unless the stream's declaration is one RabbitMQ accepts and warren relies on. */
function checkStream(rascalConfig: BrokerConfig): void {
  const queues = (rascalConfig.vhosts?.[VHOST]?.queues ?? {}) as Record<string, { options?: unknown }>;
  const where = `queues.${STREAM}.options`;
  if (!queues[STREAM]) throw new Error(`queues: no stream ${STREAM}`);
  const result = StreamOptions.safeParse(queues[STREAM].options);
  if (result.success) return;
  const [issue] = result.error.issues;
  const path = issue!.path.length > 0 ? `.${issue!.path.join('.')}` : '';
  const why = issue!.code === 'unrecognized_keys' ? `unknown argument ${issue!.keys.join(', ')}` : issue!.message;
  throw new Error(`${where}${path}: ${why}`);
}

/**
 * What Rascal makes of `rascalConfig` (connections expanded, names
 * qualified), or its error: the same checks Broker.create runs, done without
 * a broker so that a bad topology is reported at start even while RabbitMQ
 * is down.
 */
export function preflight(rascalConfig: BrokerConfig): BrokerConfig {
  checkStream(rascalConfig);
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
