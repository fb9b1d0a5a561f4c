// `npm run broker`: a private RabbitMQ node for local use, in the foreground
// until Ctrl-C. Its data stays in .data/rabbitmq from one run to the next.
// `npm run broker -- --cluster 3`: a cluster of three such nodes
// (rabbit_cluster.ts), data in .data/rabbitmq-cluster/<node>.
import path from 'node:path';
import { isPortFree } from './free_ports';
import { RabbitCluster } from './rabbit_cluster';
import { RABBITMQCTL, RabbitNode } from './rabbitmq_node';

const AMQP_PORT = 5672;
const DATA_DIR = path.resolve(__dirname, '../../.data/rabbitmq');
const CLUSTER_DIR = path.resolve(__dirname, '../../.data/rabbitmq-cluster');
/** Public and admin ports of the daemons the cluster's lines show, one pair each, as config/default.json's. */
const DAEMON_PORTS = [
  [8081, 8082],
  [9081, 9082],
] as const;
const USAGE = 'usage: npm run broker [-- --cluster N]   (N: 2 to 9 nodes)';

/** The number of nodes the arguments ask for: 1 without `--cluster`. */
export function parseBrokerArgs(argv: readonly string[]): number {
  if (argv.length === 0) return 1;
  const [flag, count, ...rest] = argv;
  const size = Number(count);
  if (flag !== '--cluster' || rest.length > 0 || !Number.isInteger(size) || size < 2 || size > 9) throw new Error(USAGE);
  return size;
}

/** What to run the daemons with: each lists every node, starting at a different one, so that they attach to different nodes. */
export function daemonCommands(urls: (first: number) => string[]): string[] {
  return DAEMON_PORTS.map(([port, admin], i) => `PORT=${port} ADMIN_PORT=${admin} AMQP_URL=${urls(i).join(',')} npm start`);
}

/** What runs RabbitMQ for this command line: start, stop, and end when (the last of) its nodes stop by themselves. */
interface Broker {
  readonly what: string;
  readonly logs: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  lines(): string[];
  waitForExit(): Promise<string>;
}

async function single(): Promise<Broker> {
  const port = (await isPortFree(AMQP_PORT)) ? AMQP_PORT : undefined;
  // A fixed node name: Mnesia files the data under it, and the port may
  // change from one run to the next.
  const node = await RabbitNode.create({ dir: DATA_DIR, port, name: 'warren' });
  return {
    what: `RabbitMQ (data in ${DATA_DIR}, log in ${node.logFile})`,
    logs: node.logFile,
    start: () => node.start(),
    stop: () => node.stop(),
    lines: () => [`  AMQP_URL=${node.url} npm start`],
    waitForExit: () => node.waitForExit(),
  };
}

async function cluster(size: number): Promise<Broker> {
  const wanted = Array.from({ length: size }, (_, i) => AMQP_PORT + i);
  const ports = await Promise.all(wanted.map(async (port) => ((await isPortFree(port)) ? port : undefined)));
  const rabbits = await RabbitCluster.create({ size, dir: CLUSTER_DIR, ports });
  let stopping = false;
  return {
    what: `a RabbitMQ cluster of ${size} nodes (data and logs in ${CLUSTER_DIR}/<node>)`,
    logs: `${CLUSTER_DIR}/<node>/node.log`,
    start: () => rabbits.start(),
    stop: () => {
      stopping = true;
      return rabbits.stop();
    },
    lines: () => [
      ...rabbits.nodes.map((node) => `  ${node.nodeName}: ${node.url} (pid ${node.pid})`),
      `  rabbitmqctl on node 1 (the others alike): HOME=${rabbits.nodes[0]!.dir} ERL_EPMD_PORT=${rabbits.epmdPort} ${RABBITMQCTL} -n ${rabbits.nodes[0]!.nodeName} cluster_status`,
      'Two daemons, each attached to a different node first:',
      ...daemonCommands((first) => rabbits.urls(first)).map((line) => `  ${line}`),
    ],
    // The cluster lives on while any node does: stopping one is how to try a failover.
    waitForExit: async () => {
      const exits = rabbits.nodes.map((node) =>
        node.waitForExit().then((exit) => {
          if (!stopping) console.log(`${node.nodeName} stopped by itself (${exit}); see ${node.logFile}`);
          return exit;
        }),
      );
      return (await Promise.all(exits)).join(', ');
    },
  };
}

async function main(): Promise<void> {
  const size = parseBrokerArgs(process.argv.slice(2));
  const broker = size === 1 ? await single() : await cluster(size);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping RabbitMQ...`);
    broker.stop().then(
      () => process.exit(0),
      (error: Error) => fail(error.message),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  console.log(`Starting ${broker.what}...`);
  const started = Date.now();
  try {
    await broker.start();
  } catch (error) {
    if (stopping) return; // interrupted while starting: stop() finishes the job
    throw error;
  }
  console.log(`RabbitMQ is up after ${((Date.now() - started) / 1000).toFixed(1)} s. Ctrl-C stops it.`);
  for (const line of broker.lines()) console.log(line);

  const exit = await broker.waitForExit();
  if (stopping) return;
  await broker.stop();
  fail(`RabbitMQ stopped by itself (${exit}); see ${broker.logs}`);
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

if (require.main === module) main().catch((error: Error) => fail(error.message));
