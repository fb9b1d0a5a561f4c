/**
 * The RabbitMQ broker, through Rascal (the gen_bunny of this port): publishes
 * batches to the fanout exchange `chat` with publisher confirms, and reads
 * the stream `chat.log` bound to it, which every daemon reads. Topology and
 * settings: rascal_config.ts. Startup: rascal_startup.ts.
 *
 * What it adds to Rascal (LIBRARIES.md §3):
 * - A publish never waits in Rascal's memory: refused at once while the
 *   connection is down or RabbitMQ blocks publishers, withdrawn (`abort()`)
 *   and rejected at its deadline or when the connection is lost. Rascal
 *   would hold it, and all that follow, until a reconnect however long that
 *   takes.
 * - Rascal's events become a few state changes, one log line each, instead
 *   of its several events per reconnection attempt.
 * - Deliveries are always acked, even when handling them throws: a nack on
 *   a stream closes the whole connection (540 NOT_IMPLEMENTED).
 * - After any loss the stream is read again from the offset after the last
 *   delivery handled, where Rascal would start over from the first offset
 *   it was given (see `subscribe`).
 *
 * - Presence (`presence`, below) on its own fanout and per-daemon queue
 *   (rascal_config.ts), fire and forget: dropped, never held, while the
 *   connection is down.
 *   The queue is deleted on close (`deletePresenceQueue`); a daemon that
 *   died without closing leaves it to RabbitMQ's x-expires.
 *
 * A batch rejected at its deadline may still be delivered: once its bytes
 * are on the wire only a confirm could say whether RabbitMQ took it, and no
 * AMQP call takes it back. That is the case of a broker that stopped
 * answering, and of the first batch after a resource alarm (RabbitMQ says
 * "blocked" only to a connection that publishes; later ones are refused).
 */
import { randomUUID } from 'node:crypto';
import type { Message } from 'amqplib';
import type { Broker, PublicationSession, SubscriptionSession } from 'rascal';
import type { Config } from '../config';
import { log as rootLog } from '../log';
import type { BrokerAdapter, ConnectionState, Deliver, PresenceChannel, StateChange } from './adapter';
import { BrokerUnavailable } from './adapter';
import { BATCH_CONTENT_TYPE } from './batch';
import {
  buildRascalConfig,
  connectionName,
  preflight,
  PRESENCE,
  PUBLICATION,
  RASCAL_TOPOLOGY,
  STREAM,
  SUBSCRIPTION,
  VHOST,
  type RascalTopology,
} from './rascal_config';
import { maskedUrl, shutdownBroker, startBroker, within } from './rascal_startup';

/** An empty message on the stream that tells its publisher it has read everything before it. */
const MARKER_CONTENT_TYPE = 'application/vnd.warren.marker';
/** As long as a publish may wait for its confirm (config `publishTimeoutMs`' default). */
const MARKER_TIMEOUT_MS = 5_000;
/** Presence's own, so that Rascal hands it over as a Buffer (it parses application/json) and no batch is taken for it. */
export const PRESENCE_CONTENT_TYPE = 'application/vnd.warren.presence+json';
/** As long as close() waits to delete the presence queue: a few round trips, unless the broker is gone. */
const PRESENCE_DELETE_TIMEOUT_MS = 2_000;

/** The part of amqplib's callback API that deleting a queue takes (Rascal's broker.connect hands that API; @types/rascal says the promise one). */
interface CallbackConnection {
  on(event: 'error', listener: (error: Error) => void): void;
  createChannel(next: (error: Error | null, channel: CallbackChannel) => void): void;
  close(next: (error?: Error) => void): void;
}
interface CallbackChannel {
  on(event: 'error', listener: (error: Error) => void): void;
  deleteQueue(queue: string, options: object, next: (error: Error | null) => void): void;
}

