// A RabbitMQ cluster of private nodes on loopback (rabbitmq_node.ts), for
// the cluster spec and `npm run broker -- --cluster 3`.
//
// Erlang nodes find each other through epmd, so the cluster's nodes share
// one, started here, and one Erlang cookie; each has its own folder, ports
// and node name. The first node is the seed: the others join it with
// `rabbitmqctl stop_app; join_cluster <first>; start_app`. Started again on
// the same folders, the nodes find their cluster in their data and join
// nothing.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from './free_ports';
import { spawnGroup, stopGroup } from './process_group';
import { startFresh } from './rabbitmq';
import { answersEpmd, epmdCommand, RabbitNode, waitFor } from './rabbitmq_node';

const EPMD_GRACE_MS = 5_000;

export interface RabbitClusterOptions {
  /** Nodes in the cluster; 3 by default. */
  size?: number;
  /** Folder with one folder per node (and the cookie); a fresh temporary one by default. */
  dir?: string;
  /** AMQP port of each node, in order; a free one where absent. */
  ports?: readonly (number | undefined)[];
}

/** A cluster of the spec's own, on fresh folders, stopped and removed when the run ends. */
export function startRabbitCluster(size = 3): Promise<RabbitCluster> {
  return startFresh(() => RabbitCluster.create({ size }));
}

export class RabbitCluster {
  private epmd?: ChildProcess;

  private constructor(
    readonly dir: string,
    readonly nodes: readonly RabbitNode[],
    readonly epmdPort: number,
    private readonly ownsDir: boolean,
  ) {}

  /** Picks the ports, names and folders; `start()` runs the nodes. */
  static async create(options: RabbitClusterOptions = {}): Promise<RabbitCluster> {
    const { size = 3, ports = [] } = options;
    const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'warren-rabbitmq-cluster-')));
    await mkdir(dir, { recursive: true });
    const cookie = await keptCookie(path.join(dir, 'cookie'));
    const [epmdPort] = (await freePorts(1, ports.filter((port) => port !== undefined))) as [number];
    const nodes: RabbitNode[] = [];
    for (let i = 0; i < size; i++) {
      // Fixed names: Mnesia files each node's data under its name, and the
      // cluster's membership names the nodes, so a folder started again
      // must keep them (the epmd is the cluster's own: no clash with other
      // clusters' names).
      const name = `warren-${i + 1}`;
      nodes.push(await RabbitNode.create({ dir: path.join(dir, name), name, port: ports[i], epmdPort, cookie }));
    }
    return new RabbitCluster(dir, nodes, epmdPort, options.dir === undefined);
  }

  /** The URLs of every node, starting with node `first` (an AMQP_URL list: the daemon tries them in this order). */
  urls(first = 0): string[] {
    return this.nodes.map((_, i) => this.nodes[(first + i) % this.nodes.length]!.url);
  }

  /** Starts epmd and every node at once, then joins the nodes to the first one that are not in its cluster yet. */
  async start(): Promise<void> {
    if (this.epmd) throw new Error('the RabbitMQ cluster is already running');
    const logFile = path.join(this.dir, 'epmd.log');
    const epmd = (this.epmd = spawnGroup(...epmdCommand(this.epmdPort), { env: process.env, cwd: this.dir, logFile }));
    try {
      await waitFor(`epmd on port ${this.epmdPort}`, epmd, () => this.epmd === epmd, () => answersEpmd(this.epmdPort));
      const fresh = await Promise.all(this.nodes.map((node) => node.hasData().then((has) => !has)));
      await Promise.all(this.nodes.map((node) => node.start()));
      const [seed, ...others] = this.nodes as [RabbitNode, ...RabbitNode[]];
      // A node that had data is in the cluster it was in, unless a join
      // failed half-way: asking costs a rabbitmqctl call (seconds), so only then.
      const members = fresh.every(Boolean) ? [seed.nodeName] : await this.runningNodes(seed);
      await join(others.filter((node) => !members.includes(node.nodeName)), seed);
    } catch (error) {
      await this.stop();
      throw error;
    }
    if (this.epmd !== epmd) throw new Error('the RabbitMQ cluster was stopped while starting');
  }

  /** The nodes running in the cluster, as `node` sees it (`rabbitmqctl cluster_status`). */
  async runningNodes(node: RabbitNode = this.nodes[0]!): Promise<string[]> {
    const status = JSON.parse(await node.ctl('cluster_status', '--formatter', 'json')) as { running_nodes: string[] };
    return status.running_nodes;
  }

  /** Stops every node, then epmd; the folders stay for the next `start()`. */
  async stop(): Promise<void> {
    const epmd = this.epmd;
    this.epmd = undefined;
    // The nodes before epmd: a node that loses its epmd starts a global one.
    await Promise.all(this.nodes.map((node) => node.stop()));
    if (epmd) await stopGroup(epmd, EPMD_GRACE_MS);
  }

  /** Stops the cluster and removes its folder if `create()` made it. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * `rabbitmqctl stop_app; join_cluster <seed>; start_app` on each node: the
 * stops at once, the joins and starts one node after the other. Two nodes
 * joining at once mostly worked, but once a start_app failed with
 * {mnesia_app,start} while the other node joined.
 */
async function join(nodes: RabbitNode[], seed: RabbitNode): Promise<void> {
  await Promise.all(nodes.map((node) => node.ctl('stop_app')));
  for (const node of nodes) {
    await node.ctl('join_cluster', seed.nodeName);
    await node.ctl('start_app');
  }
}

/** The cookie stored in `file`, or a new one stored there: a cluster's nodes keep it from one start to the next. */
async function keptCookie(file: string): Promise<string> {
  const kept = await readFile(file, 'utf8').catch(() => undefined);
  if (kept) return kept.trim();
  const cookie = randomBytes(20).toString('hex').toUpperCase();
  await writeFile(file, cookie, { mode: 0o600 });
  return cookie;
}
