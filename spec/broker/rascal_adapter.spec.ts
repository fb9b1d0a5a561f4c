// The RabbitMQ adapter against real RabbitMQ nodes of this spec's own (it
// stops, pauses and restarts them). Node restarts cost 7–15 s each, so the
// tests share two nodes, A and B, and run in the order written: the last
// ones stop A, then kill B. Each node holds one stream, chat.log, which
// every adapter on it reads from the second it subscribes; each test tags
// its batches with a run of its own and ignores the others'.
import amqp from 'amqplib';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Broker, type PublicationSession, type SubscriptionSession } from 'rascal';
import { BrokerUnavailable, type BrokerAdapter, type StateChange } from '../../lib/broker/adapter';
import { BATCH_CONTENT_TYPE, decodeBatch, encodeBatch } from '../../lib/broker/batch';
import { connectRabbitMQ } from '../../lib/broker/rascal_adapter';
import { buildRascalConfig, RASCAL_TOPOLOGY, STREAM, type RascalTopology } from '../../lib/broker/rascal_config';
import { shutdownBroker } from '../../lib/broker/rascal_startup';
import { loadConfig, type Config } from '../../lib/config';
import { chatMessage } from '../support/chat_frames';
import { eventually } from '../support/eventually';
import { freePorts } from '../support/free_ports';
import { captureLogs } from '../support/logs';
import { descendantsOf } from '../support/process_group';
import { gatedRabbit, silentHost, stoppingRabbit } from '../support/refusing_hosts';
import { startRabbitNode } from '../support/rabbitmq';
import type { RabbitNode } from '../support/rabbitmq_node';

const ROOT = join(__dirname, '..', '..');

/** The test configuration (reconnect backoff 50..1000 ms) for these URLs. */
function configFor(urls: string[], broker: Partial<Config['broker']> = {}): Config {
  const config = loadConfig({ env: { NODE_ENV: 'test', AMQP_URL: urls.join(',') }, argv: [], configDir: join(ROOT, 'config') });
  return { ...config, broker: { ...config.broker, ...broker } };
}

