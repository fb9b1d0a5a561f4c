/**
 * The fanout benchmark (`npm run bench`), the original talk's method: N
 * clients connect, a start signal is given, each sends M messages to its
 * room, and every client must receive every message of its room. The same
 * load runs first against a bare uWebSockets.js pub/sub server (the stack's
 * practical limit) and then against warren, and every warren figure is given
 * as a ratio to that baseline measured in the same invocation: the machine is
 * shared and noisy, so absolute figures mean little from one run to the next.
 *
 * `--idle K` opens K connections instead and reports memory per connection,
 * and what observing the idle node costs it (observer.ts);
 * `--reconnect-storm N` has N clients recover at once (storm.ts);
 * `--presence N` has N connections join one room with presence (presence.ts);
 * `--duration S` paces the says instead of a burst (paced.ts).
 * Run `npm run bench -- --help` for the options. The last line printed is a
 * one-line summary for scripts.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mintTokens, probeWithoutToken, randomSecret, refusedWithoutToken } from './auth';
import { describeProfile, mainThreadProfile, summarizeProfile, type Window } from './cpu_profile';
import type { Load } from './load_generator';
import { type FanoutResult, measureFanout, measureIdle } from './measure';
import { OBSERVER_RUN } from './observer';
import { type BenchOptions, expectedDeliveries, parseOptions, roomSummary, USAGE, UsageError } from './options';
import { openFilesHardLimit } from './proc_metrics';
import { BASELINE, describeFanout, describeIdle, describePresence, describeStorm, fanoutSummary, idleSummary, presenceSummary, stormSummary, writeResults } from './report';
import { runningDaemon, startBaseline, startDaemon, stopAll, type Target } from './servers';
import { measureStorm, stormDaemonEnv } from './storm';
import { measurePresence, type PresenceResult } from './presence';
import { pacedDaemonEnv } from './paced';
import { runPaced } from './paced_sweep';

// Descriptors the load generator and a server need beyond one per connection.
const SPARE_FILES = 100;

type Start = () => Promise<Target>;

/** What `--auth` gives a run: the daemon's settings and the clients' tokens. */
interface Auth {
  readonly env: Readonly<Record<string, string>>;
  readonly tokens: readonly string[];
}

interface Outcome {
  readonly summary: string;
  /** The warren run to read the daemon's CPU profile for. */
  readonly profileWindow?: Window;
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const options = parseOptions(argv);
  const out = resolve(options.out);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(out, { recursive: true });
  const profileDir = options.profile ? mkdtempSync(join(out, `profile-${stamp}-`)) : undefined;
  const logDir = join(out, 'logs');
  const storming = options.reconnectStorm !== undefined;
  const auth = options.auth ? await prepareAuth(options, options.idle ?? options.clients) : undefined;
  const daemon: Start = () =>
    options.url
      ? Promise.resolve(runningDaemon(options.url, options.pid))
      : startDaemon({
          broker: options.broker,
          ...(options.amqpUrl && { amqpUrl: options.amqpUrl }),
          ...(profileDir && { profileDir }),
          logDir,
          env: { ...(storming && stormDaemonEnv(options.messages)), ...pacedDaemonEnv(options), ...auth?.env },
        });
  // The bare server keeps no history: a storm has nothing to compare with there.
  const starts: Start[] = [...(options.baseline && !storming ? [() => startBaseline(logDir)] : []), daemon];
  const outcome =
    options.reconnectStorm !== undefined
      ? await storm(options, options.reconnectStorm, out, stamp, daemon)
      : options.presence !== undefined
        ? await presence(options, options.presence, out, stamp, starts)
        : options.duration !== undefined
          ? await paced(options, out, stamp, starts, auth)
          : options.idle === undefined
        ? await fanout(options, out, stamp, starts, auth)
        : await idle(options, options.idle, out, stamp, starts, auth);
  if (profileDir) {
    // The daemon has exited by now: that is when node writes the profile.
    const profile = mainThreadProfile(profileDir);
    console.log(`\n${profile ? describeProfile(profile, summarizeProfile(profile, outcome.profileWindow), 'the warren run only') : `no CPU profile in ${profileDir}`}`);
  }
  console.log(`\n${outcome.summary}`);
}

/**
 * Signs every client's token now, before any server is measured. The
 * baseline's clients offer the same tokens, so that both servers get the
 * same handshakes and only warren verifies them.
 */
async function prepareAuth(options: BenchOptions, clients: number): Promise<Auth> {
  const secret = options.authSecret ?? randomSecret();
  const tokens = await mintTokens(secret, clients);
  console.log(
    `auth: every client offers warren.v2 and its own HS256 token (warren.bearer.<JWT>, sub bench-<i>, exp in an hour)` +
      `${options.url ? '' : '; the daemon runs with AUTH_MODE=required and a random AUTH_HMAC_SECRET'}` +
      `${options.baseline ? `; ${BASELINE} verifies no token (it selects warren.v2 and ignores the rest)` : ''}`,
  );
  return { env: { AUTH_MODE: 'required', AUTH_HMAC_SECRET: secret }, tokens };
}

