// The RabbitMQ the integration specs run against: AMQP_URL if it is set,
// else one throwaway node for the whole run, started on first use.
//
// Starting a node takes 5–15 s (minutes if Debian's package must be
// installed first), so call these from a hook with a generous timeout:
//   before(async function () { this.timeout(120_000); ({ url } = await sharedRabbit()); });
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { atExit } from './hooks';
import { RABBITMQ_SERVER, RabbitNode } from './rabbitmq_node';

export interface SharedRabbit {
  url: string;
  /** The private node, when AMQP_URL was not set. */
  node?: RabbitNode;
}

let shared: Promise<SharedRabbit> | undefined;
let installed: Promise<void> | undefined;

/** The broker shared by every spec of the run. */
export async function sharedRabbit(): Promise<SharedRabbit> {
  // Memoized, failure included: if the node cannot start, every spec that
  // needs it fails at once instead of waiting a minute each.
  shared ??= startShared();
  return shared;
}

/** A node of the spec's own (to stop, restart or fail over), stopped and removed when the run ends. */
// A node's ports are free when chosen, but another process (a node booting
// beside it) may take one before RabbitMQ binds it: then it boots again on
// fresh ones.
const START_ATTEMPTS = 3;
const PORT_TAKEN = /could not bind|dist_port_already_used|eaddrinuse/i;

export async function startRabbitNode(): Promise<RabbitNode> {
  installed ??= installRabbitmqServer();
  await installed;
  exitOnSignals();
  for (let attempt = 1; ; attempt++) {
    const node = await RabbitNode.create();
    atExit(() => node.destroy());
    try {
      await node.start();
      return node;
    } catch (error) {
      await node.destroy();
      if (attempt === START_ATTEMPTS || !PORT_TAKEN.test(String(error))) throw error;
    }
  }
}

async function startShared(): Promise<SharedRabbit> {
  const url = process.env.AMQP_URL;
  if (url) return { url };
  const node = await startRabbitNode();
  return { url: node.url, node };
}

let handlingSignals = false;

// Ctrl-C would end mocha without its after hooks or even an 'exit' event,
// and the nodes run in process groups of their own, out of the terminal's
// reach. Exiting turns the signal into an 'exit' event, on which
// process_group.ts kills them.
function exitOnSignals(): void {
  if (handlingSignals) return;
  handlingSignals = true;
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}

const POLICY_RC_D = '/usr/sbin/policy-rc.d';

async function installRabbitmqServer(): Promise<void> {
  if (existsSync(RABBITMQ_SERVER)) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    throw new Error(
      `RabbitMQ is not installed (${RABBITMQ_SERVER} is missing). Install Debian's rabbitmq-server ` +
        '(apt-get install rabbitmq-server), or run the specs against a broker of yours: ' +
        'AMQP_URL=amqp://user:password@host:5672 npm test',
    );
  }
  console.log(`Installing Debian's rabbitmq-server, which the integration specs need...`);
  await withServiceStartsDenied(async () => {
    if (!hasPackageLists()) await aptGet('update');
    await aptGet('install', '-y', 'rabbitmq-server');
  });
}

// The package would start a system-wide broker on 0.0.0.0:5672; the specs
// run private nodes instead. invoke-rc.d asks policy-rc.d, and 101 means no.
async function withServiceStartsDenied(install: () => Promise<void>): Promise<void> {
  const previous = await readFile(POLICY_RC_D).catch(() => undefined);
  await writeFile(POLICY_RC_D, '#!/bin/sh\n# warren specs: installing packages, start no services\nexit 101\n', {
    mode: 0o755,
  });
  try {
    await install();
  } finally {
    if (previous) await writeFile(POLICY_RC_D, previous);
    else await rm(POLICY_RC_D, { force: true });
  }
}

function hasPackageLists(): boolean {
  try {
    return readdirSync('/var/lib/apt/lists').some((name) => name.includes('_Packages'));
  } catch {
    return false;
  }
}

function aptGet(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const apt = spawn('apt-get', args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    apt.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    apt.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    apt.on('error', reject);
    apt.on('close', (code) => {
      if (code === 0) return resolve();
      const tail = output.trimEnd().split('\n').slice(-20).join('\n');
      reject(new Error(`apt-get ${args.join(' ')} failed (exit code ${code}):\n${tail}`));
    });
  });
}