/**
 * Connects to the first RabbitMQ of `config.broker.url` that answers,
 * retrying until `config.broker.startupTimeoutMs`. `topology` replaces
 * config/rascal.json (specs use it to try a bad one).
 */
export async function connectRabbitMQ(config: Config, topology: RascalTopology = RASCAL_TOPOLOGY): Promise<BrokerAdapter> {
  // Rascal would fall back to amqp://localhost.
  if (!config.broker.url?.length) throw new Error('AMQP_URL: not set');
  const rascalConfig = buildRascalConfig(config, topology);
  try {
    preflight(rascalConfig);
  } catch (error) {
    throw new Error(`config/rascal.json: ${(error as Error).message}`);
  }
  const adapter = new RascalAdapter(await startBroker(rascalConfig, config.broker), connectionName(config));
  try {
    await adapter.consumePresence();
  } catch (error) {
    await adapter.close();
    throw error;
  }
  return adapter;
}

class RascalAdapter implements BrokerAdapter {
  readonly kind = 'rabbitmq';
  state: ConnectionState = 'connected';
  private url: string;
  private reconnects = 0;
  /** Failed reconnection attempts since the connection was lost. */
  private attempts = 0;
  /** Why RabbitMQ blocks publishers (a resource alarm), while it does. */
  private blocked: string | undefined;
  private subscribed = false;
  /** The stream offset of the last delivery handled; null before the first. */
  private offset: number | null = null;
  private batchesDelivered = 0;
  private batchesDropped = 0;
  /** Deliveries at or below the offset handled: a second consumer's (see `subscribe`). */
  private batchesRepeated = 0;
  /** How to fail each publish not yet settled. */
  private readonly inFlight = new Set<(reason: string) => void>();
  private readonly listeners: Array<(change: StateChange) => void> = [];
  private readonly log: typeof rootLog;
  private presenceListener: ((message: Buffer) => void) | undefined;
  private presenceSession: SubscriptionSession | undefined;
  private readonly presenceCounts = { published: 0, refused: 0, delivered: 0, dropped: 0 };

  readonly presence: PresenceChannel = {
    publish: (message) => this.publishPresence(message),
    listen: (deliver) => (this.presenceListener = deliver),
  };

  /** `connection`: its name in RabbitMQ, which its log lines carry too. */
  constructor(
    private readonly broker: Broker,
    private readonly connection: string,
  ) {
    // The first connection's events fired inside Broker.create, before any listener.
    this.url = maskedUrl(broker.getConnections()[0]?.connectionUrl ?? 'amqp://unknown');
    this.log = rootLog.child({ stream: STREAM, connection });
    broker.on('vhost_initialised', ({ connectionUrl }: { connectionUrl: string }) => this.connected(connectionUrl));
    // Rascal emits 'error' with connection details when the connection
    // breaks or a reconnection attempt fails, then retries by itself;
    // without a listener the process would crash.
    broker.on('error', (error: Error, details?: unknown) => {
      if (details === undefined) this.log.warn({ err: error.message }, 'rabbitmq: broker error');
      else this.lost(error.message);
    });
    broker.on('close', () => this.lost('RabbitMQ closed the connection'));
    broker.on('blocked', (reason: string) => {
      this.blocked = reason;
      this.log.warn({ reason }, 'rabbitmq: RabbitMQ blocks publishing (resource alarm); publishes are refused');
    });
    broker.on('unblocked', () => {
      this.blocked = undefined;
      this.log.info('rabbitmq: RabbitMQ accepts publishing again');
    });
    // Not listened to: 'connect' (the same moment as 'vhost_initialised',
    // without the URL), 'disconnect' (always followed by 'error' or 'close',
    // which carry the reason), 'paused'/'resumed' (twice per attempt).
    this.log.info({ url: this.url }, `rabbitmq: connected to ${this.url}`);
  }

  publish(batch: Buffer, deadline: number): Promise<void> {
    return this.send(batch, BATCH_CONTENT_TYPE, deadline);
  }

