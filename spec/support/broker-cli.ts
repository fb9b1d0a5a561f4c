// `npm run broker`: a private RabbitMQ node for local use, in the foreground
// until Ctrl-C. Its data stays in .data/rabbitmq from one run to the next.
import path from 'node:path';
import { isPortFree } from './free_ports';
import { RabbitNode } from './rabbitmq_node';

const AMQP_PORT = 5672;
const DATA_DIR = path.resolve(__dirname, '../../.data/rabbitmq');

async function main(): Promise<void> {
  const port = (await isPortFree(AMQP_PORT)) ? AMQP_PORT : undefined;
  // A fixed node name: Mnesia files the data under it, and the port may
  // change from one run to the next.
  const node = await RabbitNode.create({ dir: DATA_DIR, port, name: 'warren' });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping RabbitMQ...`);
    node.stop().then(
      () => process.exit(0),
      (error: Error) => fail(error.message),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  console.log(`Starting RabbitMQ (data in ${DATA_DIR}, log in ${node.logFile})...`);
  const started = Date.now();
  try {
    await node.start();
  } catch (error) {
    if (stopping) return; // interrupted while starting: stop() finishes the job
    throw error;
  }
  console.log(`RabbitMQ is up after ${((Date.now() - started) / 1000).toFixed(1)} s. Ctrl-C stops it.`);
  console.log(`  AMQP_URL=${node.url} npm start`);

  const exit = await node.waitForExit();
  if (stopping) return;
  await node.stop();
  fail(`RabbitMQ stopped by itself (${exit}); see ${node.logFile}`);
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

main().catch((error: Error) => fail(error.message));
