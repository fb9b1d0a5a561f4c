/**
 * The command line of `npm run bench` (a pure function, so it is specced).
 */
import { MIN_HMAC_SECRET_BYTES } from '../lib/config/schema';

export type Broker = 'local' | 'rabbitmq';

export interface BenchOptions {
  readonly clients: number;
  readonly messages: number;
  readonly rooms: number;
  /** Direct messages: clients in pairs, each pair a room of two (`rooms` is clients / 2). */
  readonly direct: boolean;
  /** Paced mode: each client sends evenly spaced says for this many seconds (paced.ts). */
  readonly duration?: number;
  /** With `duration`: says per second per client; absent: the sweep against the baseline's saturation. */
  readonly ratePerClient?: number;
  /** Characters of each message's `text`, send time included. */
  readonly payload: number;
  /** An already running daemon (ws://host:port); absent: the bench starts one. */
  readonly url?: string;
  /** Its process id, to read its CPU and memory from /proc. */
  readonly pid?: number;
  readonly broker: Broker;
  /** A running RabbitMQ for `--broker rabbitmq`; absent: a private node. */
  readonly amqpUrl?: string;
  readonly timeoutSeconds: number;
  /** Threads of the load generator. */
  readonly workers: number;
  /** Fanout runs per target, alternating targets; the median is reported. */
  readonly repeat: number;
  readonly baseline: boolean;
  /** Idle-connections mode: this many connections, no messages. */
  readonly idle?: number;
  /** Reconnect-storm mode: this many clients recover `messages` missed messages at once. */
  readonly reconnectStorm?: number;
  /** Presence mode: this many connections join one room with presence (presence.ts). */
  readonly presence?: number;
  /** The daemon's limit (PROTOCOL.md): the bench paces its `say`s under it. */
  readonly rate: number;
  readonly burst: number;
  /** Run the daemon under `node --cpu-prof`; profiles land in `<out>/profiles`. */
  readonly profile: boolean;
  readonly out: string;
  /** Every client offers a token of its own; the daemon the bench starts requires one. */
  readonly auth: boolean;
  /**
   * The HMAC secret tokens are signed with (--auth-secret or AUTH_HMAC_SECRET);
   * absent for a daemon the bench starts: a random one per run. Never written
   * to the results (writeResults leaves it out).
   */
  readonly authSecret?: string;
}

export const DEFAULTS: BenchOptions = {
  clients: 100,
  messages: 100,
  rooms: 1,
  direct: false,
  payload: 64,
  broker: 'local',
  timeoutSeconds: 60,
  workers: 2,
  repeat: 1,
  baseline: true,
  rate: 50,
  burst: 200,
  profile: false,
  out: 'bench/results',
  auth: false,
};

export const DEFAULT_IDLE = 10_000;
export const DEFAULT_STORM = 1_000;
export const DEFAULT_PRESENCE = 10_000;
// The presence run measures joins at both ends of the room's growth, then the last one alone.
export const MIN_PRESENCE = 3;

/**
 * Handshakes each load generator thread keeps in flight. Bounded, so that
 * the accept rate measured in idle mode is the server's at a stated
 * concurrency, not how many sockets the load generator can throw at once.
 */
export const CONNECTS_IN_FLIGHT = 100;

// A send time takes a space and 16 digits (see frames.ts).
export const MIN_PAYLOAD = 17;

/** The paced sweep's bound: the highest rate whose p99 latency stays under this. */
export const P99_BOUND_MS = 100;

