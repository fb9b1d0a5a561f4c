// The RabbitMQ adapter against real RabbitMQ nodes of this spec's own (it
// stops, pauses and restarts them). Node restarts cost 7–15 s each, so the
// tests share two nodes, A and B, and run in the order written: the last
// ones stop A, then kill B.
import amqp from 'amqplib';
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Broker, type PublicationSession, type SubscriptionSession } from 'rascal';
import { BrokerUnavailable, type BrokerAdapter, type StateChange } from '../../lib/broker/adapter';
import { decodeBatch, encodeBatch } from '../../lib/broker/batch';
import { connectRabbitMQ } from '../../lib/broker/rascal_adapter';
import { buildRascalConfig, nodeQueueName, RASCAL_TOPOLOGY, type RascalTopology } from '../../lib/broker/rascal_config';
import { shutdownBroker } from '../../lib/broker/rascal_startup';
import { loadConfig, type Config } from '../../lib/config';
import { eventually } from '../support/eventually';
import { freePorts } from '../support/free_ports';
import { captureLogs } from '../support/logs';
import { silentHost, stoppingRabbit } from '../support/refusing_hosts';
import { startRabbitNode } from '../support/rabbitmq';
import type { RabbitNode } from '../support/rabbitmq_node';

const ROOT = join(__dirname, '..', '..');

/** The test configuration (reconnect backoff 50..1000 ms) for these URLs. */
function configFor(urls: string[], broker: Partial<Config['broker']> = {}): Config {
  const config = loadConfig({ env: { NODE_ENV: 'test', AMQP_URL: urls.join(',') }, argv: [], configDir: join(ROOT, 'config') });
  return { ...config, broker: { ...config.broker, ...broker } };
}

const batchOf = (tag: string) => encodeBatch([{ room: 'lobby', frame: JSON.stringify({ type: 'message', text: tag }) }]);
const tagOf = (batch: Buffer) => JSON.parse(Buffer.from(decodeBatch(batch)[0]!.frame).toString()).text as string;
const soon = () => Date.now() + 5_000;

/** How a promise settled, or 'pending' if it had not by the next turn of the event loop. */
async function outcomeNow(promise: Promise<unknown>): Promise<string> {
  const outcome = promise.then(() => 'resolved', (error: Error) => `rejected ${error.name}`);
  return Promise.race([outcome, new Promise<string>((resolve) => setImmediate(resolve, 'pending'))]);
}