  private send(content: Buffer, contentType: string, deadline: number, messageId?: string): Promise<void> {
    const refusal = this.refusal(deadline);
    if (refusal !== undefined) return Promise.reject(new BrokerUnavailable(refusal));
    return new Promise((resolve, reject) => {
      let session: PublicationSession | undefined;
      const settle = (failure?: string) => {
        if (!this.inFlight.delete(fail)) return; // settled already
        clearTimeout(timer);
        if (failure === undefined) return resolve();
        // Rascal forgets the batch if it has not handed it to a channel yet.
        session?.abort();
        reject(new BrokerUnavailable(failure));
      };
      const fail = (reason: string) => settle(reason);
      this.inFlight.add(fail);
      const timer = setTimeout(fail, deadline - Date.now(), 'RabbitMQ did not confirm the batch by its deadline');
      // Rascal calls back at once with the session, before any of its events.
      const options = messageId === undefined ? { contentType } : { contentType, messageId };
      this.broker.publish(PUBLICATION, content, { options }, (error, published) => {
        if (error) return fail(`Rascal refused the batch: ${error.message}`);
        session = published;
        // Listeners stay after settling: an 'error' without one would crash.
        published.on('success', () => settle());
        published.on('error', (cause: Error) => fail(`RabbitMQ did not confirm the batch: ${cause.message}`));
        // (@types/rascal lacks this overload.)
        (published as NodeJS.EventEmitter).on('close', () => fail('the channel closed before RabbitMQ confirmed the batch'));
        // 'return' (unroutable: no queue bound) arrives together with
        // 'success'; the batch was accepted, there was just no one to get it.
      });
    });
  }

