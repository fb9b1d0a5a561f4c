import amqp from 'amqplib';
import { expect } from 'chai';
import net from 'node:net';
import { isAlive } from './process_group';
import { startRabbitNode } from './rabbitmq';
import type { RabbitNode } from './rabbitmq_node';

describe('a private RabbitMQ node', function () {
  // A start takes 5–15 s on this kind of machine; a stop 2–3 s.
  this.timeout(120_000);
  const queue = 'rabbitmq-spec';
  let node: RabbitNode;

  before(async function () {
    node = await startRabbitNode();
  });

  it('listens on loopback and accepts AMQP: declare a queue, publish, get', async function () {
    expect(node.url).to.equal(`amqp://guest:guest@127.0.0.1:${node.port}`);
    const connection = await amqp.connect(node.url);
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue(queue, { durable: true });
      channel.sendToQueue(queue, Buffer.from('kept across a restart'), { persistent: true });
      await channel.waitForConfirms();
      const [first, second] = [await channel.get(queue, { noAck: false }), await channel.get(queue)];
      expect(first && first.content.toString()).to.equal('kept across a restart');
      expect(second).to.equal(false);
      if (first) channel.nack(first); // back in the queue, for the restart below
    } finally {
      await connection.close();
    }
  });

  it('stops every process it started, then starts again at the same URL with the same data', async function () {
    const processes = node.processes();
    expect(processes.length, 'epmd, the script, beam.smp and its helpers').to.be.at.least(4);

    await node.stop();
    expect(node.pid).to.equal(undefined);
    expect(processes.filter(isAlive), 'processes left after stop()').to.deep.equal([]);
    expect(await connectError(node.port)).to.equal('ECONNREFUSED');

    await node.start();
    const connection = await amqp.connect(node.url);
    try {
      const channel = await connection.createChannel();
      const message = await channel.get(queue, { noAck: true });
      expect(message && message.content.toString()).to.equal('kept across a restart');
    } finally {
      await connection.close();
    }
  });
});

function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
  });
}