describe('RabbitMQ adapter (Rascal)', function () {
  this.timeout(120_000);
  let nodeA: RabbitNode;
  let nodeB: RabbitNode;
  const adapters: BrokerAdapter[] = [];

  before(async function () {
    [nodeA, nodeB] = await Promise.all([startRabbitNode(), startRabbitNode()]);
  });

  afterEach(async () => {
    await Promise.all(adapters.splice(0).map((adapter) => adapter.close()));
  });

  async function connect(urls: string[]): Promise<BrokerAdapter> {
    const adapter = await connectRabbitMQ(configFor(urls));
    adapters.push(adapter);
    return adapter;
  }

  /** Subscribes; the array fills with the tags of what arrives. */
  async function received(adapter: BrokerAdapter): Promise<string[]> {
    const tags: string[] = [];
    await adapter.subscribe((batch) => tags.push(tagOf(batch)));
    return tags;
  }

  /** Messages waiting in `queue` on `node`, and its consumers; rejects if there is no such queue. */
  async function queueState(node: RabbitNode, queue: string): Promise<{ messageCount: number; consumerCount: number }> {
    const connection = await amqp.connect(node.url);
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => {}); // a missing queue closes the channel; checkQueue rejects with the reason
      return await channel.checkQueue(queue);
    } finally {
      await connection.close();
    }
  }

  describe('startup', () => {
    it("rejects a topology Rascal does not accept, with Rascal's message, before connecting", async () => {
      const typo = structuredClone(RASCAL_TOPOLOGY) as unknown as { vhosts: Record<string, { exchanges: Record<string, unknown> }> };
      typo.vhosts['/']!.exchanges['chat'] = { tpye: 'fanout' };
      const [deadPort] = await freePorts(1, []);
      const error = await connectRabbitMQ(configFor([`amqp://127.0.0.1:${deadPort}`]), typo as unknown as RascalTopology).catch((e: Error) => e);
      expect((error as Error).message).to.equal('config/rascal.json: Exchange: chat in vhost: / refers to an unsupported attribute: tpye');
    });

    it('retries until broker.startupTimeoutMs, then names AMQP_URL, the URLs and why; no timer is left behind', async function () {
      // A process of its own, which must exit by itself: a timer left by a
      // failed Broker.create would keep it (and mocha) running forever.
      const [deadPort] = await freePorts(1, []);
      let connections = 0;
      const notRabbit = net.createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => notRabbit.listen(0, '127.0.0.1', resolve));
      try {
        const notRabbitUrl = `amqp://guest:secret@127.0.0.1:${(notRabbit.address() as AddressInfo).port}`;
        const results = await runStartups([[`amqp://guest:secret@127.0.0.1:${deadPort}`], [notRabbitUrl]], 1_500);
        expect(results[0]!.message).to.equal(
          `AMQP_URL: no RabbitMQ answered at amqp://guest:***@127.0.0.1:${deadPort} within 1500 ms (connect ECONNREFUSED)`,
        );
        expect(results[0]!.ms).to.be.at.least(1_500);
        expect(results[1]!.message).to.match(/^AMQP_URL: could not connect to RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+ within 1500 ms \(Failed to connect to: /);
        expect(results[1]!.message).to.not.include('secret');
        // A probe and a Broker.create per attempt: Broker.create was tried again.
        expect(connections).to.be.at.least(4);
      } finally {
        notRabbit.close();
      }
    });

    it('fails at once when RabbitMQ refuses the topology (the exchange exists with another type)', async () => {
      // (Rascal leaves the connection of such a failed Broker.create open,
      // out of reach; it goes when node A stops, further down.)
      await (await connectRabbitMQ(configFor([nodeA.url]))).close(); // `chat` exists, a fanout
      const clash = structuredClone(RASCAL_TOPOLOGY) as unknown as { vhosts: Record<string, { exchanges: Record<string, { type: string }> }> };
      clash.vhosts['/']!.exchanges['chat']!.type = 'topic';
      const started = Date.now();
      const error = await connectRabbitMQ(configFor([nodeA.url]), clash as unknown as RascalTopology).then(
        async (adapter) => {
          await adapter.close();
          return expect.fail('connected with a clashing topology');
        },
        (rejection: Error) => rejection,
      );
      expect(error.message).to.match(/^AMQP_URL: RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+ refused config\/rascal\.json: .*406 \(PRECONDITION-FAILED\)/);
      expect(Date.now() - started, 'no retries until the startup timeout').to.be.below(configFor([nodeA.url]).broker.startupTimeoutMs);
    });

    it('gives up on a host that does not answer after 2 s: no TCP handshake waits for the OS timeout', async function () {
      this.timeout(30_000); // without a limit, the connect would take about 2 minutes
      const silent = await silentHost();
      try {
        const started = Date.now();
        const error = await connectRabbitMQ(configFor([`amqp://127.0.0.1:${silent.port}`], { startupTimeoutMs: 1 })).catch((e: Error) => e);
        expect((error as Error).message).to.equal(
          `AMQP_URL: no RabbitMQ answered at amqp://127.0.0.1:${silent.port} within 1 ms (connect: no answer within 2000 ms)`,
        );
        expect(Date.now() - started).to.be.at.least(1_990);
      } finally {
        await silent.close();
      }
    });

    it('retries a RabbitMQ that closes the connection with 320 CONNECTION_FORCED (it is stopping), and connects once it accepts', async () => {
      const stopping = await stoppingRabbit(nodeA.port, 2);
      const logs = captureLogs('warn');
      try {
        const adapter = await connectRabbitMQ(configFor([`amqp://guest:guest@127.0.0.1:${stopping.port}`]));
        try {
          expect(stopping.forced, 'both refusals were made').to.equal(2);
          expect(adapter.state).to.equal('connected');
          expect(logs.messages()).to.deep.equal(['rabbitmq: could not connect to RabbitMQ; retrying for up to 5000 ms']);
        } finally {
          await adapter.close();
        }
      } finally {
        logs.restore();
        await stopping.close();
      }
    });
  });

  describe('on a running node', () => {
    it('resolves a publish after the confirm; the subscriber gets the exact bytes', async () => {
      const adapter = await connect([nodeA.url]);
      const batches: Buffer[] = [];
      await adapter.subscribe((batch) => batches.push(batch));
      const batch = encodeBatch([
        { room: 'lobby', frame: '{"type":"message","text":"héllo 👋"}' },
        { room: 'other', frame: '{"type":"message","text":"second"}' },
      ]);
      await adapter.publish(batch, soon());
      await eventually(() => expect(batches).to.have.length(1));
      expect(Buffer.compare(batches[0]!, batch)).to.equal(0);
      expect(adapter.state).to.equal('connected');
      const info = adapter.info();
      expect(info).to.deep.include({ url: `amqp://guest:***@127.0.0.1:${nodeA.port}`, reconnects: 0, batchesDelivered: 1 });
      expect(info['queue']).to.match(/^node:[0-9a-f-]{36}$/);
    });

    it('keeps the order of many sequential batches', async () => {
      const adapter = await connect([nodeA.url]);
      const tags = await received(adapter);
      const sent = Array.from({ length: 300 }, (_, i) => `b${i}`);
      for (const tag of sent) await adapter.publish(batchOf(tag), soon());
      await eventually(() => expect(tags).to.deep.equal(sent), 10_000);
    });

    it('resolves overlapping publishes too, in the order they were made (one confirm channel)', async () => {
      const adapter = await connect([nodeA.url]);
      const tags = await received(adapter);
      const sent = Array.from({ length: 20 }, (_, i) => `o${i}`);
      await Promise.all(sent.map((tag) => adapter.publish(batchOf(tag), soon())));
      await eventually(() => expect(tags).to.deep.equal(sent));
    });

    it('gives two adapters (two daemon nodes) every batch, each on a queue of its own', async () => {
      const [one, two] = [await connect([nodeA.url]), await connect([nodeA.url])];
      const [atOne, atTwo] = [await received(one), await received(two)];
      const sent: string[] = [];
      for (let i = 0; i < 20; i++) {
        for (const [name, adapter] of [['one', one], ['two', two]] as const) {
          sent.push(`${name}-${i}`);
          await adapter.publish(batchOf(`${name}-${i}`), soon());
        }
      }
      await eventually(() => expect(atOne).to.deep.equal(sent));
      await eventually(() => expect(atTwo).to.deep.equal(sent));
      const [queueOne, queueTwo] = [one.info()['queue'] as string, two.info()['queue'] as string];
      expect(queueOne).to.not.equal(queueTwo);
      for (const queue of [queueOne, queueTwo]) expect(await queueState(nodeA, queue)).to.deep.equal({ queue, messageCount: 0, consumerCount: 1 });
    });

    it("bounds a node's queue: the newest broker.queue.maxLength batches while no one consumes, none expiresMs after", async () => {
      const stuck = await connectRabbitMQ(configFor([nodeA.url], { queue: { expiresMs: 3_000, maxLength: 3 } })); // never subscribes
      adapters.push(stuck);
      const queue = stuck.info()['queue'] as string;
      const publisher = await connect([nodeA.url]);
      for (let i = 0; i < 5; i++) await publisher.publish(batchOf(`q${i}`), soon());
      const connection = await amqp.connect(nodeA.url);
      try {
        const channel = await connection.createChannel();
        // Declaring it again with other arguments would fail: these are its arguments.
        await channel.assertQueue(queue, {
          durable: true, exclusive: false, autoDelete: false,
          arguments: { 'x-expires': 3_000, 'x-max-length': 3, 'x-overflow': 'drop-head' },
        });
        const kept: string[] = [];
        for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) {
          kept.push(tagOf(message.content));
        }
        expect(kept, 'drop-head: the oldest went').to.deep.equal(['q2', 'q3', 'q4']);
      } finally {
        await connection.close();
      }
      await stuck.close();
      // Each look (a passive declare) counts as a use and restarts the clock, hence the pace.
      const exists = () => queueState(nodeA, queue).then(() => true, () => false);
      await eventually(async () => expect(await exists(), 'gone once unused for expiresMs').to.equal(false), 10_000, 3_500);
    });

    it('acks a batch whose handling throws: logged, not redelivered, delivery goes on', async () => {
      const logs = captureLogs('error');
      try {
        const adapter = await connect([nodeA.url]);
        const seen: string[] = [];
        await adapter.subscribe((batch) => {
          seen.push(tagOf(batch));
          if (tagOf(batch) === 'poison') throw new Error('cannot handle this one');
        });
        for (const tag of ['poison', 'fine']) await adapter.publish(batchOf(tag), soon());
        await eventually(() => expect(seen).to.deep.equal(['poison', 'fine']));
        await new Promise((resolve) => setTimeout(resolve, 300)); // room for a redelivery, if there were one
        expect(seen).to.deep.equal(['poison', 'fine']);
        await eventually(async () => expect(await messagesHeld(nodeA, adapter.info()['queue'] as string), 'acked, not merely delivered').to.equal(0), 10_000, 200);
        expect(logs.messages()).to.deep.equal(['rabbitmq: delivering a batch failed; it is acked and dropped']);
      } finally {
        logs.restore();
      }
    });

    it('acks and drops what is not a warren batch (another content type, JSON that does not parse)', async () => {
      const adapter = await connect([nodeA.url]);
      const tags = await received(adapter);
      const connection = await amqp.connect(nodeA.url);
      const channel = await connection.createConfirmChannel();
      channel.publish('chat', '', Buffer.from('plain text'), { contentType: 'text/plain' });
      channel.publish('chat', '', Buffer.from('{not json'), { contentType: 'application/json' });
      await channel.waitForConfirms();
      await connection.close();
      await adapter.publish(batchOf('real'), soon());
      await eventually(() => expect(tags).to.deep.equal(['real']));
      expect(adapter.info()).to.deep.include({ batchesDropped: 2, batchesDelivered: 1 });
      await eventually(async () => expect(await messagesHeld(nodeA, adapter.info()['queue'] as string), 'acked, not merely delivered').to.equal(0), 10_000, 200);
    });

    it('trap: Rascal\'s ackOrNack(error) nacks without requeue: the message is gone, not redelivered', async () => {
      const broker = await createRascal(nodeA.url);
      try {
        const session = await new Promise<SubscriptionSession>((resolve, reject) =>
          broker.subscribe('chat', (error, subscription) => (error ? reject(error) : resolve(subscription))),
        );
        session.on('error', () => {});
        let deliveries = 0;
        session.on('message', (_message, _content, ackOrNack) => {
          deliveries++;
          ackOrNack(new Error('failed to handle it'));
        });
        await publishRaw(broker, batchOf('nacked'));
        await eventually(() => expect(deliveries).to.equal(1));
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(deliveries).to.equal(1);
        await eventually(async () => expect(await messagesHeld(nodeA, nodeQueueName(broker.config)), 'nacked, not merely delivered').to.equal(0), 10_000, 200);
      } finally {
        await shutdownBroker(broker);
      }
    });
  });

  describe('when RabbitMQ closes the connection (rabbitmqctl close_all_connections)', () => {
    it('reconnects past a state change listener that throws; each throw is logged', async () => {
      const logs = captureLogs('error');
      try {
        const adapter = await connect([nodeA.url]);
        const tags = await received(adapter);
        adapter.onStateChange(() => {
          throw new Error('a listener with a bug');
        });
        const changes: StateChange[] = [];
        adapter.onStateChange((change) => changes.push(change)); // told all the same
        await rabbitmqctl(nodeA, 'close_all_connections', 'a spec closes them');
        await eventually(() => expect(adapter.info()['reconnects']).to.equal(1), 15_000);
        expect(changes[0]).to.deep.include({ state: 'disconnected' });
        expect(changes.at(-1)).to.deep.include({ state: 'connected' });
        const thrown = logs.lines.filter((line) => line.msg === 'rabbitmq: a state change listener threw');
        expect(thrown.map((line) => (line['err'] as { message: string }).message)).to.deep.equal(changes.map(() => 'a listener with a bug'));
        await adapter.publish(batchOf('after'), soon());
        await eventually(() => expect(tags).to.deep.equal(['after']));
      } finally {
        logs.restore();
      }
    });
  });

  describe('when RabbitMQ stops answering (node paused with SIGSTOP)', () => {
    it('rejects the unconfirmed publish by its deadline and withdraws the one queued behind it', async () => {
      const adapter = await connect([nodeA.url]);
      const tags = await received(adapter);
      await adapter.publish(batchOf('before'), soon());
      const deadline = Date.now() + 1_000;
      signalNode(nodeA, 'SIGSTOP');
      try {
        const outcomes = await Promise.all(
          ['unconfirmed', 'queued'].map((tag) => adapter.publish(batchOf(tag), deadline).then(() => 'resolved', (error: Error) => error)),
        );
        for (const outcome of outcomes) expect(outcome).to.be.instanceOf(BrokerUnavailable);
        expect(adapter.state, 'the connection itself is fine').to.equal('connected');
      } finally {
        signalNode(nodeA, 'SIGCONT');
      }
      await adapter.publish(batchOf('after'), soon());
      await eventually(() => expect(tags).to.include('after'));
      // 'unconfirmed' was on the wire before its deadline: no AMQP call takes
      // it back, and RabbitMQ delivers it. 'queued' still waited for Rascal's
      // one channel: aborted, it never left.
      expect(tags).to.deep.equal(['before', 'unconfirmed', 'after']);
    });
  });

  describe('when the node stops and starts again', () => {
    it('goes disconnected, refuses publishes at once, settles the one in flight, then resumes by itself', async () => {
      const logs = captureLogs('info');
      let rascal: Broker | undefined;
      try {
        const adapter = await connect([nodeA.url]);
        const queue = adapter.info()['queue'];
        const changes: StateChange[] = [];
        adapter.onStateChange((change) => changes.push(change));
        const tags = await received(adapter);
        const closedDuringOutage = await connect([nodeA.url]);
        const raw = (rascal = await createRascal(nodeA.url)); // Rascal alone, to show what the adapter prevents
        const { tags: rascalTags, subscribedEvents } = await subscribeRaw(raw);
        await adapter.publish(batchOf('before'), soon());

        // Both publish as the broker actor does, the next batch as soon as
        // the last one settled, while the node stops: the batch in flight
        // when the connection goes must settle too, and so must one
        // published in the instant Rascal has not yet seen the loss.
        const publishers = [publishUntilRefused(adapter, 'loop'), publishUntilRefused(closedDuringOutage, 'other')];
        await new Promise((resolve) => setTimeout(resolve, 100));
        await nodeA.stop();
        for (const outcomes of await Promise.all(publishers)) {
          expect(outcomes.slice(-3)).to.deep.equal(['BrokerUnavailable', 'BrokerUnavailable', 'BrokerUnavailable']);
          expect(outcomes.slice(0, -3)).to.not.include('BrokerUnavailable');
        }
        expect(adapter.state).to.be.oneOf(['disconnected', 'reconnecting']);
        expect(changes[0]).to.deep.include({ state: 'disconnected' });
        expect(changes[0]!.reason).to.be.a('string').and.not.be.empty;

        const outageBatches = Array.from({ length: 20 }, (_, i) => `outage-${i}`);
        for (const tag of outageBatches) {
          expect(await outcomeNow(adapter.publish(batchOf(tag), soon())), tag).to.equal('rejected BrokerUnavailable');
        }
        // Rascal alone holds what is published during the outage, and would
        // send it after the reconnect; only abort() takes it back.
        const [held, withdrawn] = [await publishRaw(raw, batchOf('held')), await publishRaw(raw, batchOf('withdrawn'))];
        withdrawn.abort();
        for (const session of [held, withdrawn]) {
          session.on('error', () => {});
          await new Promise((resolve) => (session as NodeJS.EventEmitter).once('paused', resolve));
        }

        // Rascal's shutdown can wait forever now (for a channel only a
        // reconnect creates); close() must end all the same.
        await closedDuringOutage.close();
        expect(closedDuringOutage.state).to.equal('closed');
        await eventually(() => expect(changes.filter((change) => change.state === 'reconnecting').length).to.be.at.least(3), 10_000);
        expect(changes.slice(1).map((change) => change.attempt)).to.deep.equal(changes.slice(1).map((_, i) => i + 1));

        await nodeA.start();
        await eventually(() => expect(adapter.state).to.equal('connected'), 20_000);
        expect(changes.at(-1)).to.deep.equal({ state: 'connected', url: `amqp://guest:***@127.0.0.1:${nodeA.port}` });
        expect(adapter.info()).to.include({ reconnects: 1, queue });

        // Same adapter, same queue, same subscription: Rascal resubscribed.
        await adapter.publish(batchOf('after'), soon());
        await eventually(() => expect(tags).to.include('after'), 10_000);
        expect(tags[0]).to.equal('before');
        expect(tags.at(-1)).to.equal('after');
        expect(tags.filter((tag) => tag.startsWith('outage-')), 'nothing refused during the outage went out later').to.deep.equal([]);
        const loopTags = tags.filter((tag) => tag.startsWith('loop-'));
        expect(loopTags, 'in order (confirmed ones still unconsumed died with the node: chat messages are not persistent)').to.deep.equal(
          [...loopTags].sort((a, b) => Number(a.slice(5)) - Number(b.slice(5))),
        );

        // Rascal's queue of held publications is first in, first out: once
        // a marker published after the reconnect arrives, the withdrawn one
        // would have too.
        await new Promise((resolve) => publishRaw(raw, batchOf('marker')).then((session) => session.once('success', resolve)));
        await eventually(() => expect(rascalTags).to.include('marker'), 10_000);
        expect(rascalTags).to.include('held').and.not.include('withdrawn');
        expect(subscribedEvents, "Rascal resubscribed without a second 'subscribed'").to.deep.equal(['subscribed']);

        const lines = logs.lines.filter((line) => line['queue'] === queue).map((line) => line.msg.replace(/ [(].*/, ''));
        expect(lines.filter((line) => !line.includes('subscription')), 'one line per state change, whatever the number of attempts').to.deep.equal([
          `rabbitmq: connected to amqp://guest:***@127.0.0.1:${nodeA.port}`,
          'rabbitmq: disconnected',
          'rabbitmq: reconnecting',
          `rabbitmq: connected to amqp://guest:***@127.0.0.1:${nodeA.port}`,
        ]);
        expect(lines.filter((line) => line.includes('subscription'))).to.have.length.at.most(1);
      } finally {
        logs.restore();
        if (rascal) await shutdownBroker(rascal);
      }
    });
  });

  describe('when RabbitMQ blocks publishers (memory alarm)', () => {
    it('refuses publishes at once once blocked, says so in info(), and publishes again once unblocked', async () => {
      const adapter = await connect([nodeB.url]);
      const tags = await received(adapter);
      await adapter.publish(batchOf('before'), soon());
      await rabbitmqctl(nodeB, 'set_vm_memory_high_watermark', '0.0001');
      try {
        // RabbitMQ says "blocked" only to a connection that publishes: the
        // first batch waits unread in the socket, and fails by its deadline.
        const first = adapter.publish(batchOf('first while blocked'), Date.now() + 1_000);
        expect(await first.then(() => 'resolved', (error: Error) => error.name)).to.equal('BrokerUnavailable');
        await eventually(() => expect(adapter.info()['blocked']).to.be.a('string').and.not.be.empty, 10_000);
        expect(await outcomeNow(adapter.publish(batchOf('while blocked'), soon()))).to.equal('rejected BrokerUnavailable');
        expect(adapter.state, 'blocked is not disconnected: deliveries still flow').to.equal('connected');
      } finally {
        await rabbitmqctl(nodeB, 'set_vm_memory_high_watermark', '0.4');
      }
      await eventually(() => expect(adapter.info()).to.not.have.property('blocked'), 10_000);
      await adapter.publish(batchOf('after'), soon());
      // The first one was on the wire: RabbitMQ read it once unblocked.
      await eventually(() => expect(tags).to.deep.equal(['before', 'first while blocked', 'after']));
    });
  });

  describe('failover', () => {
    it('with [a dead port, A], connects to A', async () => {
      const [deadPort] = await freePorts(1, []);
      const adapter = await connect([`amqp://guest:guest@127.0.0.1:${deadPort}`, nodeA.url]);
      expect(adapter.info()['url']).to.equal(`amqp://guest:***@127.0.0.1:${nodeA.port}`);
      const tags = await received(adapter);
      await adapter.publish(batchOf('via A'), soon());
      await eventually(() => expect(tags).to.deep.equal(['via A']));
    });

    it('with [A, B], moves to B when A stops, and delivery goes on', async () => {
      const adapter = await connect([nodeA.url, nodeB.url]);
      const tags = await received(adapter);
      await adapter.publish(batchOf('on A'), soon());
      await eventually(() => expect(tags).to.deep.equal(['on A']));
      const neighbourOnB = await connect([nodeB.url]); // another daemon, attached to B only

      await nodeA.stop();
      await eventually(() => expect(adapter.info()['url']).to.equal(`amqp://guest:***@127.0.0.1:${nodeB.port}`), 15_000);
      expect(adapter.state).to.equal('connected');
      expect(adapter.info()['reconnects']).to.equal(1);

      await adapter.publish(batchOf('on B'), soon());
      await neighbourOnB.publish(batchOf('from the neighbour'), soon());
      await eventually(() => expect(tags).to.deep.equal(['on A', 'on B', 'from the neighbour']));
    });
  });

  describe('when the last node (B) dies for good', () => {
    it('shutdownBroker leaves a Rascal that waits for a channel after 2 s, with a warning, its keep-alive timer cleared', async function () {
      this.timeout(30_000); // without the cap, Rascal's shutdown would never end
      const logs = captureLogs('warn');
      const raw = await createRascal(nodeB.url);
      try {
        await new Promise((resolve) => publishRaw(raw, batchOf('first')).then((session) => session.once('success', resolve))); // the pool's one channel exists
        // 'unconfirmed' holds that channel (no confirm from a stopped node);
        // 'waiting' asks the pool for another. Once the connection is gone,
        // the pool can create it only after a reconnection, and Rascal's
        // shutdown drains the pool first.
        signalNode(nodeB, 'SIGSTOP');
        for (const tag of ['unconfirmed', 'waiting']) (await publishRaw(raw, batchOf(tag))).on('error', () => {});
        await new Promise((resolve) => setTimeout(resolve, 100)); // 'waiting' reaches the pool within a few turns
        const lost = new Promise((resolve) => raw.once('disconnect', resolve));
        signalNode(nodeB, 'SIGKILL');
        await lost;
        const started = Date.now();
        await shutdownBroker(raw);
        expect(Date.now() - started).to.be.at.least(1_990);
        expect(logs.messages()).to.deep.equal([
          'rabbitmq: Rascal did not shut down within 2000 ms (it waits for a channel only a reconnection can create); leaving it',
        ]);
        // (Node marks a cleared timer _destroyed; an active one would keep the process alive.)
        const { keepActive } = raw as unknown as { keepActive: NodeJS.Timeout & { _destroyed: boolean } };
        expect(keepActive._destroyed, 'the keep-alive timer is cleared').to.equal(true);
      } finally {
        logs.restore();
        await nodeB.stop();
      }
    });
  });
});