export const USAGE = `npm run bench -- [options]

  --clients N        websocket clients (default ${DEFAULTS.clients})
  --messages M       messages each client sends (default ${DEFAULTS.messages})
  --rooms R          client i joins room i mod R (default ${DEFAULTS.rooms})
  --direct           direct messages: clients in pairs, client i and i + N/2 in a room of two (N even; not with --rooms)
  --duration S       paced mode: each client sends evenly spaced says for a 1 s warm-up (not sampled) and S seconds,
                     latency taken from each say's scheduled send time; without --rate-per-client, a sweep: a burst
                     run on the baseline gives its saturation rate, then paced runs at 50% and 80% of it on both targets, and for each target the
                     highest rate whose p99 stays under ${P99_BOUND_MS} ms; the bench raises the rate limit of the daemon it starts
  --rate-per-client R  with --duration: one paced run per target at R says/s per client (with --url, at most --rate)
  --payload C        characters of text per message, >= ${MIN_PAYLOAD} (default ${DEFAULTS.payload})
  --broker B         start the daemon with broker B: local | rabbitmq (default ${DEFAULTS.broker})
  --amqp-url URL     with --broker rabbitmq: use this RabbitMQ instead of a private node
  --url ws://H:P     measure an already running daemon instead of starting one
  --pid P            with --url: the daemon's process id, for CPU and memory
  --timeout S        give up S seconds after the start signal (default ${DEFAULTS.timeoutSeconds})
  --workers W        load generator threads, clients split between them (default ${DEFAULTS.workers})
  --repeat K         run the fanout K times per target, alternating, and report the median run (default ${DEFAULTS.repeat})
  --no-baseline      skip the bare uWebSockets.js baseline (on by default; it runs first)
  --idle [K]         idle mode: open K connections (default ${DEFAULT_IDLE}) and report memory per connection and
                     connections accepted per second (at most ${CONNECTS_IN_FLIGHT} handshakes in flight per --workers thread);
                     then, on a daemon the bench starts, the daemon's CPU while they sit idle (the sampler's walk) and
                     the daemon CPU and wall time of GET /debug/top by mailbox, rate and restarts
  --reconnect-storm [N]  storm mode: N clients (default ${DEFAULT_STORM}) in one room miss M messages
                     (--messages) and reconnect at once with since; no baseline (bare uWS keeps no history);
                     a daemon given by --url needs HISTORY_SIZE of at least M, and its lag is not read
  --presence [N]     presence mode: N connections (default ${DEFAULT_PRESENCE}, at least ${MIN_PRESENCE}) join one room with presence;
                     reports the server's CPU per join (the first 1000, the 1000 before the last, the last alone)
                     and the presence_diff frames each member got per second; the baseline gets the same joins
                     (bare uWS with a minimal presence of its own); not with --idle, --reconnect-storm, --auth, --repeat
  --rate F --burst B the daemon's rate limit the senders stay under (default ${DEFAULTS.rate}/s, burst ${DEFAULTS.burst})
  --profile          run the daemon under node --cpu-prof and print its hottest functions
  --auth             the daemon requires a JWT (AUTH_MODE=required, a random AUTH_HMAC_SECRET) and every
                     client offers one of its own as the subprotocol warren.bearer.<JWT> beside warren.v2;
                     the baseline's clients offer the same, and bare uWS verifies nothing; not with --reconnect-storm
  --auth-secret S    with --auth: the secret to sign with (at least ${MIN_HMAC_SECRET_BYTES} bytes), else AUTH_HMAC_SECRET from the
                     environment (better: a command line is visible to all), else a random one; --url needs one of the first two
  --out DIR          where results go (default ${DEFAULTS.out})
`;

export class UsageError extends Error {}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Parses argv (without node and the script); throws UsageError with a reason.
 * `env` is read for AUTH_HMAC_SECRET only.
 */
