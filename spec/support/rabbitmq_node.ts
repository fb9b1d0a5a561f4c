// A private RabbitMQ node: Debian's rabbitmq-server run as root with every
// file it writes (data, logs, config, Erlang cookie) in one folder, on
// loopback ports picked here, with an epmd of its own (or its cluster's:
// rabbit_cluster.ts).
//
// To reach it with rabbitmqctl, give it the node's cookie and epmd:
//   HOME=<dir> ERL_EPMD_PORT=<epmdPort> rabbitmqctl -n <nodeName> status
// Only while the node runs: finding no epmd on that port, rabbitmqctl would
// start a global one (on 0.0.0.0) that stays after it.
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { freePorts } from './free_ports';
import { descendantsOf, hasExited, spawnGroup, stopGroup } from './process_group';

// Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user, which
// could not write to our folder; this script runs the node as we are.
export const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
/** The same for rabbitmqctl, whose Debian wrapper would also switch users. */
export const RABBITMQCTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';

// The port opens after 5–7 s on an idle 2-core machine and 11–15 s when it
// is busy; a cold CI runner can take several times that.
const START_TIMEOUT_MS = 60_000;
// A clean shutdown takes 2–3 s; past this the group gets SIGKILL.
const STOP_GRACE_MS = 15_000;
// Lines of the node's log quoted when it fails to start.
const LOG_LINES = 30;

export interface RabbitNodeOptions {
  /** Folder for everything the node writes; a fresh temporary one by default. */
  dir?: string;
  /** AMQP port; a free one by default. */
  port?: number;
  /**
   * Erlang node name before `@localhost`; `warren-<port>` by default.
   * Mnesia keeps its data under the node name, so a folder reused across
   * runs needs a name that does not change with the port.
   */
  name?: string;
  /**
   * The port of an epmd someone else runs (a cluster's nodes must share
   * one: Erlang nodes find each other through epmd on one port); the node
   * then starts none of its own, and the owner stops it after the node.
   */
  epmdPort?: number;
  /** The Erlang cookie, the same for every node of a cluster; Erlang makes one up by default. */
  cookie?: string;
}