/** Publishes `prefix-0`, `prefix-1`... each once the last settled, until three were refused; resolves with the outcomes. */
async function publishUntilRefused(adapter: BrokerAdapter, prefix: string): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; outcomes.filter((outcome) => outcome !== 'ok').length < 3; i++) {
    outcomes.push(await adapter.publish(batchOf(`${prefix}-${i}`), soon()).then(() => 'ok', (error: Error) => error.name));
  }
  return outcomes;
}

/** rabbitmqctl (the script that runs as we are, not Debian's wrapper) with the node's cookie and epmd; its output. */
async function rabbitmqctl(node: RabbitNode, ...args: string[]): Promise<string> {
  const env = { ...process.env, HOME: node.dir, ERL_EPMD_PORT: String(node.epmdPort) };
  const { stdout } = await promisify(execFile)('/usr/lib/rabbitmq/bin/rabbitmqctl', ['-n', node.nodeName, ...args], { env, timeout: 30_000 });
  return stdout;
}

/**
 * Messages `queue` holds, delivered but unacked ones included: a passive
 * declare counts only those ready for delivery, so a message a live consumer
 * never acked would not show there.
 */
async function messagesHeld(node: RabbitNode, queue: string): Promise<number> {
  const rows = (await rabbitmqctl(node, 'list_queues', '--quiet', '--no-table-headers', 'name', 'messages')).trim().split('\n');
  const row = rows.map((line) => line.split('\t')).find(([name]) => name === queue);
  if (!row) throw new Error(`no queue ${queue} on ${node.nodeName}: ${rows.join('; ')}`);
  return Number(row[1]);
}