export function parseOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): BenchOptions {
  const options: Mutable<BenchOptions> = { ...DEFAULTS };
  const args = [...argv];
  const value = (flag: string): string => {
    const next = args.shift();
    if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return next;
  };
  const count = (flag: string, min = 1): number => {
    const text = value(flag);
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min}, not ${text}`);
    return n;
  };
  const positive = (flag: string): number => {
    const text = value(flag);
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a number above 0, not ${text}`);
    return n;
  };
  let roomsGiven = false;
  const optionalCount = (flag: string, absent: number): number => (args[0] !== undefined && !args[0].startsWith('--') ? count(flag) : absent);
  while (args.length > 0) {
    const flag = args.shift()!;
    switch (flag) {
      case '--clients': options.clients = count(flag); break;
      case '--messages': options.messages = count(flag); break;
      case '--rooms': options.rooms = count(flag); roomsGiven = true; break;
      case '--direct': options.direct = true; break;
      case '--duration': options.duration = count(flag); break;
      case '--rate-per-client': options.ratePerClient = positive(flag); break;
      case '--payload': options.payload = count(flag, MIN_PAYLOAD); break;
      case '--timeout': options.timeoutSeconds = count(flag); break;
      case '--workers': options.workers = count(flag); break;
      case '--repeat': options.repeat = count(flag); break;
      case '--rate': options.rate = count(flag); break;
      case '--burst': options.burst = count(flag); break;
      case '--pid': options.pid = count(flag); break;
      case '--amqp-url': options.amqpUrl = value(flag); break;
      case '--out': options.out = value(flag); break;
      case '--profile': options.profile = true; break;
      case '--baseline': options.baseline = true; break;
      case '--no-baseline': options.baseline = false; break;
      case '--auth': options.auth = true; break;
      case '--auth-secret': options.authSecret = value(flag); break;
      case '--broker': {
        const broker = value(flag);
        if (broker !== 'local' && broker !== 'rabbitmq') throw new UsageError(`--broker must be local or rabbitmq, not ${broker}`);
        options.broker = broker;
        break;
      }
      case '--url': {
        const url = value(flag);
        if (!/^wss?:\/\/[^/]+\/?$/.test(url)) throw new UsageError(`--url must look like ws://host:port, not ${url}`);
        options.url = url.replace(/\/$/, '');
        break;
      }
      // The counts are optional: the flag alone means the default.
      case '--idle': options.idle = optionalCount(flag, DEFAULT_IDLE); break;
      case '--reconnect-storm': options.reconnectStorm = optionalCount(flag, DEFAULT_STORM); break;
      case '--presence': options.presence = optionalCount(flag, DEFAULT_PRESENCE); break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  const modes = options.idle !== undefined || options.reconnectStorm !== undefined || options.presence !== undefined;
  if (options.direct) {
    if (roomsGiven) throw new UsageError('--direct makes the rooms (a pair each): not with --rooms');
    if (options.clients % 2 !== 0) throw new UsageError(`--direct needs an even --clients (pairs), not ${options.clients}`);
    if (modes) throw new UsageError('--direct goes with the fanout or --duration, not --idle, --reconnect-storm or --presence');
    options.rooms = options.clients / 2;
  }
  checkPaced(options, modes);
  if (options.rooms > options.clients) throw new UsageError(`--rooms (${options.rooms}) cannot exceed --clients (${options.clients}): a room would have no sender`);
  if (options.pid !== undefined && options.url === undefined) throw new UsageError('--pid only goes with --url');
  if (options.amqpUrl !== undefined && options.broker !== 'rabbitmq') throw new UsageError('--amqp-url only goes with --broker rabbitmq');
  if (options.idle !== undefined && options.reconnectStorm !== undefined) throw new UsageError('--idle and --reconnect-storm are two modes: give one');
  if (options.presence !== undefined) {
    if (options.presence < MIN_PRESENCE) throw new UsageError(`--presence must be at least ${MIN_PRESENCE}, not ${options.presence}`);
    if (options.idle !== undefined || options.reconnectStorm !== undefined) throw new UsageError('--presence, --idle and --reconnect-storm are three modes: give one');
    // Its clients (presence_group.ts) offer no token.
    if (options.auth) throw new UsageError('--auth goes with the fanout or --idle, not --presence');
    if (options.repeat > 1) throw new UsageError('--repeat goes with the fanout and --reconnect-storm, not --presence: a run is 10,000 sockets');
  }
  if (options.profile && options.url !== undefined) throw new UsageError('--profile needs a daemon the bench starts (no --url)');
  if (options.authSecret !== undefined && !options.auth) throw new UsageError('--auth-secret only goes with --auth');
  // The storm's clients (storm_group.ts) offer no token yet.
  if (options.auth && options.reconnectStorm !== undefined) throw new UsageError('--auth goes with the fanout or --idle, not --reconnect-storm');
  if (options.auth) {
    options.authSecret ??= env['AUTH_HMAC_SECRET'];
    if (options.authSecret === undefined && options.url !== undefined) {
      throw new UsageError('--auth with --url needs the daemon\'s secret: AUTH_HMAC_SECRET in the environment, or --auth-secret');
    }
    // The daemon refuses a shorter one at start: say so before anything runs.
    if (options.authSecret !== undefined && Buffer.byteLength(options.authSecret) < MIN_HMAC_SECRET_BYTES) {
      throw new UsageError(`the auth secret must be at least ${MIN_HMAC_SECRET_BYTES} bytes, not ${Buffer.byteLength(options.authSecret)}`);
    }
  }
  return options;
}

function checkPaced(options: BenchOptions, modes: boolean): void {
  if (options.duration === undefined) {
    if (options.ratePerClient !== undefined) throw new UsageError('--rate-per-client only goes with --duration');
    return;
  }
  if (modes) throw new UsageError('--duration is a mode of the fanout: not with --idle, --reconnect-storm or --presence');
  if (options.repeat > 1) throw new UsageError('--repeat goes with the burst fanout, not --duration');
  if (options.ratePerClient === undefined) {
    // The sweep's rates come from the baseline, and may be any: only a daemon the bench starts has its limit raised.
    if (!options.baseline) throw new UsageError('the paced sweep (--duration without --rate-per-client) measures against the baseline: not with --no-baseline');
    if (options.url !== undefined) throw new UsageError('the paced sweep needs a daemon the bench starts, whose rate limit it raises: with --url, give --rate-per-client');
  } else if (options.url !== undefined && options.ratePerClient > options.rate) {
    throw new UsageError(
      `--rate-per-client ${options.ratePerClient} is above the daemon's rate limit of ${options.rate} frames/s per connection (--rate; PROTOCOL.md): it would refuse the says`,
    );
  }
}

/** Client i is in room i mod R: how many clients each room has. */
export function roomSizes(clients: number, rooms: number): number[] {
  return Array.from({ length: rooms }, (_, room) => Math.floor(clients / rooms) + (room < clients % rooms ? 1 : 0));
}

/** How the clients fall into rooms: `1000 rooms of 1 client`, `2 rooms of 4 clients, 1 of 3`, `direct messages: 50 pairs`. */
export function roomSummary(clients: number, rooms: number, direct = false): string {
  if (direct) return `direct messages: ${rooms} pairs`;
  const sizes = roomSizes(clients, rooms);
  // Sizes never grow with the room's number (roomSizes), so each size's rooms are together.
  const counts = [...new Set(sizes)].map((size) => [size, sizes.filter((s) => s === size).length] as const);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return counts.map(([size, count], i) => (i === 0 ? `${plural(count, 'room')} of ${plural(size, 'client')}` : `${count} of ${size}`)).join(', ');
}

/**
 * Each client receives every message sent to its room, its own included:
 * a room of s clients yields s × s × M deliveries.
 */
export function expectedDeliveries(clients: number, messages: number, rooms: number): number {
  return roomSizes(clients, rooms).reduce((sum, size) => sum + size * size * messages, 0);
}
