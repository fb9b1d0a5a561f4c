// The settings that environment variables and command-line flags can set,
// as PROTOCOL.md "Starting the daemon" lists them; the help text is built
// from this table. The other settings are in the config files only.
import { LOG_LEVELS } from './schema';

export interface Setting {
  /** Where the value goes in Config, dotted. */
  readonly path: string;
  readonly env: string;
  readonly flag?: string;
  /** How the text of a variable or flag becomes a value. */
  readonly kind: 'integer' | 'boolean' | 'string' | 'list';
  readonly meaning: string;
  /** Never echoed in an error or the help text: it may hold a password. */
  readonly secret?: boolean;
}

export const SETTINGS: readonly Setting[] = [
  { path: 'port', env: 'PORT', flag: '--port', kind: 'integer', meaning: 'public port (websocket, chat page, health); 0 picks a free port' },
  { path: 'host', env: 'HOST', flag: '--host', kind: 'string', meaning: 'public bind address' },
  { path: 'admin.port', env: 'ADMIN_PORT', flag: '--admin-port', kind: 'integer', meaning: 'admin port (debug, metrics); 0 picks a free port' },
  { path: 'admin.host', env: 'ADMIN_HOST', flag: '--admin-host', kind: 'string', meaning: 'admin bind address' },
  // No flag: a command line is visible to every user of the machine.
  { path: 'admin.token', env: 'ADMIN_TOKEN', kind: 'string', secret: true, meaning: 'admin bearer token; required when ADMIN_HOST is not loopback' },
  {
    path: 'broker.url', env: 'AMQP_URL', flag: '--amqp-url', kind: 'list', secret: true,
    meaning: 'RabbitMQ URL (amqp:// or amqps://), or several separated by commas for failover; none: the in-process broker',
  },
  { path: 'auth.mode', env: 'AUTH_MODE', flag: '--auth-mode', kind: 'string', meaning: 'off, or required: every websocket needs a JSON Web Token' },
  // No flag for a secret: a command line is visible to every user of the machine.
  { path: 'auth.hmacSecret', env: 'AUTH_HMAC_SECRET', kind: 'string', secret: true, meaning: 'HMAC key of HS256/384/512 tokens, at least 32 bytes' },
  { path: 'auth.publicKeyFile', env: 'AUTH_PUBLIC_KEY_FILE', flag: '--auth-public-key-file', kind: 'string', meaning: 'PEM public key of RS/PS/ES/EdDSA tokens' },
  { path: 'auth.jwksFile', env: 'AUTH_JWKS_FILE', flag: '--auth-jwks-file', kind: 'string', meaning: 'local JWKS file of RS/PS/ES/EdDSA tokens' },
  { path: 'auth.algorithms', env: 'AUTH_ALGORITHMS', flag: '--auth-algorithms', kind: 'list', meaning: "allowed JWS algorithms, comma-separated; none: all of the key's kind" },
  { path: 'auth.issuer', env: 'AUTH_ISSUER', flag: '--auth-issuer', kind: 'string', meaning: 'the `iss` tokens must carry' },
  { path: 'auth.audience', env: 'AUTH_AUDIENCE', flag: '--auth-audience', kind: 'string', meaning: 'the `aud` tokens must carry' },
  { path: 'auth.clockToleranceSeconds', env: 'AUTH_CLOCK_TOLERANCE_SECONDS', flag: '--auth-clock-tolerance-seconds', kind: 'integer', meaning: 'leeway in seconds for a token\'s exp and nbf' },
  { path: 'auth.refreshSeconds', env: 'AUTH_REFRESH_SECONDS', flag: '--auth-refresh-seconds', kind: 'integer', meaning: 'token_expiring is sent this many seconds before exp' },
  { path: 'auth.allowQueryToken', env: 'AUTH_ALLOW_QUERY_TOKEN', flag: '--auth-allow-query-token', kind: 'boolean', meaning: 'accept ?token= in the URL (true or false)' },
  { path: 'allowedOrigins', env: 'ALLOWED_ORIGINS', flag: '--allowed-origins', kind: 'list', meaning: "origins allowed to open websockets besides the daemon's own, comma-separated" },
  { path: 'limits.maxConnections', env: 'MAX_CONNECTIONS', flag: '--max-connections', kind: 'integer', meaning: 'websockets this node holds at most' },
  { path: 'limits.connectRate', env: 'CONNECT_RATE', flag: '--connect-rate', kind: 'integer', meaning: 'new websockets per second this node accepts (bursts of twice that)' },
  { path: 'limits.rate.perSecond', env: 'FRAME_RATE', flag: '--frame-rate', kind: 'integer', meaning: 'frames per second each websocket may send, sustained' },
  { path: 'limits.rate.burst', env: 'FRAME_BURST', flag: '--frame-burst', kind: 'integer', meaning: 'frames each websocket may send at once above FRAME_RATE' },
  { path: 'history.size', env: 'HISTORY_SIZE', flag: '--history-size', kind: 'integer', meaning: 'messages each room keeps for `join` with `history`' },
  { path: 'history.ttlSeconds', env: 'HISTORY_TTL_SECONDS', flag: '--history-ttl-seconds', kind: 'integer', meaning: 'seconds a message stays in its room\'s history' },
  { path: 'history.maxRecover', env: 'HISTORY_MAX_RECOVER', flag: '--history-max-recover', kind: 'integer', meaning: 'messages a recovery sends at most; past it, recovered: false' },
  { path: 'presence.maxListed', env: 'PRESENCE_MAX_LISTED', flag: '--presence-max-listed', kind: 'integer', meaning: 'members a presence frame lists; above it, diffs carry only counts' },
  { path: 'presence.downAfterSeconds', env: 'PRESENCE_DOWN_AFTER_SECONDS', flag: '--presence-down-after-seconds', kind: 'integer', meaning: 'seconds after which the members of a silent node leave' },
  { path: 'presence.heartbeatMs', env: 'PRESENCE_HEARTBEAT_MS', flag: '--presence-heartbeat-ms', kind: 'integer', meaning: "ms between a node's presence heartbeats" },
  { path: 'logLevel', env: 'LOG_LEVEL', flag: '--log-level', kind: 'string', meaning: `pino level: ${LOG_LEVELS.join(', ')}` },
  {
    path: 'shutdown.drainSeconds', env: 'SHUTDOWN_DRAIN_SECONDS', flag: '--shutdown-drain-seconds', kind: 'integer',
    meaning: 'seconds over which SIGTERM/SIGINT closes the sockets with 1001, in batches (0: all at once)',
  },
  {
    path: 'shutdownTimeoutMs', env: 'SHUTDOWN_TIMEOUT_MS', flag: '--shutdown-timeout-ms', kind: 'integer',
    meaning: 'longest drain on SIGTERM/SIGINT, in ms, before the remaining sockets are closed',
  },
];

