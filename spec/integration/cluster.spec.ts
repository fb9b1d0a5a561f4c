/**
 * Issue 14 item 1: warren on a three-node RabbitMQ cluster, under traffic,
 * when the node one daemon is attached to is killed. Two daemons attached
 * to different nodes, 20 clients of the client library chatting through
 * both; the node under daemon A gets SIGKILL (its whole process group), and
 * every say and delivery is accounted for by tools/traffic's Ledger.
 */
import amqp from 'amqplib';
import { expect } from 'chai';
import { maskedUrl } from '../../lib/broker/rascal_startup';
import { STREAM } from '../../lib/broker/rascal_config';
import { Chatter } from '../../tools/traffic/chatters';
import { describeVerdict, Ledger } from '../../tools/traffic/ledger';
import { actors, fetchTree } from '../support/admin';
import { Daemon } from '../support/daemon';
import { eventually, until } from '../support/eventually';
import { type RabbitCluster, startRabbitCluster } from '../support/rabbit_cluster';

// 10 clients per daemon, in two rooms that span both daemons: every say
// crosses from one daemon to the other through the stream.
const ROOMS = ['north', 'south'];
const PER_DAEMON = 10;
// A say every 300 ms: ~3 per second per client, well inside the rate limit
// (50 per second, config/default.json), ~65 per second in all.
const INTERVAL_MS = 300;
// Says acked before the kill, and after A is back on a node, so that the
// failover happens under traffic and traffic goes on after it.
const SAYS_BEFORE = 100;
const SAYS_AFTER = 100;

interface Queue {
  readonly name: string;
  readonly type: string;
  readonly members: string[];
  readonly online: string[];
  readonly leader: string;
  readonly consumers: number;
}

