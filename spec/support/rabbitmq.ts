// The RabbitMQ the integration specs run against: AMQP_URL if it is set,
// else one throwaway node for the whole run (for each worker of a parallel
// run: hooks.ts), started on first use.
//
// Starting a node takes 5–15 s (Debian's package, if missing, is installed
// before the first spec: system_packages.ts), so call these from a hook
// with a generous timeout:
//   before(async function () { this.timeout(120_000); ({ url } = await sharedRabbit()); });
import { rmSync } from 'node:fs';
import { atExit, atRunEnd } from './hooks';
import { exitOnSignals } from './process_group';
import { RabbitNode } from './rabbitmq_node';
import { needPackages, RABBITMQ_PACKAGE, usesPackage } from './system_packages';

usesPackage(RABBITMQ_PACKAGE);

export interface SharedRabbit {
  url: string;
  /** The private node, when AMQP_URL was not set. */
  node?: RabbitNode;
}

let shared: Promise<SharedRabbit> | undefined;

/** The broker shared by every spec of the run. */
export async function sharedRabbit(): Promise<SharedRabbit> {
  // Memoized, failure included: if the node cannot start, every spec that
  // needs it fails at once instead of waiting a minute each.
  shared ??= startShared();
  return shared;
}

/**
 * A node for a spec that acts on it through rabbitmqctl but leaves it as it
 * found it, running: the shared node, as no other spec file is connected to
 * it meanwhile (a worker's files run one after another), or one of its own
 * when the run shares a broker given by AMQP_URL, beyond rabbitmqctl.
 */
export async function sharedRabbitNode(): Promise<RabbitNode> {
  return (await sharedRabbit()).node ?? startRabbitNode();
}

/** A node of the spec's own (to stop, restart or fail over), stopped and removed when the run ends. */
export function startRabbitNode(options: { forTheRun?: boolean } = {}): Promise<RabbitNode> {
  return startFresh(() => RabbitNode.create(), options);
}

// A node's ports are free when chosen, but another process (a node booting
// beside it) may take one before RabbitMQ binds it: then it boots again on
// fresh ones.
const START_ATTEMPTS = 3;
const PORT_TAKEN = /could not bind|dist_port_already_used|eaddrinuse/i;

/**
 * Starts what `create` makes (a node, a cluster), on fresh ports if one was
 * taken; destroyed after the spec file, or `forTheRun` at the end of the
 * run (of the worker's life in a parallel run: hooks.ts).
 */
export async function startFresh<T extends { readonly dir: string; start(): Promise<void>; destroy(): Promise<void> }>(create: () => Promise<T>, { forTheRun = false } = {}): Promise<T> {
  await needPackages([RABBITMQ_PACKAGE]);
  exitOnSignals();
  for (let attempt = 1; ; attempt++) {
    const rabbit = await create();
    if (forTheRun) atRunEnd(() => rabbit.destroy(), () => rmSync(rabbit.dir, { recursive: true, force: true }));
    else atExit(() => rabbit.destroy());
    try {
      await rabbit.start();
      return rabbit;
    } catch (error) {
      await rabbit.destroy();
      if (attempt === START_ATTEMPTS || !PORT_TAKEN.test(String(error))) throw error;
    }
  }
}

async function startShared(): Promise<SharedRabbit> {
  const url = process.env.AMQP_URL;
  if (url) return { url };
  const node = await startRabbitNode({ forTheRun: true });
  return { url: node.url, node };
}