/**
 * With --auth, whether the daemon refuses a client without a token; warns
 * when it does not. Resolves with what that client got, kept in the results.
 */
async function checkEnforced(target: Target, auth: Auth | undefined): Promise<{ authProbe?: string }> {
  if (!auth || target.name === BASELINE) return {};
  const outcome = await probeWithoutToken(target.url);
  if (refusedWithoutToken(outcome)) console.log(`${target.name}: a client without a token was refused (${outcome}), as PROTOCOL.md says`);
  else console.warn(`WARNING: ${target.name} did not refuse a client without a token (${outcome}): auth is not enforced, so "auth on" measures no verification`);
  return { authProbe: outcome };
}

async function fanout(options: BenchOptions, out: string, stamp: string, starts: readonly Start[], auth: Auth | undefined): Promise<Outcome> {
  const { clients, messages, rooms, repeat } = options;
  const shape = `${clients}x${messages}${options.direct ? '/direct' : rooms > 1 ? `/${rooms}rooms` : ''}`;
  const roomsText = roomSummary(clients, rooms, options.direct);
  console.log(
    `fanout ${shape}: ${clients} clients, ${roomsText}, ${messages} messages each, ${options.payload}-character texts, ${options.workers} load generator threads; ` +
      `expected deliveries: ${expectedDeliveries(clients, messages, rooms).toLocaleString('en-US')} (each client gets every message of its room, its own included)`,
  );
  const load = (url: string): Load => ({ ...options, url, timeoutMs: options.timeoutSeconds * 1000, ...(auth && { tokens: auth.tokens }) });
  // Runs alternate between the targets, so that a burst of load from
  // elsewhere on the machine does not fall on one target only.
  const runs = await withServers(starts, async (targets) => {
    const byTarget: FanoutResult[][] = targets.map(() => []);
    const probes = [];
    for (const target of targets) probes.push(await checkEnforced(target, auth));
    for (let round = 1; round <= repeat; round++) {
      for (const [i, target] of targets.entries()) {
        const result = { ...(await measureFanout(target, load(target.url), options.workers)), ...probes[i] };
        byTarget[i]!.push(result);
        if (repeat > 1) console.log(`run ${round}/${repeat}: ${fanoutSummary(result, shape)}`);
      }
    }
    return byTarget;
  });
  const [baseline, warren] = (options.baseline ? runs : [undefined, ...runs]).map((results) => results && median(results));
  if (baseline) console.log(describeFanout(baseline));
  console.log(describeFanout(warren!, baseline));
  const summary = fanoutSummary(warren!, shape, baseline);
  const name = `fanout-${warren!.target.replace('/', '-')}-${shape.replace('/', '-')}-${stamp}`;
  const files = writeResults(out, name, { options, rooms: roomsText, summary, median: [baseline, warren].filter(Boolean), runs }, { title: summary, results: [baseline, warren].filter((r) => r !== undefined) });
  console.log(`results: ${files.join(', ')}`);
  return { summary, profileWindow: warren!.runWindow };
}

async function paced(options: BenchOptions, out: string, stamp: string, starts: readonly Start[], auth: Auth | undefined): Promise<Outcome> {
  const { clients, rooms } = options;
  const shape = `${clients} clients${options.direct ? ' in pairs' : rooms > 1 ? ` in ${rooms} rooms` : ''}`;
  const roomsText = roomSummary(clients, rooms, options.direct);
  console.log(
    `paced ${shape}: ${roomsText}, ${options.payload}-character texts, ${options.workers} load generator threads; each client's says evenly spaced for ${options.duration} s, ` +
      `the clients' phases spread over one period, latency taken from each say's scheduled send time${options.ratePerClient === undefined ? '' : `, ${options.ratePerClient} says/s per client`}`,
  );
  const load = (url: string): Load => ({ ...options, url, timeoutMs: options.timeoutSeconds * 1000, ...(auth && { tokens: auth.tokens }) });
  const started = performance.now();
  const { summary, document } = await withServers(starts, async (targets) => {
    for (const target of targets) await checkEnforced(target, auth);
    return runPaced(options, shape, targets, load);
  });
  console.log(`the paced runs took ${((performance.now() - started) / 1000).toFixed(0)} s, the servers' start included`);
  const name = `paced-${options.url ? 'url' : options.broker}-${clients}${options.direct ? '-direct' : `-${rooms}rooms`}-${stamp}`;
  console.log(`results: ${writeResults(out, name, { options, rooms: roomsText, summary, ...document }).join(', ')}`);
  return { summary };
}

