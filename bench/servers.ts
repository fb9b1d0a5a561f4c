/**
 * The servers a bench run measures: the bare uWS baseline and the daemon
 * (with the in-process bus or RabbitMQ), each a child process in a process
 * group of its own, stopped by that group's id; or a daemon already running.
 * Every server the bench starts is stopped by `stopAll`, also on Ctrl-C.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { buildDaemon } from '../spec/support/daemon_build';
import { descendantsOf, hasExited, spawnGroup, stopGroup } from '../spec/support/process_group';
import { RabbitNode } from '../spec/support/rabbitmq_node';
import type { Broker } from './options';

const ROOT = join(__dirname, '..');
const START_TIMEOUT_MS = 60_000;
// The daemon drains its connections on SIGTERM (25 s at most in production);
// the bench closes its clients first, so this is rarely waited for.
const STOP_GRACE_MS = 30_000;

/** Processes measured together under one label: "bare uWS", "daemon", "rabbitmq". */
export interface MeasuredProcesses {
  readonly label: string;
  pids(): number[];
}

export interface Target {
  /** As printed: "bare uWS", "warren/local", "warren/rabbitmq". */
  readonly name: string;
  /** ws://127.0.0.1:<port> */
  readonly url: string;
  readonly processes: readonly MeasuredProcesses[];
  /** Where its log lines went, for when something fails. */
  readonly logFile?: string;
  /** What the server's own listening line says about uWS ("native" or "fallback"). */
  readonly uws?: string;
  /** Prometheus metrics, when the bench started the server: the daemon's admin port, the baseline's CPU (presence.ts). */
  readonly metricsUrl?: string;
  /** The daemon's admin port (http://127.0.0.1:<port>), when the bench started it. */
  readonly adminUrl?: string;
  /** Used V8 heap of the server process, when it tells. */
  heapUsedBytes(): Promise<number | undefined>;
  stop(): Promise<void>;
}

// The stop functions of the servers started and not yet stopped.
const running = new Set<() => Promise<void>>();

export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((stop) => stop()));
}

export async function startBaseline(logDir: string): Promise<Target> {
  const { child, logFile, listening } = await spawnServer('bare-uws', ['--import', 'tsx', join(ROOT, 'bench', 'bare_uws_server.ts')], {}, logDir);
  const port = listening['port'] as number;
  return track({
    name: 'bare uWS',
    url: `ws://127.0.0.1:${port}`,
    processes: [groupOf('bare uWS', child)],
    logFile,
    uws: String(listening['uws']),
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    heapUsedBytes: async () => ((await getJson(`http://127.0.0.1:${port}/memory`)) as { heapUsed?: number } | undefined)?.heapUsed,
    stop: () => stopGroup(child, STOP_GRACE_MS),
  });
}

export interface DaemonSetup {
  readonly broker: Broker;
  readonly amqpUrl?: string;
  /** Run under `node --cpu-prof`, the profile written here when it exits. */
  readonly profileDir?: string;
  readonly logDir: string;
  /** Settings of its own, as environment variables (lib/config/settings.ts). */
  readonly env?: Readonly<Record<string, string>>;
}

export async function startDaemon(setup: DaemonSetup): Promise<Target> {
  const rabbit = setup.broker === 'rabbitmq' && !setup.amqpUrl ? await startRabbit() : undefined;
  const amqpUrl = setup.amqpUrl ?? rabbit?.url;
  try {
    const nodeArgs = setup.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${setup.profileDir}`] : [];
    // The bench measures what accepting costs, not the node's limit on it (limits.connectRate, 1000/s by default).
    const env = { ADMIN_PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'production', CONNECT_RATE: '1000000', ...(amqpUrl && { AMQP_URL: amqpUrl }), ...setup.env };
    const { child, logFile, listening } = await spawnServer('warren', [...nodeArgs, buildDaemon()], env, setup.logDir, 'adminPort');
    const port = listening['port'] as number;
    const adminUrl = `http://127.0.0.1:${listening['adminPort'] as number}`;
    const metricsUrl = `${adminUrl}/metrics`;
    await waitUntilReady(`http://127.0.0.1:${port}/readyz`, child, logFile);
    return track({
      name: `warren/${setup.broker}`,
      url: `ws://127.0.0.1:${port}`,
      processes: [groupOf('daemon', child), ...(rabbit ? [{ label: 'rabbitmq', pids: () => rabbit.processes() }] : [])],
      logFile,
      uws: String(listening['uws']),
      metricsUrl,
      adminUrl,
      heapUsedBytes: () => heapFromMetrics(metricsUrl),
      stop: async () => {
        await stopGroup(child, STOP_GRACE_MS);
        await rabbit?.destroy();
      },
    });
  } catch (error) {
    await rabbit?.destroy();
    throw error;
  }
}

/** A daemon started elsewhere: measured from /proc only if its pid is given. */
export function runningDaemon(url: string, pid: number | undefined): Target {
  return {
    name: 'warren/url',
    url,
    processes: pid === undefined ? [] : [{ label: 'daemon', pids: () => [pid, ...descendantsOf(pid)] }],
    heapUsedBytes: async () => undefined,
    stop: async () => undefined,
  };
}

async function startRabbit(): Promise<RabbitNode> {
  const node = await RabbitNode.create();
  process.stderr.write(`starting a private RabbitMQ node on ${node.url} (about 10 s)\n`);
  await node.start();
  return node;
}

function track(target: Target): Target {
  const stop = async () => {
    running.delete(stop);
    await target.stop();
  };
  running.add(stop);
  return { ...target, stop };
}

function groupOf(label: string, child: ChildProcess): MeasuredProcesses {
  return { label, pids: () => (child.pid && !hasExited(child) ? [child.pid, ...descendantsOf(child.pid)] : []) };
}

/**
 * `node <args>` on 127.0.0.1 and a free port, its output in a
 * log file; resolves with its first JSON log line that has a numeric `port`
 * (and `alsoNumeric`), which says it listens.
 */
async function spawnServer(name: string, args: string[], env: Record<string, string>, logDir: string, alsoNumeric = 'port') {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  const child = spawnGroup(process.execPath, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', PORT: '0', ...env },
    cwd: ROOT,
    logFile,
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const listening = readFileSync(logFile, 'utf8').split('\n').map(parseJsonLine).find((line) => typeof line?.['port'] === 'number' && typeof line[alsoNumeric] === 'number');
    if (listening) return { child, logFile, listening };
    if (hasExited(child) || Date.now() > deadline) {
      await stopGroup(child, 1_000);
      throw new Error(`${name} did not start (see ${logFile}):\n${tail(logFile)}`);
    }
    await delay(50);
  }
}

async function waitUntilReady(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await fetch(url).then((res) => res.ok, () => false))) {
    if (hasExited(child) || Date.now() > deadline) {
      await stopGroup(child, 1_000);
      throw new Error(`${url} never said ready (see ${logFile}):\n${tail(logFile)}`);
    }
    await delay(100);
  }
}

async function heapFromMetrics(url: string): Promise<number | undefined> {
  const text = await fetch(url).then((res) => (res.ok ? res.text() : ''), () => '');
  // prom-client's default metric, under whatever prefix the daemon gives its metrics.
  const match = /^(?:\w+_)?nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

async function getJson(url: string): Promise<unknown> {
  return fetch(url).then((res) => (res.ok ? res.json() : undefined), () => undefined);
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  try {
    return line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function tail(file: string): string {
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
}