/** This test's, so that batches earlier tests published in the same second are told apart. */
let run = '';
const batchOf = (tag: string) => encodeBatch([chatMessage('lobby', `${run} ${tag}`)]);
/** The tag of a batch of this test's; undefined for anything else read from the stream. */
function tagOf(batch: Buffer): string | undefined {
  const [delivery] = decodeBatch(batch);
  const text = delivery && (JSON.parse(delivery.frame.toString()) as { text: string }).text;
  return text?.startsWith(`${run} `) ? text.slice(run.length + 1) : undefined;
}
/** Waits for the next second of the clock: a stream read from then on holds nothing older. */
async function nextSecond(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000)));
  return Date.now();
}
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

  beforeEach(() => {
    run = randomUUID().slice(0, 8);
  });

  afterEach(async () => {
    await Promise.all(adapters.splice(0).map((adapter) => adapter.close()));
  });

  async function connect(urls: string[], broker: Partial<Config['broker']> = {}): Promise<BrokerAdapter> {
    const adapter = await connectRabbitMQ(configFor(urls, broker));
    adapters.push(adapter);
    return adapter;
  }

  /** Subscribes; the array fills with the tags of what arrives. */
  async function received(adapter: BrokerAdapter, since = Date.now()): Promise<string[]> {
    const tags: string[] = [];
    await adapter.subscribe((batch) => {
      const tag = tagOf(batch);
      if (tag !== undefined) tags.push(tag);
    }, since);
    return tags;
  }

  /**
   * A reader (a daemon reading the stream) reaches node A through a gate,
   * a publisher directly. `disrupt` takes both connections away; the gate
   * then keeps the reader away while the publisher, back, publishes, and
   * lets it in again. The reader must get every batch exactly once, in
   * order: resuming at 'next' would skip those published while it was
   * away, at its first offset repeat those it had already.
   */
  async function readsEveryBatchOnceAcross(disrupt: () => Promise<void>): Promise<void> {
    const gate = await gatedRabbit(nodeA.port);
    const reader = await connect([gate.urlOf(nodeA.url)]);
    try {
      const tags = await received(reader);
      const publisher = await connect([nodeA.url]);
      const sent: string[] = [];
      const publishTen = async (phase: string) => {
        for (let i = 0; i < 10; i++) {
          await publisher.publish(batchOf(`${phase}-${i}`), soon());
          sent.push(`${phase}-${i}`);
        }
      };
      await publishTen('before');
      await eventually(() => expect(tags).to.deep.equal(sent));
      gate.shut();
      await disrupt();
      await eventually(() => expect(publisher.info()['reconnects']).to.equal(1), 20_000);
      await eventually(() => expect(reader.state).to.not.equal('connected'));
      await publishTen('away');
      expect(reader.state, 'the reader was away while they were published').to.not.equal('connected');
      gate.open();
      await eventually(() => expect(reader.info()['reconnects']).to.equal(1), 15_000);
      await publishTen('after');
      await eventually(() => expect(tags).to.deep.equal(sent), 10_000);
    } finally {
      await reader.close();
      await gate.close();
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

    it('fails at once when RabbitMQ refuses the topology (the stream exists with another x-max-age)', async () => {
      // (Rascal leaves the connection of such a failed Broker.create open,
      // out of reach; it goes when node A stops, further down.)
      await (await connectRabbitMQ(configFor([nodeA.url]))).close(); // the stream exists, with config/rascal.json's arguments
      type Queues = { vhosts: Record<string, { queues: Record<string, { options: { arguments: Record<string, unknown> } }> }> };
      const clash = structuredClone(RASCAL_TOPOLOGY) as unknown as Queues;
      clash.vhosts['/']!.queues[STREAM]!.options.arguments['x-max-age'] = '1h';
      const started = Date.now();
      const error = await connectRabbitMQ(configFor([nodeA.url]), clash as unknown as RascalTopology).then(
        async (adapter) => {
          await adapter.close();
          return expect.fail('connected with a clashing topology');
        },
        (rejection: Error) => rejection,
      );
      expect(error.message).to.match(/^AMQP_URL: RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+ refused config\/rascal\.json: .*406 \(PRECONDITION-FAILED\).*inequivalent arg 'x-max-age' for queue 'chat\.log'/);
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
      await adapter.subscribe((batch) => batches.push(batch), await nextSecond());
      const batch = encodeBatch([chatMessage('lobby', 'héllo 👋', { key: 'client:k\nc1' }), chatMessage('other', 'second')]);
      await adapter.publish(batch, soon());
      await eventually(() => expect(batches).to.have.length(1));
      expect(Buffer.compare(batches[0]!, batch)).to.equal(0);
      expect(adapter.state).to.equal('connected');
      const info = adapter.info();
      expect(info).to.deep.include({ url: `amqp://guest:***@127.0.0.1:${nodeA.port}`, stream: 'chat.log', reconnects: 0, batchesDelivered: 1 });
      expect(info['offset'], 'the offset of the batch handled').to.be.a('number');
    });

    it('keeps the order of many sequential batches', async () => {
      const adapter = await connect([nodeA.url]);
      const tags = await received(adapter);
      const sent = Array.from({ length: 300 }, (_, i) => `b${i}`);
      for (const tag of sent) await adapter.publish(batchOf(tag), soon());
      await eventually(() => expect(tags).to.deep.equal(sent), 10_000);
    });

    it('reads the log back from `since`, and is subscribed only once everything published before has been delivered', async () => {
      const since = Date.now();
      const publisher = await connect([nodeA.url]);
      const sent = Array.from({ length: 50 }, (_, i) => `before-${i}`);
      for (const tag of sent) await publisher.publish(batchOf(tag), soon());
      const reader = await connect([nodeA.url]);
      const tags = await received(reader, since);
      expect(tags, 'all of them by the time subscribe resolved').to.deep.equal(sent);
      await publisher.publish(batchOf('live'), soon());
      await eventually(() => expect(tags).to.deep.equal([...sent, 'live']));
      expect(reader.info()['batchesDropped'], "the other adapter's marker is skipped, not counted").to.equal(0);
    });

    it('resolves overlapping publishes too, in the order they were made (one confirm channel)', async () => {
      const adapter = await connect([nodeA.url]);
      const tags = await received(adapter);
      const sent = Array.from({ length: 20 }, (_, i) => `o${i}`);
      await Promise.all(sent.map((tag) => adapter.publish(batchOf(tag), soon())));
      await eventually(() => expect(tags).to.deep.equal(sent));
    });

    it('gives two adapters (two daemons) on one node every batch, in publish order, from the one stream', async () => {
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
      expect(one.info()['offset'], 'the same log, so the same offsets').to.equal(two.info()['offset']);
      // (Beside it, each adapter's presence queue: rascal_presence.spec.ts.)
      expect((await queuesOn(nodeA)).filter(([name]) => !name!.startsWith('presence:'))).to.deep.equal([['chat.log', 'stream', '2']]);
    });

    // With a prefetch of 1, RabbitMQ sends the next delivery only once the
    // last one was acked; a nack would close the connection (see the trap).
    it('acks a batch whose handling throws: logged, not redelivered, delivery goes on', async () => {
      const logs = captureLogs('error');
      try {
        const adapter = await connect([nodeA.url], { prefetch: 1 });
        const seen: string[] = [];
        await adapter.subscribe((batch) => {
          const tag = tagOf(batch);
          if (tag === undefined) return;
          seen.push(tag);
          if (tag === 'poison') throw new Error('cannot handle this one');
        }, Date.now());
        for (const tag of ['poison', 'fine']) await adapter.publish(batchOf(tag), soon());
        await eventually(() => expect(seen).to.deep.equal(['poison', 'fine']));
        await new Promise((resolve) => setTimeout(resolve, 300)); // room for a redelivery, if there were one
        expect(seen).to.deep.equal(['poison', 'fine']);
        expect(adapter.info()['reconnects'], 'acked, not nacked').to.equal(0);
        expect(logs.messages()).to.deep.equal(['rabbitmq: delivering a batch failed; it is acked and dropped']);
      } finally {
        logs.restore();
      }
    });

    it('acks and drops what is not a warren batch (another content type, JSON that does not parse)', async () => {
      const adapter = await connect([nodeA.url], { prefetch: 1 });
      const tags = await received(adapter, await nextSecond());
      const connection = await amqp.connect(nodeA.url);
      const channel = await connection.createConfirmChannel();
      channel.publish('chat', '', Buffer.from('plain text'), { contentType: 'text/plain' });
      channel.publish('chat', '', Buffer.from('{not json'), { contentType: 'application/json' });
      await channel.waitForConfirms();
      await connection.close();
      await adapter.publish(batchOf('real'), soon());
      await eventually(() => expect(tags).to.deep.equal(['real']));
      expect(adapter.info()).to.deep.include({ batchesDropped: 2, batchesDelivered: 1, reconnects: 0 });
    });

    it("trap: Rascal's ackOrNack(error) on a stream closes the whole connection (540 NOT_IMPLEMENTED)", async () => {
      const broker = await createRascal(nodeA.url);
      try {
        const lost = new Promise<string>((resolve) => broker.once('error', (error: Error) => resolve(error.message)));
        await subscribeRaw(broker, 'next', (ackOrNack) => ackOrNack(new Error('failed to handle it')));
        await publishRaw(broker, batchOf('nacked'));
        expect(await lost).to.match(/540 \(NOT-IMPLEMENTED\)/);
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
        await nodeA.ctl('close_all_connections', 'a spec closes them');
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

  describe('when RabbitMQ closes the connection, the stream is read on after the last batch handled', () => {
    it('every batch exactly once, in order, those published while the reader was away included', async () => {
      await readsEveryBatchOnceAcross(async () => {
        await nodeA.ctl('close_all_connections', 'a spec closes them');
      });
    });
  });

  describe('when RabbitMQ stops answering (node paused with SIGSTOP)', () => {
    it('rejects the unconfirmed publish by its deadline and withdraws the one queued behind it', async () => {
      const adapter = await connect([nodeA.url]);
      const tags = await received(adapter);
      await adapter.publish(batchOf('before'), soon());
      signalNode(nodeA, 'SIGSTOP');
      await eventually(() => expect(stateOf(nodeA), 'every process of the node stopped').to.match(/^T+$/));
      const deadline = Date.now() + 1_000;
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
        // Named, for its log lines: every adapter here reads the same stream.
        const adapter = await connectRabbitMQ({ ...configFor([nodeA.url]), nodeId: 'watched' });
        adapters.push(adapter);
        const changes: StateChange[] = [];
        adapter.onStateChange((change) => changes.push(change));
        const tags = await received(adapter);
        const closedDuringOutage = await connect([nodeA.url]);
        const raw = (rascal = await createRascal(nodeA.url)); // Rascal alone, to show what the adapter prevents
        await adapter.publish(batchOf('before'), soon());
        await eventually(() => expect(tags).to.deep.equal(['before']));
        // From 'before' on, again after the reconnect: what Rascal sends as
        // soon as it is back must be read wherever its consumer is by then.
        const { tags: rascalTags, subscribedEvents } = await subscribeRaw(raw, adapter.info()['offset'] as number);

        // Both publish as the broker actor does, the next batch as soon as
        // the last one settled, while the node stops: the batch in flight
        // when the connection goes must settle too, and so must one
        // published in the instant Rascal has not yet seen the loss.
        const publishers = [publishUntilRefused(adapter, 'loop'), publishUntilRefused(closedDuringOutage, 'other')];
        await new Promise((resolve) => setTimeout(resolve, 100));
        await nodeA.stop();
        const [loopOutcomes, otherOutcomes] = await Promise.all(publishers);
        for (const outcomes of [loopOutcomes!, otherOutcomes!]) {
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
        expect(adapter.info()).to.include({ reconnects: 1, stream: STREAM });

        // Same adapter, same stream, same subscription: Rascal resubscribed.
        await adapter.publish(batchOf('after'), soon());
        await eventually(() => expect(tags).to.include('after'), 10_000);
        expect(tags[0]).to.equal('before');
        // 'held' comes whenever the other broker's Rascal flushes it after its own reconnect.
        expect(tags.filter((tag) => tag !== 'held').at(-1)).to.equal('after');
        expect(tags.filter((tag) => tag.startsWith('outage-')), 'nothing refused during the outage went out later').to.deep.equal([]);
        const loopTags = tags.filter((tag) => tag.startsWith('loop-'));
        expect(loopTags, 'in order, each once').to.deep.equal([...new Set(loopTags)].sort((a, b) => Number(a.slice(5)) - Number(b.slice(5))));
        const confirmed = loopOutcomes!.flatMap((outcome, i) => (outcome === 'ok' ? [`loop-${i}`] : []));
        expect(loopTags, 'the stream kept every confirmed batch across the restart').to.include.members(confirmed);

        // Rascal's queue of held publications is first in, first out: once
        // a marker published after the reconnect arrives, the withdrawn one
        // would have too.
        await new Promise((resolve) => publishRaw(raw, batchOf('marker')).then((session) => session.once('success', resolve)));
        await eventually(() => expect(rascalTags).to.include('marker'), 10_000);
        expect(rascalTags).to.include('held').and.not.include('withdrawn');
        expect(subscribedEvents, "Rascal resubscribed without a second 'subscribed'").to.deep.equal(['subscribed']);

        const lines = logs.lines.filter((line) => line['connection'] === 'warren watched').map((line) => line.msg.replace(/ [(].*/, ''));
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

  describe('when the node restarts, the stream is read on after the last batch handled', () => {
    it('every batch exactly once, in order; a daemon that starts meanwhile connects (the stream is 404 for a moment)', async () => {
      const logs = captureLogs('debug');
      try {
        await readsEveryBatchOnceAcross(async () => {
          await nodeA.stop();
          // Trying every 10-50 ms, its first declaration comes within
          // moments of RabbitMQ accepting connections, while the stream's
          // declaration is still refused with 404 "home node ... is down".
          const starting = connectRabbitMQ(configFor([nodeA.url], { startupTimeoutMs: 60_000, reconnect: { minMs: 10, maxMs: 50 } }));
          await nodeA.start();
          adapters.push(await starting);
        });
        const reasons = logs.lines.filter((line) => line.msg.startsWith('rabbitmq: RabbitMQ is still starting the stream')).map((line) => line['reason']);
        expect(reasons, 'the starting daemon met the 404').to.not.be.empty;
        for (const reason of reasons) expect(reason).to.match(/404 \(NOT-FOUND\).*home node .* of durable queue 'chat\.log'/);
      } finally {
        logs.restore();
      }
    });
  });

  describe('when RabbitMQ blocks publishers (memory alarm)', () => {
    it('refuses publishes at once once blocked, says so in info(), and publishes again once unblocked', async () => {
      const adapter = await connect([nodeB.url]);
      const tags = await received(adapter);
      await adapter.publish(batchOf('before'), soon());
      await nodeB.ctl('set_vm_memory_high_watermark', '0.0001');
      try {
        // RabbitMQ says "blocked" only to a connection that publishes: the
        // first batch waits unread in the socket, and fails by its deadline.
        const first = adapter.publish(batchOf('first while blocked'), Date.now() + 1_000);
        expect(await first.then(() => 'resolved', (error: Error) => error.name)).to.equal('BrokerUnavailable');
        await eventually(() => expect(adapter.info()['blocked']).to.be.a('string').and.not.be.empty, 10_000);
        expect(await outcomeNow(adapter.publish(batchOf('while blocked'), soon()))).to.equal('rejected BrokerUnavailable');
        expect(adapter.state, 'blocked is not disconnected: deliveries still flow').to.equal('connected');
      } finally {
        await nodeB.ctl('set_vm_memory_high_watermark', '0.4');
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

    // A and B are two brokers, not a cluster: two streams whose offsets do
    // not match, so where the adapter stopped reading on A means nothing on
    // B (docs/design.md, "Failure modes"); in a cluster the stream is one.
    it('with [A, B], moves to B when A stops, and publishes there', async () => {
      const adapter = await connect([nodeA.url, nodeB.url]);
      const tags = await received(adapter);
      await adapter.publish(batchOf('on A'), soon());
      await eventually(() => expect(tags).to.deep.equal(['on A']));
      const neighbourOnB = await connect([nodeB.url]); // another daemon, attached to B only
      const atNeighbour = await received(neighbourOnB);

      await nodeA.stop();
      await eventually(() => expect(adapter.info()['url']).to.equal(`amqp://guest:***@127.0.0.1:${nodeB.port}`), 15_000);
      expect(adapter.state).to.equal('connected');
      expect(adapter.info()['reconnects']).to.equal(1);

      await adapter.publish(batchOf('on B'), soon());
      await neighbourOnB.publish(batchOf('from the neighbour'), soon());
      await eventually(() => expect(atNeighbour).to.deep.equal(['on B', 'from the neighbour']));
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

/** Name, type and consumer count of each queue on `node`. */
async function queuesOn(node: RabbitNode): Promise<string[][]> {
  const rows = (await node.ctl('list_queues', '--quiet', '--no-table-headers', 'name', 'type', 'consumers')).trim().split('\n');
  return rows.map((line) => line.split('\t'));
}

/** SIGSTOP/SIGCONT/SIGKILL to the node's process group (started by this spec's support code). */
function signalNode(node: RabbitNode, signal: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL'): void {
  process.kill(-node.pid!, signal);
}

/**
 * The state letter of each process in the node's group (T: stopped; the
 * helpers beam starts in sessions of their own get no signal and speak no
 * AMQP). A process in the middle of a disk write (D) stops only once the
 * write is done, and on a loaded machine that takes a while: until then
 * the node may still answer, a confirm for instance.
 */
function stateOf(node: RabbitNode): string {
  const group = String(node.pid!);
  return [node.pid!, ...descendantsOf(node.pid!)]
    .map((pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' '))
    .flatMap(([state, , pgrp]) => (pgrp === group ? [state] : []))
    .join('');
}

/**
 * Rascal's own subscription, from `offset` (where Rascal also starts again
 * after a reconnect), once RabbitMQ has the consumer. Each delivery is
 * recorded and then settled by `settle` (acked unless told otherwise).
 */
async function subscribeRaw(
  broker: Broker,
  offset: 'next' | number,
  settle: (ackOrNack: (error?: Error) => void) => void = (ackOrNack) => ackOrNack(),
): Promise<{ tags: string[]; subscribedEvents: string[] }> {
  const [tags, subscribedEvents]: [string[], string[]] = [[], []];
  const session = await new Promise<SubscriptionSession>((resolve, reject) =>
    broker.subscribe('chat', { options: { arguments: { 'x-stream-offset': offset } } }, (error, subscription) =>
      error ? reject(error) : resolve(subscription),
    ),
  );
  session.on('error', () => {});
  const subscribed = new Promise((resolve) => (session as NodeJS.EventEmitter).once('subscribed', resolve));
  (session as NodeJS.EventEmitter).on('subscribed', () => subscribedEvents.push('subscribed'));
  session.on('message', (message, content: Buffer, ackOrNack) => {
    const tag = message.properties.contentType === BATCH_CONTENT_TYPE ? tagOf(content) : undefined;
    if (tag !== undefined) tags.push(tag);
    settle(ackOrNack);
  });
  await subscribed;
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
    broker.publish('chat', batch, { options: { contentType: 'application/vnd.warren.batch.v2' } }, (error, session) =>
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
