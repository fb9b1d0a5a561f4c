/**
 * Bringing a Rascal broker up, and down again, without its traps
 * (LIBRARIES.md §3):
 * - `Broker.create` tries each URL once and gives up: the retry with backoff
 *   until `broker.startupTimeoutMs` is ours.
 * - A failed `Broker.create` leaves a keep-alive `setInterval` behind, so the
 *   process would never exit. Hence no create while no URL accepts a TCP
 *   connection (the ordinary "RabbitMQ is down" case), and a shutdown of the
 *   half-made broker when one fails anyway.
 * - `shutdown()` can wait forever during an outage (see `shutdownBroker`).
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Broker, type BrokerConfig } from 'rascal';
import type { Config } from '../config';
import { log } from '../log';

// A TCP handshake with a reachable host takes milliseconds; without a limit
// a host that drops packets would hold each probe for the OS's ~2 minutes.
const PROBE_TIMEOUT_MS = 2_000;
// An attempt ends at the startup deadline: against a host that accepts TCP
// and never speaks AMQP, Broker.create would wait out Rascal's
// connection_timeout (10 s), past a shorter startup timeout. A RabbitMQ that
// answers takes milliseconds; the floor gives even a zero timeout one try.
const MIN_ATTEMPT_MS = 2_000;
// A clean shutdown is a few round trips (milliseconds); one that hangs will
// not end by itself, and the daemon has a shutdown deadline to keep.
const SHUTDOWN_TIMEOUT_MS = 2_000;

const HOME_NODE_DOWN = /NOT_FOUND - home node .* of durable queue .* is down or inaccessible/;

/** The broker of the first URL that answers, or an error naming the setting, the URLs and why. */
export async function startBroker(rascalConfig: BrokerConfig, settings: Config['broker']): Promise<Broker> {
  const { url: urls = [], startupTimeoutMs, reconnect } = settings;
  const where = urls.map(maskedUrl).join(', ');
  const giveUpAt = Date.now() + startupTimeoutMs;
  let delay = reconnect.minMs;
  for (let attempt = 1; ; attempt++) {
    const outcome = await tryOnce(rascalConfig, urls, where, giveUpAt);
    if ('broker' in outcome) return outcome.broker;
    const remaining = giveUpAt - Date.now();
    if (remaining <= 0) throw new Error(`AMQP_URL: ${outcome.failure} at ${where} within ${startupTimeoutMs} ms (${outcome.reason})`);
    if (attempt === 1) log.warn({ url: where, reason: outcome.reason }, `rabbitmq: ${outcome.failure}; retrying for up to ${startupTimeoutMs} ms`);
    else log.debug({ url: where, reason: outcome.reason, attempt }, `rabbitmq: ${outcome.failure}; retrying`);
    await sleep(Math.min(delay, remaining));
    delay = Math.min(delay * 2, reconnect.maxMs);
  }
}

/** A broker, or why there is none this time; throws if RabbitMQ refused the topology, as it would again. */
async function tryOnce(
  rascalConfig: BrokerConfig,
  urls: readonly string[],
  where: string,
  giveUpAt: number,
): Promise<{ broker: Broker } | { failure: string; reason: string }> {
  const silence = await noAnswer(urls);
  if (silence !== undefined) return { failure: 'no RabbitMQ answered', reason: silence };
  const created = new Promise<[Error | null, Broker]>((resolve) => Broker.create(rascalConfig, (...outcome) => resolve(outcome)));
  const attemptMs = Math.max(giveUpAt - Date.now(), MIN_ATTEMPT_MS);
  const outcome = await within(created, attemptMs);
  if (outcome === undefined) {
    // Too late for this start: whatever the create still makes is shut down once made.
    void created.then(([, late]) => shutdownBroker(late));
    return { failure: 'could not connect to RabbitMQ', reason: `no AMQP handshake within ${attemptMs} ms` };
  }
  const [error, broker] = outcome;
  if (!error) return { broker };
  await shutdownBroker(broker); // clears the keep-alive timer a failed create leaves
  // An AMQP reply code means RabbitMQ answered and refused what was asked
  // (an exchange that exists with another type, say). Rascal leaves that
  // connection open, out of reach: the error is final, the daemon exits.
  // A RabbitMQ that is stopping closes with 320 CONNECTION_FORCED, which
  // reaches us without a code ("Channel ended, no reply will be
  // forthcoming"), so it is retried as any failed connection is.
  // Except one: for a moment after a RabbitMQ node starts (~250 ms), it
  // answers the declaration of a durable queue it holds, the stream, with
  // 404 "home node ... of durable queue ... is down or inaccessible" until
  // the stream's process is back; the same declaration then succeeds.
  const code = (error as { code?: unknown }).code;
  if (code === 404 && HOME_NODE_DOWN.test(error.message)) return { failure: 'RabbitMQ is still starting the stream', reason: error.message };
  if (typeof code === 'number') throw new Error(`AMQP_URL: RabbitMQ at ${where} refused config/rascal.json: ${error.message}`);
  return { failure: 'could not connect to RabbitMQ', reason: error.message };
}

/**
 * Shuts the broker down; if Rascal has not finished within
 * SHUTDOWN_TIMEOUT_MS, gives up on it and removes its keep-alive timer so
 * the process can still exit. That happens when the connection is down and
 * a publish had asked Rascal's channel pool for a channel: the pool then
 * waits for the reconnect to create it, and its drain waits for the pool.
 */
export function shutdownBroker(broker: Broker): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log.warn(`rabbitmq: Rascal did not shut down within ${SHUTDOWN_TIMEOUT_MS} ms (it waits for a channel only a reconnection can create); leaving it`);
      clearInterval((broker as unknown as { keepActive?: NodeJS.Timeout }).keepActive);
      resolve();
    }, SHUTDOWN_TIMEOUT_MS);
    broker.shutdown((error) => {
      clearTimeout(timer);
      if (error) log.warn({ err: error.message }, 'rabbitmq: error while shutting down');
      resolve();
    });
  });
}

/** What `promise` gives within `ms`, or undefined. */
/** What `promise` gives, or undefined if it has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The URL without its password or query (Rascal adds its connection options there). */
export function maskedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  parsed.search = '';
  return parsed.toString();
}

/** Undefined once one of `urls` accepts a TCP connection; else why the last did not. */
async function noAnswer(urls: readonly string[]): Promise<string | undefined> {
  let reason = 'no URL';
  for (const url of urls) {
    const refused = await tcpRefusal(url);
    if (refused === undefined) return undefined;
    reason = refused;
  }
  return reason;
}

function tcpRefusal(url: string): Promise<string | undefined> {
  const { protocol, hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(port) || (protocol === 'amqps:' ? 5671 : 5672) });
    socket.setTimeout(PROBE_TIMEOUT_MS, () => {
      socket.destroy();
      resolve(`connect: no answer within ${PROBE_TIMEOUT_MS} ms`);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.syscall && error.code ? `${error.syscall} ${error.code}` : error.message));
  });
}
