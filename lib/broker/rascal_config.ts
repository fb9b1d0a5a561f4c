/**
 * The Rascal configuration warren runs with: the static topology of
 * config/rascal.json (the fanout exchange `chat`, the stream `chat.log`
 * bound to it that every daemon reads, the publication and subscription
 * `chat`; beside them the presence fanout, below) with the runtime values
 * of `Config` merged in: URLs, retry, prefetch and the confirm timeout.
 * Code refers to the topology by the names exported here, as Rascal
 * intends.
 *
 * Presence (DESIGN.md) is state about live sockets, not history: it must
 * neither fill the log nor wait behind the chat's one confirm channel. So:
 * - A fanout exchange `presence`, not durable: after a RabbitMQ restart
 *   there is nothing to keep, and Rascal declares it again on reconnecting.
 * - One queue per daemon, since a fanout gives each queue every message
 *   and every node must hear every node (a queue shared by two daemons
 *   would split the messages between them). Its name is unique per daemon
 *   (`replyTo: true`: Rascal appends a uuid, fixed when Broker.create
 *   configures it, so a reconnect declares the same name again). Not
 *   durable: a daemon that reconnects learns the state anew (snapshots)
 *   rather than from a backlog.
 * - Neither exclusive nor auto-delete, but gone a minute after its last
 *   consumer (`x-expires`), and deleted by the daemon when it closes
 *   (rascal_adapter.ts). An exclusive queue belongs to the connection that
 *   declared it, and RabbitMQ lets go of a connection only once it sees it
 *   gone: after a loss only the daemon saw (a NAT or a proxy that dropped
 *   the client side), it answered the new connection's declaration with
 *   405 RESOURCE_LOCKED, Rascal's whole vhost setup failed with it, and the
 *   daemon stayed disconnected, the chat's stream included, until
 *   RabbitMQ's heartbeat timeout (Rascal's 10 s heartbeat, missed) closed
 *   the old connection. Measured with the forwarder of
 *   spec/broker/rascal_presence.spec.ts, which cuts the client's side only:
 *   with an exclusive queue the daemon reconnected 30.6 s after the cut and
 *   chat and presence flowed at 31.1 s; with this one it reconnected after
 *   54 ms and both flowed at 0.7 s, while RabbitMQ still held the old
 *   connection (it let it go at 31-32 s in both runs). Auto-delete is left
 *   out with it: a queue deleted when the old connection's consumer goes,
 *   between the new connection's declaration and its consume, would not be
 *   declared again before the next reconnect (Rascal declares only while
 *   connecting), leaving the daemon deaf to presence.
 *   The price: until RabbitMQ drops the old connection, its consumer is
 *   still on the queue and takes turns with the new one (round robin) for
 *   up to its prefetch of 100 messages, which no one reads. Presence heals that as any loss: a missed delta
 *   shows as a gap at the next heartbeat, and a snapshot fills it.
 * - Bounded (see PresenceQueueOptions), since a daemon that stops reading
 *   must not make RabbitMQ hold a backlog without limit: its memory alarm
 *   would block every publisher, the chat's included.
 * - Published without confirms: a lost presence message is healed by the
 *   protocol itself (heartbeats carry the sender's seq, a gap asks for a
 *   snapshot), so a confirm would buy nothing but a round trip, and a
 *   publish held for one would be presence about sockets that may be gone.
 *   `mandatory: false`: a message no queue takes (in the moment between a
 *   reconnect and the queue's new declaration) is lost like any other, and
 *   RabbitMQ need not send it back.
 * - Consumed with a prefetch of 100: each message is acked as it is read,
 *   so that only bounds what is on its way to a daemon at once.
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
/** The publication, subscription and queue of presence (the queue's real name is per daemon). */
export const PRESENCE = 'presence';

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
          // The channels of unconfirmed publications: presence's only. One,
          // so that its messages leave in the order they were published (a
          // delta overtaken by the next one is a gap, which costs a snapshot).
          regularPool: { max: 1 },
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
          [PRESENCE]: { ...vhost.subscriptions[PRESENCE], retry: backoff },
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

/**
 * The presence queue as warren relies on it (see the top of this file),
 * checked before connecting for the same reason as the stream's.
 */
const PresenceQueueOptions = z.object({
  durable: z.literal(false, { error: 'expected false (presence is about live sockets: nothing to keep)' }),
  exclusive: z.literal(false, { error: 'expected false (an exclusive queue blocks the reconnect after a loss RabbitMQ has not seen: 405 RESOURCE_LOCKED)' }),
  autoDelete: z.literal(false, { error: 'expected false (a queue deleted under a reconnect is not declared again)' }),
  arguments: z.strictObject(
    {
      // What removes the queue of a daemon that died without closing; at
      // most a minute, so that RabbitMQ does not keep filling it for long.
      'x-expires': positive('milliseconds').max(60_000, { error: 'expected at most 60000 ms (the queue of a dead daemon keeps filling until then)' }),
      // A thousand messages is minutes of a quiet cluster's heartbeats and
      // deltas, seconds of a busy one's: past it the oldest go, and the gap
      // is healed by a snapshot. The bytes bound is for snapshots, which
      // can be large (a node's whole slice).
      'x-max-length': positive('messages'),
      'x-max-length-bytes': positive('bytes'),
      'x-overflow': z.literal('drop-head', { error: 'expected "drop-head" (the newest presence is worth more than the oldest; reject-publish would refuse it)' }),
      // A presence message older than a few seconds is stale: a heartbeat
      // read that late would keep a node alive that may have died since
      // (presence.downAfterSeconds is 15).
      'x-message-ttl': positive('milliseconds').max(10_000, { error: 'expected at most 10000 ms (an older presence message is stale)' }),
    },
    { error: 'expected the presence queue arguments' },
  ),
});

/** Throws, naming the argument, unless queue `name`'s options are ones `schema` accepts. */
function checkQueue(rascalConfig: BrokerConfig, name: string, schema: z.ZodType, what: string): void {
  const queues = (rascalConfig.vhosts?.[VHOST]?.queues ?? {}) as Record<string, { options?: unknown; replyTo?: unknown }>;
  const where = `queues.${name}.options`;
  if (!queues[name]) throw new Error(`queues: no ${what} ${name}`);
  const result = schema.safeParse(queues[name].options);
  if (result.success) return;
  const [issue] = result.error.issues;
  const path = issue!.path.length > 0 ? `.${issue!.path.join('.')}` : '';
  const why = issue!.code === 'unrecognized_keys' ? `unknown argument ${issue!.keys.join(', ')}` : issue!.message;
  throw new Error(`${where}${path}: ${why}`);
}

function checkPresence(rascalConfig: BrokerConfig): void {
  checkQueue(rascalConfig, PRESENCE, PresenceQueueOptions, 'presence queue');
  const queue = rascalConfig.vhosts![VHOST]!.queues as Record<string, { replyTo?: unknown }>;
  if (queue[PRESENCE]!.replyTo !== true) throw new Error(`queues.${PRESENCE}.replyTo: expected true (a name of its own per daemon)`);
}

/**
 * What Rascal makes of `rascalConfig` (connections expanded, names
 * qualified), or its error: the same checks Broker.create runs, done without
 * a broker so that a bad topology is reported at start even while RabbitMQ
 * is down.
 */
export function preflight(rascalConfig: BrokerConfig): BrokerConfig {
  checkQueue(rascalConfig, STREAM, StreamOptions, 'stream');
  checkPresence(rascalConfig);
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