  async subscribe(deliver: Deliver, since: number): Promise<void> {
    if (this.subscribed) throw new Error('rabbitmq: already subscribed (a second consumer would take half of the batches)');
    this.subscribed = true;
    // Where the consumer starts: at `since` (a timestamp: the stream's
    // first chunk stored from then on), then, after any loss, at the offset
    // after the last delivery handled (`handled`). Rascal consumes again by
    // itself once it has a channel (after a reconnect, or a consumer
    // RabbitMQ cancelled), with the arguments it was first given: that
    // would replay what was handled already. It keeps this very object,
    // though: Subscription.subscribe (Rascal 21.0.1) does
    // `_.defaultsDeep(overrides, subscriptionConfig)`, which mutates the
    // overrides and uses them for every later consume; so moving the offset
    // here moves where the next consume starts. The resume specs of
    // rascal_adapter.spec.ts fail if a Rascal upgrade copies them instead.
    const args: Record<string, unknown> = { 'x-stream-offset': { '!': 'timestamp', value: Math.floor(since / 1000) } };
    // Whether the delivery is new; if so the offset moves past it. One
    // consumer reads the stream in order, so a delivery at or below the
    // last offset handled is a second consumer's: Rascal 21.0.1 can consume
    // twice after a reconnect whose consume fails as RabbitMQ closes the
    // connection (506 "does not have a running local replica", a cluster
    // node whose replica restarts, or 541 INTERNAL_ERROR): the
    // connection's close handler and the consume's callback each consume
    // again. The stream then has two consumers of this daemon's until its
    // next reconnect, and every batch comes twice (spec/integration/
    // cluster.spec.ts: without this check daemon A read 938 batches against
    // daemon B's 493, with 3 consumers on the stream for 2 daemons), and a
    // consumer behind the other would move the offset back.
    const handled = (message: Message): boolean => {
      // A plain number in amqplib (a string would be read as an interval).
      // Offsets grow but skip one at each segment roll-over.
      const offset = message.properties.headers?.['x-stream-offset'] as number;
      if (this.offset !== null && offset <= this.offset) {
        this.batchesRepeated++;
        return false;
      }
      this.offset = offset;
      args['x-stream-offset'] = offset + 1;
      return true;
    };
    // The fill is complete when a marker published now comes back: every
    // batch stored before it has been read by then. Other nodes' markers
    // are read too, and skipped.
    const marker = `${this.connection}:${randomUUID()}`;
    let caughtUp!: () => void;
    const filled = new Promise<void>((resolve) => (caughtUp = resolve));
    const session = await new Promise<SubscriptionSession>((resolve, reject) =>
      this.broker.subscribe(SUBSCRIPTION, { options: { arguments: args } }, (error, subscription) => (error ? reject(error) : resolve(subscription))),
    );
    // The consumer's channel is lost with the connection, or alone: one
    // line, and Rascal consumes again by itself (without a new 'subscribed').
    session.on('error', (error: Error) => {
      this.log.warn({ err: error.message }, 'rabbitmq: the subscription lost its channel; Rascal resubscribes');
    });
    // Only for application/json that does not parse: not a warren batch.
    // Without this listener Rascal would nack it.
    session.on('invalid_content', (error: Error, message: Message, ackOrNack: () => void) => {
      if (handled(message)) this.drop(message, error.message);
      ackOrNack();
    });
    // A first consume that fails is not retried by Rascal: the daemon
    // cannot start without it.
    const consuming = new Promise<void>((resolve, reject) => {
      const failed = (error: Error) => reject(new Error(`rabbitmq: could not consume the stream ${STREAM}: ${error.message}`));
      session.once('error', failed);
      // (@types/rascal lacks this overload.)
      (session as NodeJS.EventEmitter).once('subscribed', () => {
        session.off('error', failed);
        resolve();
      });
    });
    // Every delivery is acked, whatever happens to it, and never nacked: on
    // a stream a nack (any `ackOrNack(error)` of Rascal's) closes the whole
    // connection with 540 NOT_IMPLEMENTED. Rascal emits the delivery
    // synchronously from amqplib's frame loop, so the offset is moved before
    // any reconnection can read it.
    session.on('message', (message: Message, content: unknown, ackOrNack: () => void) => {
      if (!handled(message)) return ackOrNack();
      const { contentType, messageId } = message.properties;
      if (this.state === 'closed') return ackOrNack(); // Rascal's shutdown waits for every ack
      if (contentType === MARKER_CONTENT_TYPE) {
        if (messageId === marker) caughtUp();
        return ackOrNack();
      }
      if (contentType !== BATCH_CONTENT_TYPE || !Buffer.isBuffer(content)) {
        this.drop(message, `content type ${contentType}`);
        return ackOrNack();
      }
      try {
        deliver(content, this.offset!);
        this.batchesDelivered++;
      } catch (error) {
        this.log.error({ err: error }, 'rabbitmq: delivering a batch failed; it is acked and dropped');
      }
      ackOrNack();
    });
    await consuming;
    await this.send(Buffer.alloc(0), MARKER_CONTENT_TYPE, Date.now() + MARKER_TIMEOUT_MS, marker);
    await filled;
  }