/** SIGSTOP/SIGCONT/SIGKILL to the node's process group (started by this spec's support code). */
function signalNode(node: RabbitNode, signal: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL'): void {
  process.kill(-node.pid!, signal);
}

async function subscribeRaw(broker: Broker): Promise<{ tags: string[]; subscribedEvents: string[] }> {
  const [tags, subscribedEvents]: [string[], string[]] = [[], []];
  const session = await new Promise<SubscriptionSession>((resolve, reject) =>
    broker.subscribe('chat', (error, subscription) => (error ? reject(error) : resolve(subscription))),
  );
  session.on('error', () => {});
  (session as NodeJS.EventEmitter).on('subscribed', () => subscribedEvents.push('subscribed'));
  session.on('message', (_message, content: Buffer, ackOrNack) => {
    tags.push(tagOf(content));
    ackOrNack();
  });
  return { tags, subscribedEvents };
}

/** A Rascal broker on the built configuration, without the adapter: to show Rascal's own behaviour. */
function createRascal(url: string): Promise<Broker> {
  return new Promise((resolve, reject) =>
    Broker.create(buildRascalConfig(configFor([url])), (error, broker) => {
      if (error) return reject(error);
      broker.on('error', () => {});
      resolve(broker);
    }),
  );
}

function publishRaw(broker: Broker, batch: Buffer): Promise<PublicationSession> {
  return new Promise((resolve, reject) =>
    broker.publish('chat', batch, { options: { contentType: 'application/vnd.warren.batch.v1' } }, (error, session) =>
      error ? reject(error) : resolve(session),
    ),
  );
}

