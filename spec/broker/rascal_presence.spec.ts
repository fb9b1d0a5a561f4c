// The RabbitMQ adapter's presence channel against the run's RabbitMQ node
// (it closes every connection on it: no other spec file's are there
// meanwhile). Each test tags its messages with a run of its own and ignores
// the others': adapters of earlier tests, or spec files, are closed, but a
// message of theirs may still be on its way.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { BrokerAdapter } from '../../lib/broker/adapter';
import { decodeBatch, encodeBatch } from '../../lib/broker/batch';
import { connectRabbitMQ } from '../../lib/broker/rascal_adapter';
import { PRESENCE, RASCAL_TOPOLOGY, type RascalTopology } from '../../lib/broker/rascal_config';
import { loadConfig } from '../../lib/config';
import { chatMessage } from '../support/chat_frames';
import { eventually } from '../support/eventually';
import { sharedRabbitNode } from '../support/rabbitmq';
import type { RabbitNode } from '../support/rabbitmq_node';
import { cuttableRabbit, gatedRabbit } from '../support/refusing_hosts';

const ROOT = join(__dirname, '..', '..');

let run = '';
const messageOf = (tag: string) => Buffer.from(JSON.stringify({ run, tag }));

describe('RabbitMQ adapter (Rascal): presence', function () {
  this.timeout(60_000);
  let node: RabbitNode;
  const adapters: BrokerAdapter[] = [];

  before(async function () {
    this.timeout(120_000);
    node = await sharedRabbitNode();
  });

  beforeEach(() => {
    run = randomUUID().slice(0, 8);
  });

  afterEach(async () => {
    await Promise.all(adapters.splice(0).map((adapter) => adapter.close()));
  });

  async function connect(url = node.url, topology = RASCAL_TOPOLOGY): Promise<BrokerAdapter> {
    const config = loadConfig({ env: { NODE_ENV: 'test', AMQP_URL: url }, argv: [], configDir: join(ROOT, 'config') });
    const adapter = await connectRabbitMQ(config, topology);
    adapters.push(adapter);
    return adapter;
  }

  /** Listens on `adapter`; the array fills with the tags of this test's messages, in the order heard. */
  function heard(adapter: BrokerAdapter): string[] {
    const tags: string[] = [];
    adapter.presence.listen((message) => {
      const parsed = JSON.parse(message.toString()) as { run: string; tag: string };
      if (parsed.run === run) tags.push(parsed.tag);
    });
    return tags;
  }

  /** The presence queues on the node: name, then `columns` of list_queues. */
  async function presenceQueues(columns = ['exclusive', 'auto_delete', 'durable', 'arguments']): Promise<string[][]> {
    const rows = (await node.ctl('list_queues', '--quiet', '--no-table-headers', 'name', ...columns)).trim().split('\n');
    return rows.map((line) => line.split('\t')).filter(([name]) => name!.startsWith('presence:'));
  }

  const queueOf = (adapter: BrokerAdapter) => (adapter.info()['presence'] as { queue: string }).queue;

  it("gives two daemons each other's messages and their own, each sender's in the order sent, as Buffers", async () => {
    const [one, two] = [await connect(), await connect()];
    const [atOne, atTwo] = [heard(one), heard(two)];
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      for (const [name, adapter] of [['one', one], ['two', two]] as const) {
        expect(adapter.presence.publish(messageOf(`${name}-${i}`))).to.equal(true);
        sent.push(`${name}-${i}`);
      }
    }
    await eventually(() => expect(atOne).to.have.members(sent), 10_000);
    await eventually(() => expect(atTwo).to.have.members(sent), 10_000);
    // Two publishers into a fanout: each queue may interleave them differently.
    for (const tags of [atOne, atTwo]) {
      for (const name of ['one', 'two']) {
        expect(tags.filter((tag) => tag.startsWith(`${name}-`))).to.deep.equal(sent.filter((tag) => tag.startsWith(`${name}-`)));
      }
    }
    expect(one.info()['presence']).to.deep.include({ published: 50, delivered: 100, refused: 0, dropped: 0 });
    expect(one.info()['batchesDropped'], 'nothing of presence reaches the log').to.equal(0);
  });

  it('declares one bounded queue per daemon, neither exclusive nor auto-delete but expiring, and deletes it when it closes', async () => {
    const [one, two] = [await connect(), await connect()];
    expect(queueOf(one)).to.match(/^presence:[0-9a-f-]{36}$/);
    expect(queueOf(two)).to.match(/^presence:[0-9a-f-]{36}$/).and.not.equal(queueOf(one));
    const queues = (await presenceQueues()).filter(([name]) => name === queueOf(one) || name === queueOf(two));
    expect(queues.map(([name]) => name)).to.have.members([queueOf(one), queueOf(two)]);
    for (const [, exclusive, autoDelete, durable, args] of queues) {
      expect([exclusive, autoDelete, durable]).to.deep.equal(['false', 'false', 'false']);
      expect(args).to.include('x-expires').and.include('x-max-length').and.include('x-max-length-bytes').and.include('x-message-ttl').and.include('drop-head');
    }
    await one.close();
    await eventually(async () => expect((await presenceQueues()).map(([name]) => name)).to.include(queueOf(two)).and.not.include(queueOf(one)));
  });

  // What a daemon killed without closing leaves: RabbitMQ sees its
  // connection close (the kernel closes the sockets), nothing deletes the
  // queue, and no one consumes it any more. Here the connection goes with
  // the forwarder, and the adapter cannot reconnect.
  it("leaves, when its daemon's connection is gone for good, a queue that RabbitMQ deletes once unused for its x-expires", async () => {
    const topology = structuredClone(RASCAL_TOPOLOGY) as unknown as { vhosts: Record<string, { queues: Record<string, { options: { arguments: Record<string, unknown> } }> }> };
    const args = topology.vhosts['/']!.queues[PRESENCE]!.options.arguments;
    // The daemon's minute, shortened; a topology without it left as it is (its queue stays, and this fails).
    args['x-expires'] &&= 5_000;
    const gate = await gatedRabbit(node.port);
    let killed: BrokerAdapter;
    try {
      killed = await connect(gate.urlOf(node.url), topology as unknown as RascalTopology);
    } finally {
      await gate.close(); // its connection destroyed, and no way back
    }
    const queue = queueOf(killed);
    await eventually(() => expect(killed.state).to.not.equal('connected'), 10_000);
    // Left by the loss itself, without its consumer...
    await eventually(async () => expect(await presenceQueues(['consumers'])).to.deep.include([queue, '0']), 4_000, 200);
    // ...and deleted by RabbitMQ once unused for its x-expires.
    await eventually(async () => expect((await presenceQueues()).map(([name]) => name)).to.not.include(queue), 15_000, 200);
  });

  it('returns false while disconnected, and what it refused never arrives, not even after the reconnect', async () => {
    const gate = await gatedRabbit(node.port);
    try {
      const away = await connect(gate.urlOf(node.url));
      const listener = await connect();
      const tags = heard(listener);
      away.presence.publish(messageOf('before'));
      await eventually(() => expect(tags).to.deep.equal(['before']));
      gate.shut();
      await node.ctl('close_all_connections', 'a spec closes them');
      await eventually(() => expect(away.state).to.not.equal('connected'), 10_000);
      for (let i = 0; i < 10; i++) expect(away.presence.publish(messageOf(`away-${i}`)), `away-${i}`).to.equal(false);
      expect(away.info()['presence']).to.deep.include({ refused: 10 });
      await eventually(() => expect(listener.info()['reconnects']).to.equal(1), 15_000);
      gate.open();
      await eventually(() => expect(away.state).to.equal('connected'), 15_000);
      expect(away.presence.publish(messageOf('after'))).to.equal(true);
      // Rascal would have sent what it held first, in order: once 'after' is here, so would they be.
      await eventually(() => expect(tags).to.include('after'), 10_000);
      expect(tags).to.deep.equal(['before', 'after']);
    } finally {
      await gate.close();
    }
  });

  it('flows again once RabbitMQ closed the connection and the adapters reconnected: the queue declared and consumed again', async () => {
    const [one, two] = [await connect(), await connect()];
    const [atOne, atTwo] = [heard(one), heard(two)];
    one.presence.publish(messageOf('before'));
    await eventually(() => expect([atOne, atTwo]).to.deep.equal([['before'], ['before']]));
    await node.ctl('close_all_connections', 'a spec closes them');
    for (const adapter of [one, two]) await eventually(() => expect(adapter.info()['reconnects']).to.equal(1), 15_000);
    // Rascal consumes again a moment after the connection is back: until then a message has no queue to reach.
    // (Among them, maybe, the queue of an adapter of an earlier test closed while disconnected: it expires by itself.)
    await eventually(async () => expect((await presenceQueues()).map(([name]) => name)).to.include.members([queueOf(one), queueOf(two)]), 10_000);
    await eventually(
      () => {
        two.presence.publish(messageOf('after'));
        expect(atOne).to.include('after');
        expect(atTwo).to.include('after');
      },
      10_000,
      200,
    );
  });

  // The loss of a NAT or a proxy: the daemon's socket closes, RabbitMQ's
  // end of it stays open until its heartbeat timeout. An exclusive presence
  // queue would still belong to that old connection: the new one's
  // declaration refused (405 RESOURCE_LOCKED), and with it Rascal's whole
  // reconnection, the stream's included, until RabbitMQ let the old one go.
  it('comes back, chat and presence, after a loss only the daemon saw, while RabbitMQ still holds the old connection', async () => {
    const forwarder = await cuttableRabbit(node.port);
    try {
      const cut = await connect(forwarder.urlOf(node.url));
      const peer = await connect();
      const batches: string[] = [];
      await cut.subscribe((batch) => {
        const text = (JSON.parse(decodeBatch(batch)[0]!.frame.toString()) as { text: string }).text;
        if (text.startsWith(`${run} `)) batches.push(text.slice(run.length + 1));
      }, Date.now());
      const [atCut, atPeer] = [heard(cut), heard(peer)];
      const [old] = forwarder.upstreamPorts();
      forwarder.cut();
      await eventually(() => expect(cut.info()['reconnects'], 'reconnected').to.equal(1), 15_000, 50);
      await peer.publish(encodeBatch([chatMessage('lobby', `${run} after the cut`)]), Date.now() + 5_000);
      await eventually(() => expect(batches).to.deep.equal(['after the cut']), 10_000);
      // The old connection's consumer takes turns with the new one at the
      // queue (what it gets is never read): sent until one reaches the new.
      // One sender at a time, else the turns could give it every message of one.
      for (const [from, tags, tag] of [[peer, atCut, 'to the cut'], [cut, atPeer, 'from the cut']] as const) {
        await eventually(
          () => {
            from.presence.publish(messageOf(tag));
            expect(tags).to.include(tag);
          },
          10_000,
          200,
        );
      }
      const peerPorts = (await node.ctl('list_connections', '--quiet', '--no-table-headers', 'peer_port')).trim().split('\n').map(Number);
      expect(peerPorts, 'RabbitMQ still holds the old connection').to.include(old);
    } finally {
      await forwarder.close();
    }
  });
});
