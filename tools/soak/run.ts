/**
 * What `npm run soak` and `npm run churn` share: their broker options, the
 * daemon they start (compiled, as `npm start` runs it, by bench/servers.ts),
 * a line per event on stdout, and an exit code from the verdict.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDaemon, stopAll, type Target } from '../../bench/servers';
import type { AdminPort } from '../admin_port';

const ROOT = join(__dirname, '..', '..');

export const BROKER_USAGE = `  --amqp-url URL   a running RabbitMQ (default: the in-process broker)
  --rabbitmq       a private RabbitMQ node, started and stopped by the run
  --out DIR        where the daemon's log and the result JSON go (default .data/<run>)`;

/** Parses `argv` with the run's own integer options (name → default) besides the broker's. */
export function parseRun<K extends string>(argv: readonly string[], integers: Readonly<Record<K, number>>, usage: string) {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'amqp-url': { type: 'string' },
      rabbitmq: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
      ...Object.fromEntries(Object.keys(integers).map((name) => [name, { type: 'string' as const }])),
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const figures = {} as Record<K, number>;
  for (const [name, fallback] of Object.entries(integers) as Array<[K, number]>) {
    const given = (values as Record<string, unknown>)[name] as string | undefined;
    const value = given === undefined ? fallback : Number(given);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} takes a positive integer, not ${given}\n\n${usage}`);
    figures[name] = value;
  }
  const amqpUrl = values['amqp-url'] as string | undefined;
  return { ...figures, amqpUrl, rabbitmq: values.rabbitmq === true, out: values.out as string | undefined };
}

export interface RunDaemon {
  readonly target: Target;
  readonly admin: AdminPort;
  /** ws://127.0.0.1:<port>/websocket */
  readonly url: string;
  readonly outDir: string;
}

export async function startRunDaemon(run: string, options: { readonly amqpUrl?: string; readonly rabbitmq: boolean; readonly out?: string }): Promise<RunDaemon> {
  const outDir = options.out ?? join(ROOT, '.data', run);
  const broker = options.amqpUrl || options.rabbitmq ? 'rabbitmq' : 'local';
  const target = await startDaemon({ broker, ...(options.amqpUrl && { amqpUrl: options.amqpUrl }), logDir: outDir });
  say(`${target.name} started (uWS ${target.uws}), its log in ${target.logFile}`);
  return { target, admin: { url: target.adminUrl! }, url: `${target.url}/websocket`, outDir };
}

export function say(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

export const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

/** Runs `main`; exits 0 when it returns true, 1 when false or it throws; Ctrl-C stops the daemon first. */
export function runMain(main: () => Promise<boolean>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the daemon\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
  main().then(
    async (passed) => {
      await stopAll();
      process.exit(passed ? 0 : 1);
    },
    async (error: unknown) => {
      await stopAll();
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