/**
 * Runs connectRabbitMQ once per URL list in a child process, one after the
 * other, and resolves with each rejection once the child has exited.
 */
async function runStartups(urlLists: string[][], startupTimeoutMs: number): Promise<Array<{ message: string; ms: number }>> {
  const script = `
    const { connectRabbitMQ } = require('./lib/broker/rascal_adapter');
    const { loadConfig } = require('./lib/config');
    (async () => {
      for (const urls of ${JSON.stringify(urlLists)}) {
        const loaded = loadConfig({ env: { NODE_ENV: 'test', AMQP_URL: urls.join(',') }, argv: [], configDir: 'config' });
        const config = { ...loaded, broker: { ...loaded.broker, startupTimeoutMs: ${startupTimeoutMs} } };
        const started = Date.now();
        await connectRabbitMQ(config).then(
          () => console.log(JSON.stringify({ message: 'connected' })),
          (error) => console.log(JSON.stringify({ message: error.message, ms: Date.now() - started })),
        );
      }
    })();`;
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const limit = urlLists.length * startupTimeoutMs + 15_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), limit);
  const code = await exited;
  clearTimeout(timer);
  expect(code, `the process did not exit by itself within ${limit} ms: a timer or socket was left behind`).to.equal(0);
  return output.trim().split('\n').map((line) => JSON.parse(line));
}
