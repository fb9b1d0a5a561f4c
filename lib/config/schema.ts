// What a valid configuration is. The default values live in
// config/default.json; this file says what each setting may be and why the
// limits have the defaults they have.
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { isOriginEntry } from '../http/origins';
import { isRoomName, ROOM_NAME_RULE } from '../protocol/fields';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** What a shutdown needs after the drain window: the last batch's acks, and the tree's stop. */
export const DRAIN_LEEWAY_MS = 2_000;

function integer(min: number, max: number) {
  const error = `expected an integer from ${min} to ${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

/**
 * A string that passes `test`, with one message for every way it can fail.
 * A failure aborts, so the checks across settings below never run on a value
 * already refused (no "token required" for an admin host that is no host).
 */
function text(expected: string, test: (value: string) => boolean) {
  const error = `expected ${expected}`;
  return z.string({ error }).refine(test, { error, abort: true });
}

/** A group of settings; a key it does not know is an error (reported as "unknown setting"). */
function group<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  return z.strictObject(shape, { error: 'expected an object' });
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const host = text('an IP address or a host name', (value) => isIP(value) !== 0 || HOST_NAME.test(value));
const port = integer(0, 65535).describe('0 picks a free port');

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (also written out or IPv4-mapped) or localhost. */
export function isLoopback(address: string): boolean {
  if (address.toLowerCase() === 'localhost') return true;
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function isAmqpUrl(value: string): boolean {
  return URL.canParse(value) && ['amqp:', 'amqps:'].includes(new URL(value).protocol);
}

const MIB = 1024 * 1024;

const IDLE_TIMEOUT = 'expected 0 or an integer from 8 to 960';

/** The JWS algorithms a token may be signed with (LIBRARIES.md §8); `none` is never one of them. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const PUBLIC_KEY_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
const ALGORITHMS = [...HMAC_ALGORITHMS, ...PUBLIC_KEY_ALGORITHMS] as const;
/** RFC 7518 3.2: an HMAC key at least as long as the hash; jose itself accepts any length. */
export const MIN_HMAC_SECRET_BYTES = 32;

// lib/http/origins.ts says exactly what passes: what a browser sends as Origin.
const ORIGIN_RULE = 'http(s)://host[:port], or http(s)://*.host[:port] for its subdomains';

export const ConfigSchema = group({
  port,
  host,
  admin: group({
    port,
    host,
    // Sent as `Authorization: Bearer <token>`, so visible ASCII only.
    token: text('a token of visible ASCII characters', (value) => /^[\x21-\x7e]+$/.test(value)).optional(),
  }),
  allowedOrigins: z
    .array(text(`an origin: ${ORIGIN_RULE}`, isOriginEntry), { error: 'expected a list of origins' })
    .describe("browsers' origins allowed to open websockets besides the daemon's own: against cross-site websocket hijacking"),
  auth: group({
    mode: z.enum(['off', 'required'], { error: 'expected off or required' }),
    hmacSecret: text(`a secret of at least ${MIN_HMAC_SECRET_BYTES} bytes`, (value) => Buffer.byteLength(value) >= MIN_HMAC_SECRET_BYTES)
      .optional()
      .describe('the key of HS256/384/512 tokens; a shorter one can be brute-forced from a single token'),
    publicKeyFile: text('a file path', (value) => value.length > 0).optional().describe('a PEM public key (SPKI) for RS/PS/ES/EdDSA tokens'),
    jwksFile: text('a file path', (value) => value.length > 0).optional().describe('a local JWKS file, its keys chosen by `kid`: no fetch on the upgrade path'),
    algorithms: z
      .array(z.enum(ALGORITHMS, { error: `expected one of ${ALGORITHMS.join(', ')}` }), { error: 'expected a list of algorithms' })
      .min(1, { error: 'expected at least one algorithm' })
      .optional()
      .describe("the allow-list; absent: every algorithm of the configured key's kind"),
    issuer: text('an issuer', (value) => value.length > 0).optional().describe('when set, the `iss` every token must carry'),
    audience: text('an audience', (value) => value.length > 0).optional().describe('when set, the `aud` every token must carry'),
    clockToleranceSeconds: integer(0, 300).describe('leeway for `exp` and `nbf` between the issuer\'s clock and ours; small, so an expired token stays expired'),
    refreshSeconds: integer(1, 3600).describe('PROTOCOL.md: token_expiring is sent 30 s before `exp`, time enough for a client to fetch a new token'),
    allowQueryToken: z.boolean({ error: 'expected true or false' }).describe('accept ?token= in the URL; off by default because URLs end up in logs'),
  }),
  logLevel: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }),
  defaultRoom: text(`a room name (${ROOM_NAME_RULE})`, isRoomName),
  nodeId: text('1 to 64 of A-Z a-z 0-9 _ . - starting with a letter or digit', (value) => /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(value))
    .optional()
    .describe('names this process in `welcome`, /debug/tree and metrics; generated at start when absent'),
  publishTimeoutMs: integer(100, 60_000).describe('PROTOCOL.md: a say the broker has not confirmed within 5 s gets `unavailable`'),
  shutdownTimeoutMs: integer(0, 600_000).describe(
    'longest drain on SIGTERM before the remaining sockets are closed; production stays under the 30 s a container orchestrator usually grants',
  ),
  shutdown: group({
    drainSeconds: integer(0, 600).describe(
      'PROTOCOL.md: SIGTERM closes the sockets with 1001 in batches over 10 s, so their clients reconnect to other nodes gradually, as Phoenix\'s drainer does; 0: all at once',
    ),
  }),
  limits: group({
    maxPayloadBytes: integer(1024, 16 * MIB).describe(
      'larger frames close with 1009; 64 KiB holds the largest valid say with room to spare and bounds what one frame costs to parse',
    ),
    maxTextChars: integer(1, 100_000).describe('PROTOCOL.md: text is 1-4000 characters, and clients may rely on it'),
    maxRooms: integer(1, 10_000).describe("PROTOCOL.md: 32 rooms per connection, the connect room included; bounds one socket's share of the relay"),
    rate: group({ perSecond: integer(1, 100_000), burst: integer(1, 1_000_000) }).describe(
      'PROTOCOL.md: 50 frames/s sustained, bursts of 200: far above a person typing, far below a flood',
    ),
    ratePolicy: group({ maxDropped: integer(1, 1_000_000), windowMs: integer(1000, 3_600_000) }).describe(
      'PROTOCOL.md: over 100 frames dropped within 10 s closes with 1008: the client ignores rate_limited',
    ),
    maxBufferedBytes: integer(64 * 1024, 1024 * MIB).describe(
      'unsent bytes before a client that stopped reading is closed with 1013; 1 MiB is thousands of chat messages, so only a stuck client reaches it',
    ),
    maxConnections: integer(1, 10_000_000).describe(
      'websockets this node holds at most; past it, upgrades get 503 with Retry-After, so a load balancer sends them to other nodes',
    ),
    connectRate: integer(1, 1_000_000).describe(
      'new websockets per second (bursts of twice that): the reconnect storm after another node dies is spread out, not taken at once',
    ),
    idleTimeoutSeconds: z
      .int({ error: IDLE_TIMEOUT })
      .refine((value) => value === 0 || (value >= 8 && value <= 960), { error: IDLE_TIMEOUT })
      .describe('uWebSockets.js closes a socket silent this long (0: never); any other value aborts the process in its C++ code'),
  }),
  history: group({
    size: integer(1, 10_000).describe('PROTOCOL.md: each room keeps its last 100 messages, what `join` with `history` (at most 100) can ask for'),
    ttlSeconds: integer(1, 7 * 86_400).describe('PROTOCOL.md: a message older than an hour is not replayed; a chat is about now'),
    maxBytes: integer(MIB, 64 * 1024 * MIB).describe(
      "frame bytes the node keeps for all rooms together, least recently active rooms forgotten first; 64 MiB is 100 messages of 200 bytes in over 3,000 rooms",
    ),
    maxRecover: integer(1, 10_000).describe(
      'PROTOCOL.md: a recovery sends at most 300 messages; a client that missed more gets recovered:false and the recent history, as Centrifugo does',
    ),
  }),
  presence: group({
    maxListed: integer(1, 10_000).describe(
      'PROTOCOL.md: a presence frame lists at most 100 members and diffs above that carry only counts, as Pusher caps presence channels: a list of thousands is no use to a person and costs every member each change',
    ),
    downAfterSeconds: integer(1, 3600).describe(
      'PROTOCOL.md: the members of a node not heard from this long leave (15 s); a node that stops cleanly says goodbye at once, so this is only for one that died',
    ),
    heartbeatMs: integer(100, 60_000).describe(
      "how often a node tells the others its presence seq: a node that missed a delta asks for a snapshot within one heartbeat, and a node that died is noticed downAfterSeconds after its last one",
    ),
  }),
  broker: group({
    url: z
      .array(text('an amqp:// or amqps:// URL', isAmqpUrl), { error: 'expected a list of amqp:// or amqps:// URLs' })
      .min(1, { error: 'expected at least one URL' })
      .optional()
      .describe('several URLs for failover; absent: the in-process broker'),
    prefetch: integer(1, 65_535).describe(
      'unacknowledged deliveries in flight to this node: keeps the relay busy without letting one slow node hoard messages; a stream consumer needs at least 1',
    ),
    reconnect: group({ minMs: integer(10, 600_000), maxMs: integer(10, 600_000) }).describe(
      'backoff between connection attempts, doubling from minMs up to maxMs',
    ),
    startupTimeoutMs: integer(0, 600_000).describe(
      'how long start keeps trying to reach RabbitMQ before it exits non-zero naming AMQP_URL: a node that never reached its broker is misconfigured, while a later outage is ridden out',
    ),
  }),
}).superRefine((config, ctx) => {
  const issue = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (config.admin.token === undefined && !isLoopback(config.admin.host)) {
    issue(['admin', 'token'], `required because admin.host ${JSON.stringify(config.admin.host)} is not loopback (127.0.0.0/8, ::1, localhost)`);
  }
  const { auth } = config;
  const publicKeys = [...(auth.publicKeyFile === undefined ? [] : ['auth.publicKeyFile']), ...(auth.jwksFile === undefined ? [] : ['auth.jwksFile'])];
  if (auth.hmacSecret !== undefined && publicKeys.length > 0) issue(['auth', 'hmacSecret'], `must not be set together with ${publicKeys.join(' and ')}: give one key source`);
  else if (publicKeys.length > 1) issue(['auth', 'jwksFile'], 'must not be set together with auth.publicKeyFile: give one key source');
  if (auth.mode === 'required' && auth.hmacSecret === undefined && publicKeys.length === 0) {
    issue(['auth', 'mode'], 'required needs a key: auth.hmacSecret (AUTH_HMAC_SECRET), auth.publicKeyFile (AUTH_PUBLIC_KEY_FILE) or auth.jwksFile (AUTH_JWKS_FILE)');
  }
  // Key confusion: with HS* allowed next to a public key, a token signed with
  // the public key's text as an HMAC secret would verify.
  const hmac = auth.algorithms?.filter((algorithm) => (HMAC_ALGORITHMS as readonly string[]).includes(algorithm)) ?? [];
  if (publicKeys.length > 0 && hmac.length > 0) issue(['auth', 'algorithms'], `${hmac.join(', ')} must not be allowed with a public key (key confusion)`);
  const asymmetric = auth.algorithms?.filter((algorithm) => !(HMAC_ALGORITHMS as readonly string[]).includes(algorithm)) ?? [];
  if (auth.hmacSecret !== undefined && asymmetric.length > 0) issue(['auth', 'algorithms'], `${asymmetric.join(', ')} need a public key, not auth.hmacSecret`);
  // Three heartbeats lost in a row must not make a live node look dead.
  if (config.presence.heartbeatMs * 3 > config.presence.downAfterSeconds * 1000) {
    issue(['presence', 'heartbeatMs'], 'must be at most a third of presence.downAfterSeconds: a live node would be declared down after a few late heartbeats');
  }
  // The last batch closes at the end of the window; its sockets' pending acks
  // and the tree's stop need the rest of the time.
  if (config.shutdown.drainSeconds > 0 && config.shutdown.drainSeconds * 1000 + DRAIN_LEEWAY_MS > config.shutdownTimeoutMs) {
    issue(['shutdown', 'drainSeconds'], `must leave ${DRAIN_LEEWAY_MS} ms of shutdownTimeoutMs (${config.shutdownTimeoutMs}) after the drain window`);
  }
  if (config.broker.reconnect.minMs > config.broker.reconnect.maxMs) {
    issue(['broker', 'reconnect', 'minMs'], 'must not exceed broker.reconnect.maxMs');
  }
  // A say of astral characters each written as a \uXXXX\uXXXX escape takes 12
  // bytes per character, plus under 1 KiB for id, room and keys. Such a frame
  // must reach the codec (and get too_large if too long), not be closed with 1009.
  const largestSay = 12 * config.limits.maxTextChars + 1024;
  if (config.limits.maxPayloadBytes < largestSay) {
    issue(['limits', 'maxPayloadBytes'], `must be at least 12 × limits.maxTextChars + 1024 = ${largestSay}, the largest valid say`);
  }
});

type DeepReadonly<T> = T extends readonly (infer Item)[]
  ? readonly DeepReadonly<Item>[]
  : T extends object
    ? { readonly [Key in keyof T]: DeepReadonly<T[Key]> }
    : T;

export type Config = DeepReadonly<z.output<typeof ConfigSchema>>;