describe('a three-node RabbitMQ cluster under traffic', function () {
  this.timeout(120_000);
  let cluster: RabbitCluster;
  let a: Daemon;
  let b: Daemon;
  const node = (i: number) => cluster.nodes[i]!;

  before(async function () {
    this.timeout(180_000); // three nodes booting at once, then two joins, on a loaded machine
    cluster = await startRabbitCluster(3);
    // A lists node 1 first, B node 2: attached to different nodes. A
    // declares the stream (on a cluster of three by then) with node 1 as its
    // leader, so the kill below takes the leader too.
    const startingA = Daemon.start({ amqpUrl: cluster.urls(0).join(',') });
    // B starts once A has declared the stream, while A still starts.
    await eventually(() => hasQueue(node(0).url, STREAM), 60_000, 100);
    [a, b] = await Promise.all([startingA, Daemon.start({ amqpUrl: cluster.urls(1).join(',') })]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await cluster?.destroy();
  });

  const brokerInfo = async (daemon: Daemon) => actors((await fetchTree(daemon)).tree).find((actor) => actor.behaviour === 'broker')!.info;
  const stream = async (on = node(1)) => {
    const queues = JSON.parse(await on.ctl('list_queues', 'name', 'type', 'members', 'online', 'leader', 'consumers', '--formatter', 'json')) as Queue[];
    return queues.find((queue) => queue.name === STREAM)!;
  };

  it('has the stream replicated on all three nodes, joined with rabbitmqctl join_cluster', async () => {
    const names = cluster.nodes.map((each) => each.nodeName);
    const log = await stream(node(0));
    expect(log).to.deep.include({ type: 'stream', leader: node(0).nodeName });
    expect(log.members).to.have.members(names);
    expect(log.online).to.have.members(names);
  });

  it('SIGKILL of the node under daemon A: A moves to another node and resumes the stream; every acked say reaches every client once, in order; /readyz dips and recovers; the node rejoins', async () => {
    expect(await brokerInfo(a)).to.include({ state: 'connected', url: maskedUrl(node(0).url) });
    expect(await brokerInfo(b)).to.include({ state: 'connected', url: maskedUrl(node(1).url) });

    const ledger = new Ledger();
    const chatters = [a, b].flatMap((daemon, d) =>
      Array.from({ length: PER_DAEMON }, (_, i) => new Chatter({ name: `${'ab'[d]}${i}`, room: ROOMS[i % ROOMS.length]!, url: daemon.wsUrl(), ledger, intervalMs: INTERVAL_MS })),
    );
    try {
      await Promise.all(chatters.map((chatter) => chatter.connect()));
      chatters.forEach((chatter) => chatter.start());
      const acked = (count: number) => until('says acked', () => ledger.verdict().acked, (n) => n >= count, 30_000);
      await acked(SAYS_BEFORE);

      // Polled back to back from before the kill: the dip lasts as long as
      // A's reconnection to another node, a fraction of a second.
      const readiness: number[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling) readiness.push(await fetch(a.url('/readyz')).then((response) => response.status, () => 0));
      })();

      await until('a first answer', () => readiness.length, (n) => n > 0);
      const offsetBefore = (await brokerInfo(a))['offset'] as number;
      process.kill(-node(0).pid!, 'SIGKILL');
      const moved = await until('A on another node', () => brokerInfo(a), (info) => info['state'] === 'connected' && info['url'] !== maskedUrl(node(0).url), 30_000);
      expect([maskedUrl(node(1).url), maskedUrl(node(2).url)]).to.include(moved['url']);
      // The killed node, started again on its data while the clients chat
      // on, rejoins by itself and its replica of the stream comes back.
      await node(0).stop(); // what the kill left: the node's handle, its helper processes
      const restarted = node(0).start();
      restarted.catch(() => {}); // awaited below; should the spec fail first, the after hook stops it starting
      await acked(ledger.verdict().acked + SAYS_AFTER);
      await until('A reading the stream on', () => brokerInfo(a), (info) => (info['offset'] as number) > offsetBefore);
      polling = false;
      await poller;
      const dipped = readiness.indexOf(503);
      expect(dipped, `/readyz of A during the kill: ${summary(readiness)}`).to.be.above(0);
      expect(readiness.slice(0, dipped), 'ready until the kill').to.satisfy((before: number[]) => before.every((status) => status === 200));
      expect(readiness.at(-1), `/readyz of A after the move: ${summary(readiness)}`).to.equal(200);
      await restarted;
      await Promise.all([
        until('all three running', () => cluster.runningNodes(node(1)), (running) => running.length === 3, 30_000),
        until('the stream online on all three', () => stream(), (log) => log.online.length === 3, 30_000),
      ]);

      await Promise.all(chatters.map((chatter) => chatter.stop()));
      // The last says' messages may still be on their way to the others.
      const verdict = await eventually(() => {
        const latest = ledger.verdict();
        expect(latest.violations, describeVerdict(latest)).to.deep.equal([]);
        return latest;
      }, 10_000, 200);
      expect(verdict.gaps, describeVerdict(verdict)).to.equal(0);
      // Where it stopped: a replay from further back, or a second consumer,
      // would not show in the ledger (the relay drops repeats of a say
      // within its duplicate window), but A would have read more batches
      // than B.
      await eventually(async () => {
        const [readByA, readByB] = await Promise.all([a, b].map(async (daemon) => (await brokerInfo(daemon))['batchesDelivered']));
        if (readByA !== readByB) expect.fail(`A read ${readByA} batches, B ${readByB}; consumers of the stream: ${(await stream()).consumers}`);
      }, 10_000, 200);
      expect(verdict.acked).to.be.at.least(SAYS_BEFORE + SAYS_AFTER);
      expect(
        chatters.filter((chatter) => chatter.sockets.length !== 1).map((chatter) => chatter.name),
        'clients whose socket closed',
      ).to.deep.equal([]);
      const repeated = await Promise.all([a, b].map(async (daemon) => (await brokerInfo(daemon))['batchesRepeated']));
      console.log(`      ${describeVerdict(verdict).split('\n')[0]}; /readyz of A: ${summary(readiness)}; batches repeated (dropped) on A, B: ${repeated.join(', ')}`);
    } finally {
      chatters.forEach((chatter) => chatter.close());
    }
  });
});

/** Resolves if the queue exists (a passive declare), else rejects. */
async function hasQueue(url: string, queue: string): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {}); // a missing queue closes the channel, and rejects the check
    await channel.checkQueue(queue);
  } finally {
    await connection.close();
  }
}

/** Runs of equal statuses: `200×412 503×9 200×300`. */
function summary(statuses: number[]): string {
  const runs: string[] = [];
  let count = 0;
  statuses.forEach((status, i) => {
    count++;
    if (statuses[i + 1] !== status) {
      runs.push(`${status}×${count}`);
      count = 0;
    }
  });
  return runs.join(' ');
}
