/**
 * What one batch costs through the broker: publish-to-delivery throughput and
 * latency of batches through the RabbitMQ adapter (Rascal, publisher
 * confirms), against raw amqplib on the same node (a confirm channel and a
 * consumer on one connection, the same batches): the floor the adapter can
 * approach. One batch in flight at a time, as the broker actor publishes.
 *
 *   npx tsx bench/broker_throughput.ts [--url amqp://...] [--batches N]
 *
 * Without --url it starts a private RabbitMQ node (spec/support) and stops it
 * at the end. With --url the adapter publishes to that broker's `chat`
 * exchange, room `bench`: not a broker that serves real users.
 */
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BATCH_CONTENT_TYPE, encodeBatch } from '../lib/broker/batch';
import { positionPlaceholder } from '../lib/broker/position';
import { connectRabbitMQ } from '../lib/broker/rascal_adapter';
import { loadConfig } from '../lib/config';
import { log } from '../lib/log';
import { RabbitNode } from '../spec/support/rabbitmq_node';
import { percentiles } from './stats';

const BATCH_SIZES = [1, 10, 100];
const WARMUP_BATCHES = 100;
// Nagle's algorithm makes every confirm wait ~40 ms: a few batches show it.
const NAGLE_BATCHES = 100;
// A chat message frame of about 100 bytes, as the relay would get it.
const BENCH_MESSAGE = { room: 'bench', frame: JSON.stringify({ type: 'message', room: 'bench', msgId: 'm-000000', pos: positionPlaceholder('m-000000'), from: 'bench', text: 'x'.repeat(40) }), key: undefined, at: 0 };
const FRAME = BENCH_MESSAGE.frame;

interface Path {
  publish(batch: Buffer): Promise<void>;
  /** Called with each batch that arrives. */
  deliver: (batch: Buffer) => void;
  close(): Promise<void>;
}

async function adapterPath(url: string): Promise<Path> {
  const config = loadConfig({ env: { AMQP_URL: url }, argv: [], configDir: join(__dirname, '..', 'config') });
  const adapter = await connectRabbitMQ(config);
  const path: Path = {
    publish: (batch) => adapter.publish(batch, Date.now() + config.publishTimeoutMs),
    deliver: () => {},
    close: () => adapter.close(),
  };
  await adapter.subscribe((batch) => path.deliver(batch), Date.now());
  return path;
}

/** A confirm channel and a consumer on one connection, as Rascal has them; an exchange and queue of its own. */
async function amqplibPath(url: string, noDelay: boolean): Promise<Path> {
  const connection = await amqp.connect(url, { noDelay });
  const publisher = await connection.createConfirmChannel();
  const consumer = await connection.createChannel();
  const exchange = `bench-${randomUUID()}`;
  await publisher.assertExchange(exchange, 'fanout', { durable: false, autoDelete: true });
  const { queue } = await consumer.assertQueue('', { exclusive: true });
  await consumer.bindQueue(queue, exchange, '');
  await consumer.prefetch(1000);
  const path: Path = {
    publish: (batch) =>
      new Promise((resolve, reject) =>
        publisher.publish(exchange, '', batch, { contentType: BATCH_CONTENT_TYPE, persistent: false, mandatory: true }, (error) =>
          error ? reject(error) : resolve(),
        ),
      ),
    deliver: () => {},
    close: () => connection.close(),
  };
  await consumer.consume(queue, (message) => {
    if (!message) return;
    path.deliver(message.content);
    consumer.ack(message);
  });
  return path;
}

interface Measurement {
  readonly batchesPerSecond: number;
  readonly p50: number;
  readonly p99: number;
}

/** Publishes `count` batches one after the other; latency is from the publish call to the delivery. */
async function measure(path: Path, batch: Buffer, count: number): Promise<Measurement> {
  const sentAt = new Float64Array(count);
  const latencies = new Float32Array(count);
  let received = 0;
  const allReceived = new Promise<void>((resolve) => {
    path.deliver = () => {
      latencies[received] = performance.now() - sentAt[received]!;
      if (++received === count) resolve();
    };
  });
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    sentAt[i] = performance.now();
    await path.publish(batch);
  }
  await allReceived;
  const seconds = (performance.now() - started) / 1000;
  const { p50, p99 } = percentiles(latencies);
  return { batchesPerSecond: count / seconds, p50, p99 };
}

async function run(url: string, batches: number): Promise<void> {
  const paths = { adapter: await adapterPath(url), amqplib: await amqplibPath(url, true), nagle: await amqplibPath(url, false) };
  const header = ['path', 'batch', 'batches', 'batches/s', 'messages/s', 'p50 ms', 'p99 ms', 'vs amqplib'];
  const rows: string[][] = [];
  try {
    for (const size of BATCH_SIZES) {
      const batch = encodeBatch(Array.from({ length: size }, () => BENCH_MESSAGE));
      let floor = NaN;
      for (const [name, path] of [['amqplib', paths.amqplib], ['adapter (Rascal)', paths.adapter]] as const) {
        await measure(path, batch, WARMUP_BATCHES);
        const result = await measure(path, batch, batches);
        if (name === 'amqplib') floor = result.batchesPerSecond;
        rows.push(row(name, size, batches, result, result.batchesPerSecond / floor));
      }
    }
    const single = encodeBatch([BENCH_MESSAGE]);
    rows.push(row('amqplib, noDelay off', 1, NAGLE_BATCHES, await measure(paths.nagle, single, NAGLE_BATCHES), NaN));
  } finally {
    for (const path of Object.values(paths)) await path.close();
  }
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(`\nbatches of ~${FRAME.length}-byte messages, one batch in flight, on ${url.replace(/:[^:@/]*@/, ':***@')}\n`);
  console.log([line(header), ...rows.map(line)].join('\n'));
}

function row(name: string, size: number, batches: number, { batchesPerSecond, p50, p99 }: Measurement, ratio: number): string[] {
  return [
    name,
    String(size),
    String(batches),
    batchesPerSecond.toFixed(0),
    (batchesPerSecond * size).toFixed(0),
    p50.toFixed(2),
    p99.toFixed(2),
    Number.isNaN(ratio) ? '' : `${(ratio * 100).toFixed(0)} %`,
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { url: { type: 'string' }, batches: { type: 'string', default: '2000' } } });
  const batches = Number(values.batches);
  if (!Number.isInteger(batches) || batches < 1) throw new Error(`--batches: expected a positive integer, got ${values.batches}`);
  log.level = 'warn';
  if (values.url) return run(values.url, batches);
  console.log('Starting a private RabbitMQ node...');
  const node = await RabbitNode.create();
  try {
    await node.start();
    await run(node.url, batches);
  } finally {
    await node.destroy();
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