  /**
   * Consumes this daemon's presence queue, from the start on: `listen` only
   * says where deliveries go. Rascal consumes again by itself after every
   * reconnect (the queue, gone with the old connection, declared again
   * first); a first consume that fails is not retried, so the adapter is
   * not handed out without it.
   */
  async consumePresence(): Promise<void> {
    const session = await new Promise<SubscriptionSession>((resolve, reject) =>
      this.broker.subscribe(PRESENCE, (error, subscription) => (error ? reject(error) : resolve(subscription))),
    );
    this.presenceSession = session;
    // At debug level: the connection's loss is logged once already, and
    // presence heals what it missed meanwhile.
    session.on('error', (error: Error) => this.log.debug({ err: error.message }, 'rabbitmq: the presence subscription lost its channel; Rascal resubscribes'));
    session.on('invalid_content', (_error: Error, _message: Message, ackOrNack: () => void) => {
      this.presenceCounts.dropped++;
      ackOrNack();
    });
    const consuming = new Promise<void>((resolve, reject) => {
      const failed = (error: Error) => reject(new Error(`rabbitmq: could not consume the presence queue: ${error.message}`));
      session.once('error', failed);
      (session as NodeJS.EventEmitter).once('subscribed', () => {
        session.off('error', failed);
        resolve();
      });
    });
    // Acked whatever happens (a classic queue, so a nack would only drop it).
    session.on('message', (message: Message, content: unknown, ackOrNack: () => void) => {
      ackOrNack();
      if (this.state === 'closed') return;
      if (message.properties.contentType !== PRESENCE_CONTENT_TYPE || !Buffer.isBuffer(content) || this.presenceListener === undefined) {
        this.presenceCounts.dropped++;
        return;
      }
      try {
        this.presenceListener(content);
        this.presenceCounts.delivered++;
      } catch (error) {
        this.log.error({ err: error }, 'rabbitmq: delivering a presence message failed; it is dropped');
      }
    });
    await consuming;
  }

  private publishPresence(message: Buffer): boolean {
    // While blocked, RabbitMQ stops reading the connection: what is written
    // waits in the socket, stale by the time it is read.
    if (this.state !== 'connected' || this.blocked !== undefined) {
      this.presenceCounts.refused++;
      return false;
    }
    let sent = true;
    // Rascal calls back at once.
    this.broker.publish(PRESENCE, message, { options: { contentType: PRESENCE_CONTENT_TYPE } }, (error, session) => {
      if (error) {
        this.log.warn({ err: error.message }, 'rabbitmq: Rascal refused a presence message');
        sent = false;
        return;
      }
      // The connection went before this adapter heard of it: Rascal would
      // hold the message until a reconnect, by when it is stale. (Told at
      // once if the vhost is paused already, else when it pauses before a
      // channel was lent.)
      (session as NodeJS.EventEmitter).on('paused', () => session.abort()); // (@types/rascal lacks this overload.)
      session.on('error', (cause: Error) => this.log.debug({ err: cause.message }, 'rabbitmq: a presence message was lost'));
    });
    if (sent) this.presenceCounts.published++;
    else this.presenceCounts.refused++;
    return sent;
  }

  onStateChange(listener: (change: StateChange) => void): void {
    this.listeners.push(listener);
  }

  info(): Record<string, unknown> {
    return {
      url: this.url,
      stream: STREAM,
      offset: this.offset,
      reconnects: this.reconnects,
      ...(this.blocked !== undefined && { blocked: this.blocked }),
      batchesDelivered: this.batchesDelivered,
      batchesDropped: this.batchesDropped,
      batchesRepeated: this.batchesRepeated,
      presence: { queue: this.presenceQueue, ...this.presenceCounts },
    };
  }

  /** The presence queue's name in RabbitMQ: the topology's, with the uuid Rascal gave this daemon. */
  private get presenceQueue(): string | undefined {
    return (this.broker.config as { vhosts?: Record<string, { queues?: Record<string, { fullyQualifiedName?: string }> }> }).vhosts?.[VHOST]?.queues?.[PRESENCE]?.fullyQualifiedName;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const connected = this.state === 'connected';
    this.failInFlight('the RabbitMQ adapter closed');
    this.change({ state: 'closed' });
    // Without a connection the broker may well not answer: not worth holding the shutdown for.
    if (connected) await this.deletePresenceQueue();
    await shutdownBroker(this.broker);
  }