export class RabbitNode {
  readonly url: string;
  readonly nodeName: string;
  readonly logFile: string;
  private node?: ChildProcess;
  private epmd?: ChildProcess;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly distPort: number,
    readonly epmdPort: number,
    name: string,
    private readonly ownsDir: boolean,
    private readonly ownsEpmd: boolean,
    private readonly cookie: string | undefined,
  ) {
    this.url = `amqp://guest:guest@127.0.0.1:${port}`;
    this.nodeName = `${name}@localhost`;
    this.logFile = path.join(dir, 'node.log');
  }

  /** Picks the ports and the folder; `start()` runs the node. */
  static async create(options: RabbitNodeOptions = {}): Promise<RabbitNode> {
    const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'warren-rabbitmq-')));
    await mkdir(dir, { recursive: true });
    const ports = await freePorts(3, [options.port, options.epmdPort].filter((taken) => taken !== undefined));
    const [port, distPort, epmdPort] = [options.port ?? ports[0], ports[1], options.epmdPort ?? ports[2]] as [number, number, number];
    const { name = `warren-${port}`, cookie } = options;
    return new RabbitNode(dir, port, distPort, epmdPort, name, options.dir === undefined, options.epmdPort === undefined, cookie);
  }

  /** Process id of the node's process-group leader, while it runs. */
  get pid(): number | undefined {
    return this.node?.pid;
  }

  /** rabbitmqctl (the script that runs as we are, not Debian's wrapper) with the node's cookie and epmd; its output. */
  async ctl(...args: string[]): Promise<string> {
    const env = { ...process.env, HOME: this.dir, ERL_EPMD_PORT: String(this.epmdPort) };
    const { stdout } = await promisify(execFile)(RABBITMQCTL, ['-n', this.nodeName, ...args], { env, timeout: 30_000 });
    return stdout;
  }

  /** Whether the node has run on this folder before (Mnesia's data is there). */
  async hasData(): Promise<boolean> {
    return stat(path.join(this.dir, 'mnesia')).then(() => true, () => false);
  }

  /** Every process of this node: both process groups and what left them. */
  processes(): number[] {
    return [this.node, this.epmd].flatMap((child) => (child?.pid ? [child.pid, ...descendantsOf(child.pid)] : []));
  }

  /** Starts the node (again, with the same ports and data) and waits until it accepts AMQP connections. */
  async start(): Promise<void> {
    if (this.node || this.epmd) throw new Error(`RabbitMQ node ${this.nodeName} is already running`);
    const owner = await this.otherNodeInDir();
    if (owner) throw new Error(`${this.dir} is in use by the RabbitMQ node with pid ${owner}`);
    await this.writeConfig();
    const logStart = await stat(this.logFile).then((file) => file.size, () => 0);
    const options = { env: this.env(), cwd: this.dir, logFile: this.logFile };
    try {
      // The node must find its epmd listening: an Erlang node that finds none
      // starts a global `epmd -daemon`, which would outlive us.
      if (this.ownsEpmd) {
        const epmd = (this.epmd = spawnGroup(...epmdCommand(this.epmdPort), options));
        await waitFor(`epmd on port ${this.epmdPort}`, epmd, () => this.epmd === epmd, () => answersEpmd(this.epmdPort));
      }
      const node = (this.node = spawnGroup(RABBITMQ_SERVER, [], options));
      await waitFor(`RabbitMQ on ${this.url}`, node, () => this.node === node, () => acceptsAmqp(this.url));
    } catch (error) {
      await this.stop();
      throw new Error(`${(error as Error).message}\n--- from ${this.logFile} ---\n${await this.startupLog(logStart)}`);
    }
  }

  /** Stops every process of the node; the data folder stays for the next `start()`. */
  async stop(): Promise<void> {
    const { node, epmd } = this;
    this.node = this.epmd = undefined;
    // The node first: if its epmd went away first, the node's epmd monitor
    // would start a global one.
    if (node) await stopGroup(node, STOP_GRACE_MS);
    if (epmd) await stopGroup(epmd, STOP_GRACE_MS);
  }

  /** Stops the node and removes its folder if `create()` made it. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }

  /** Resolves with a description once the running node process ends, for whatever reason. */
  async waitForExit(): Promise<string> {
    const node = this.node;
    if (!node) throw new Error(`RabbitMQ node ${this.nodeName} is not running`);
    if (!hasExited(node)) await new Promise((resolve) => node.once('exit', resolve));
    return node.signalCode ? `killed by ${node.signalCode}` : `exit code ${node.exitCode}`;
  }

  /** A node started elsewhere on this folder (a second `npm run broker`) that is still running. */
  private async otherNodeInDir(): Promise<number | undefined> {
    const pid = await readFile(path.join(this.dir, 'rabbitmq.pid'), 'utf8').then(Number, () => undefined);
    if (!pid) return undefined;
    const command = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    return command.trim() === 'beam.smp' ? pid : undefined; // else a stale file, left by a killed node
  }

  private env(): NodeJS.ProcessEnv {
    const file = (name: string) => path.join(this.dir, name);
    // Inherited RABBITMQ_* and ERL_* settings would change the node; drop them.
    const inherited = Object.entries(process.env).filter(([key]) => !/^(RABBITMQ_|ERL_)/.test(key));
    return {
      ...Object.fromEntries(inherited),
      HOME: this.dir, // Erlang writes its cookie to $HOME/.erlang.cookie
      ERL_EPMD_PORT: String(this.epmdPort),
      RABBITMQ_CONF_ENV_FILE: file('rabbitmq-env.conf'), // instead of /etc/rabbitmq's
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_MNESIA_BASE: file('mnesia'),
      RABBITMQ_LOG_BASE: file('log'),
      RABBITMQ_PID_FILE: file('rabbitmq.pid'),
      RABBITMQ_ENABLED_PLUGINS_FILE: file('enabled_plugins'),
      RABBITMQ_FEATURE_FLAGS_FILE: file('feature_flags'),
      RABBITMQ_CONFIG_FILE: file('rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: file('advanced.config'),
      // Erlang distribution (rabbitmqctl, clustering) on loopback only.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  private async writeConfig(): Promise<void> {
    const write = (name: string, text: string) => writeFile(path.join(this.dir, name), text);
    if (this.cookie !== undefined) {
      // Erlang refuses a cookie file that others may read; the old one is read-only.
      const cookieFile = path.join(this.dir, '.erlang.cookie');
      await rm(cookieFile, { force: true });
      await writeFile(cookieFile, this.cookie, { mode: 0o400 });
    }
    await Promise.all([
      write('rabbitmq-env.conf', '# empty: the environment is set by spec/support/rabbitmq_node.ts\n'),
      write('enabled_plugins', '[].\n'), // no plugins: faster start, no extra ports
      write('advanced.config', '[].\n'),
      write(
        'rabbitmq.conf',
        [
          `listeners.tcp.1 = 127.0.0.1:${this.port}`,
          // Publishers are blocked below this much free disk; keep it low so a
          // fullish development disk does not stall the specs.
          'disk_free_limit.absolute = 50MB',
          // One plain log, on stdout, which goes to node.log.
          'log.file = false',
          'log.console = true',
          'log.console.level = info',
          'log.console.use_colors = off',
          '',
        ].join('\n'),
      ),
    ]);
  }

  /** What this start wrote to the log: from its first error (the crash reports that follow are long), or its last lines. */
  private async startupLog(from: number): Promise<string> {
    const log = await readFile(this.logFile).catch(() => Buffer.from('(no log)'));
    const lines = log.subarray(from).toString().trimEnd().split('\n');
    const firstError = lines.findIndex((line) => line.includes('[error]'));
    return (firstError >= 0 ? lines.slice(firstError, firstError + LOG_LINES) : lines.slice(-LOG_LINES)).join('\n');
  }
}

/** An epmd on loopback only, on `port`, for spawnGroup. */
export function epmdCommand(port: number): [string, string[]] {
  return ['epmd', ['-address', '127.0.0.1', '-port', String(port)]];
}

/** Asks epmd for its registered names, as `epmd -names` does (a bare connect makes it log a complaint). */
export function answersEpmd(port: number): Promise<void> {
  const NAMES_REQ = Buffer.from([0, 1, 110]); // length 1, 'n'
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(NAMES_REQ));
    socket.setTimeout(2_000, () => socket.destroy(new Error('epmd did not answer')));
    socket.once('data', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('epmd closed the connection without answering')));
  });
}

async function acceptsAmqp(url: string): Promise<void> {
  const connection = await amqp.connect(url, { timeout: 2_000 });
  await connection.close();
}

/** Retries `ready` until it resolves; fails early if the process ends or `current()` says it was stopped. */
export async function waitFor(what: string, child: ChildProcess, current: () => boolean, ready: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (!current()) throw new Error(`${what}: stopped while starting`);
    if (hasExited(child)) throw new Error(`${what}: exited before it was ready (${child.signalCode ?? `exit code ${child.exitCode}`})`);
    try {
      return await ready();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: not ready after ${START_TIMEOUT_MS / 1000} s (${(error as Error).message})`);
    }
    await delay(200);
  }
}