async function idle(options: BenchOptions, connections: number, out: string, stamp: string, starts: readonly Start[], auth: Auth | undefined): Promise<Outcome> {
  const limit = checkOpenFiles(connections, '--idle');
  console.log(`idle: ${connections} connections in ${options.rooms} room(s), open files limit ${limit}`);
  const load = (url: string): Load => ({ ...options, clients: connections, messages: 0, url, timeoutMs: options.timeoutSeconds * 1000, ...(auth && { tokens: auth.tokens }) });
  // One server at a time: the other's memory must not move while one is measured.
  const results = [];
  for (const start of starts) {
    results.push(
      await withServers([start], async ([target]) => {
        const probe = await checkEnforced(target!, auth);
        return { ...(await measureIdle(target!, load(target!.url), options.workers, OBSERVER_RUN)), ...probe };
      }),
    );
  }
  const [baseline, warren] = options.baseline ? results : [undefined, ...results];
  if (baseline) console.log(describeIdle(baseline));
  console.log(describeIdle(warren!, baseline));
  const summary = idleSummary(warren!, baseline);
  const files = writeResults(out, `idle-${warren!.target.replace('/', '-')}-${connections}-${stamp}`, { options, summary, results });
  console.log(`results: ${files.join(', ')}`);
  return { summary };
}

/** Throws unless this process may open `connections` sockets and a few more; returns the limit. */
function checkOpenFiles(connections: number, flag: string): number {
  const limit = openFilesHardLimit();
  if (connections + SPARE_FILES > limit) {
    throw new Error(`${flag} ${connections} needs more than ${connections + SPARE_FILES} open files per process, and the hard limit here is ${limit}: raise it (ulimit -Hn, as root with CAP_SYS_RESOURCE) in the shell that runs the bench`);
  }
  return limit;
}

async function storm(options: BenchOptions, clients: number, out: string, stamp: string, start: Start): Promise<Outcome> {
  console.log(
    `reconnect storm ${clients}x${options.messages}: ${clients} clients in one room miss ${options.messages} messages and reconnect at once with since, ` +
      `${options.workers} load generator threads; the daemon keeps ${stormDaemonEnv(options.messages)['HISTORY_SIZE']} messages per room (those each client missed)`,
  );
  const setup = { ...options, clients, timeoutMs: options.timeoutSeconds * 1000 };
  const results = await withServers([start], async ([target]) => {
    const runs = [];
    for (let round = 1; round <= options.repeat; round++) {
      runs.push(await measureStorm(target!, setup));
      if (options.repeat > 1) console.log(`run ${round}/${options.repeat}: ${stormSummary(runs[runs.length - 1]!)}`);
    }
    return runs;
  });
  for (const result of results) console.log(describeStorm(result));
  const summary = results.map(stormSummary).join('\n');
  const files = writeResults(out, `storm-${results[0]!.target.replace('/', '-')}-${clients}x${options.messages}-${stamp}`, { options, summary, results });
  console.log(`results: ${files.join(', ')}`);
  return { summary, profileWindow: results[results.length - 1]!.runWindow };
}

async function presence(options: BenchOptions, connections: number, out: string, stamp: string, starts: readonly Start[]): Promise<Outcome> {
  checkOpenFiles(connections, '--presence');
  console.log(`presence ${connections}: ${connections} connections, each in a room of its own, join one room with presence, ${options.workers} client threads; one server at a time`);
  const setup = { clients: connections, workers: options.workers, timeoutMs: options.timeoutSeconds * 1000 };
  // One server at a time: each holds the N sockets, and the other's must not take the cores meanwhile.
  const results: PresenceResult[] = [];
  for (const start of starts) results.push(await withServers([start], ([target]) => measurePresence(target!, setup)));
  const [baseline, warren] = options.baseline ? results : [undefined, ...results];
  if (baseline) console.log(describePresence(baseline));
  console.log(describePresence(warren!, baseline));
  const summary = presenceSummary(warren!, baseline);
  const files = writeResults(out, `presence-${warren!.target.replace('/', '-')}-${connections}-${stamp}`, { options, summary, results });
  console.log(`results: ${files.join(', ')}`);
  return { summary, profileWindow: warren!.runWindow };
}

/** Starts the servers in order, runs `use`, and stops them whatever happens. */
async function withServers<R>(starts: readonly Start[], use: (targets: Target[]) => Promise<R>): Promise<R> {
  const targets: Target[] = [];
  try {
    for (const start of starts) {
      const target = await start();
      targets.push(target);
      if (target.uws === 'fallback') console.warn(`WARNING: ${target.name} runs uWS's JavaScript fallback, not the native binary: its figures mean little`);
      const uws = target.uws && (target.uws === 'native' ? ', uWS native binary (getParts present)' : `, uWS ${target.uws}`);
      console.log(`${target.name}: ${target.url}${uws || ''}${target.logFile ? `, log ${target.logFile}` : ''}`);
    }
    return await use(targets);
  } finally {
    for (const target of targets) await target.stop();
  }
}

/** The run with the median completion time; runs that did not complete count as slowest. */
function median(results: readonly FanoutResult[]): FanoutResult {
  const sorted = [...results].sort((a, b) => (a.completionSeconds ?? Infinity) - (b.completionSeconds ?? Infinity));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

// Ctrl-C or a kill: stop every server started, by its process group, then go.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the servers\n`);
    void stopAll().finally(() => process.exit(130));
  });
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  async (error: unknown) => {
    await stopAll();
    process.stderr.write(error instanceof UsageError ? `${error.message}\n\n${USAGE}` : `bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