  /**
   * Deletes this daemon's presence queue (not exclusive: rascal_config.ts),
   * so that RabbitMQ stops filling it now rather than a minute later (its
   * x-expires). Its consumer is cancelled first: deleting the queue under
   * it would make Rascal consume again. Rascal lends none of its channels,
   * so the delete goes on a connection of its own that Rascal opens to the
   * same broker (broker.connect, its way to the channel API), closed at
   * once. A broker that does not answer within PRESENCE_DELETE_TIMEOUT_MS
   * is left to expire the queue itself; the delete, if it comes later,
   * still closes its connection.
   */
  private async deletePresenceQueue(): Promise<void> {
    const queue = this.presenceQueue;
    if (queue === undefined) return;
    const deleting = (async () => {
      await new Promise<void>((resolve) => (this.presenceSession ? this.presenceSession.cancel(() => resolve()) : resolve()));
      const connection = await new Promise<CallbackConnection>((resolve, reject) =>
        this.broker.connect(VHOST, (error, made) => (error ? reject(error) : resolve(made as unknown as CallbackConnection))),
      );
      // Errors reach the callbacks too; without a listener they would crash the process.
      connection.on('error', () => {});
      try {
        await new Promise<void>((resolve, reject) =>
          connection.createChannel((error, channel) => {
            if (error) return reject(error);
            channel.on('error', () => {});
            channel.deleteQueue(queue, {}, (deleteError) => (deleteError ? reject(deleteError) : resolve()));
          }),
        );
      } finally {
        connection.close(() => {});
      }
    })();
    const outcome = await within(
      deleting.then(
        () => 'deleted',
        (error: Error) => error.message,
      ),
      PRESENCE_DELETE_TIMEOUT_MS,
    );
    if (outcome === 'deleted') this.log.debug({ queue }, 'rabbitmq: deleted the presence queue');
    else this.log.warn({ queue, reason: outcome ?? `no answer within ${PRESENCE_DELETE_TIMEOUT_MS} ms` }, 'rabbitmq: could not delete the presence queue; it expires by itself');
  }

  private refusal(deadline: number): string | undefined {
    if (this.state === 'closed') return 'the RabbitMQ adapter is closed';
    if (this.state !== 'connected') return `no connection to RabbitMQ (${this.state})`;
    if (this.blocked !== undefined) return `RabbitMQ blocks publishing (${this.blocked})`;
    if (deadline <= Date.now()) return 'the deadline passed before the batch was published';
    return undefined;
  }

  private connected(connectionUrl: string): void {
    if (this.state === 'closed') return;
    this.reconnects++;
    this.attempts = 0;
    this.blocked = undefined; // a new connection; RabbitMQ tells again if the alarm holds
    this.url = maskedUrl(connectionUrl);
    this.change({ state: 'connected', url: this.url });
  }

  private lost(reason: string): void {
    if (this.state === 'closed') return;
    if (this.state === 'connected') {
      // No confirm can come for them any more: it would come on the lost channel.
      this.failInFlight(`the connection to RabbitMQ was lost (${reason})`);
      this.change({ state: 'disconnected', reason });
    } else {
      this.change({ state: 'reconnecting', attempt: ++this.attempts, reason });
    }
  }

  private failInFlight(reason: string): void {
    for (const fail of [...this.inFlight]) fail(reason);
  }

  private drop(message: Message, why: string): void {
    this.batchesDropped++;
    this.log.warn({ messageId: message.properties.messageId, why }, 'rabbitmq: dropped a message that is not a warren batch');
  }

  /** One log line when the state changes; repeated reconnection attempts only at debug level. */
  private change(change: StateChange): void {
    const previous = this.state;
    this.state = change.state;
    if (change.state === previous) this.log.debug(change, `rabbitmq: ${change.state}`);
    else if (change.state === 'connected') this.log.info(change, `rabbitmq: connected to ${change.url}`);
    else if (change.state === 'closed') this.log.info('rabbitmq: closed');
    else this.log.warn(change, `rabbitmq: ${change.state} (${change.reason})`);
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        // Thrown into Rascal's event handler, it would stop the reconnection.
        this.log.error({ err: error }, 'rabbitmq: a state change listener threw');
      }
    }
  }
}
