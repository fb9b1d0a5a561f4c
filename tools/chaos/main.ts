/**
 * `npm run chaos -- --minutes 10 [--clients 50] [--seed N] [--amqp-url URL]`:
 * a chaos run (run.ts) of that length, its summary printed; exit code 1 when
 * an invariant broke. Without --amqp-url it starts a private RabbitMQ node,
 * and only then can it close the daemon's AMQP connections from the broker
 * side (rabbitmqctl needs the node's cookie).
 */
import { parseArgs } from 'node:util';
import { cleanUp } from '../../spec/support/hooks';
import { exitOnSignals } from '../../spec/support/process_group';
import { describeSummary, runChaos } from './run';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    clients: { type: 'string', default: '50' },
    rooms: { type: 'string', default: '5' },
    seed: { type: 'string' },
    'amqp-url': { type: 'string' },
    'fault-every': { type: 'string', default: '5' },
  },
});

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, not ${text}`);
  return value;
}

async function main(): Promise<number> {
  exitOnSignals(); // Ctrl-C: the daemon and the RabbitMQ node are killed on the way out
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positive('seed', values.seed);
  console.log(`chaos: seed ${seed} (--seed ${seed} replays its schedule)`);
  const summary = await runChaos({
    durationMs: positive('minutes', values.minutes) * 60_000,
    clients: positive('clients', values.clients),
    rooms: positive('rooms', values.rooms),
    // About one say per client per second, well inside the rate limit (50 frames/s per socket).
    intervalMs: 1_000,
    faultEveryMs: positive('fault-every', values['fault-every']) * 1000,
    seed,
    ...(values['amqp-url'] !== undefined && { amqpUrl: values['amqp-url'] }),
    log: (line) => console.log(line),
  });
  console.log(describeSummary(summary));
  return summary.broken.length === 0 ? 0 : 1;
}

main().then(
  async (code) => {
    await cleanUp();
    process.exit(code);
  },
  async (error: Error) => {
    console.error(error.stack ?? error.message);
    await cleanUp();
    process.exit(1);
  },
);
