/**
 * RabbitMQ going away under a running daemon, for real: its node process is
 * stopped and started again. `say`s fail with `unavailable` (never silence),
 * readiness turns 503, and when the node is back everything resumes without
 * restarting the daemon or reconnecting the clients.
 */
import { expect } from 'chai';
import { maskedUrl } from '../../lib/broker/rascal_startup';
import { actors, fetchTree } from '../support/admin';
import { ChatClient } from '../support/client';
import { Daemon } from '../support/daemon';
import { eventually, until } from '../support/eventually';
import { startRabbitNode } from '../support/rabbitmq';
import type { RabbitNode } from '../support/rabbitmq_node';

// Nodes of this file's own, started together once (a start is 5-15 s): the
// outage leaves the first running again, and the failover, last, starts its
// daemon on it afresh, then removes both.
let nodes: Promise<[RabbitNode, RabbitNode]> | undefined;
const ownNodes = () => (nodes ??= Promise.all([startRabbitNode(), startRabbitNode()]));

describe('a RabbitMQ outage under a running daemon', function () {
  this.timeout(120_000);
  let node: RabbitNode;
  let daemon: Daemon;
  before(async () => {
    [node] = await ownNodes();
    daemon = await Daemon.start({ amqpUrl: node.url });
  });
  after(async () => {
    await daemon.stop();
    if (node.pid === undefined) await node.start(); // left stopped by a failure: the failover starts on it
  });

  const readiness = async () => (await fetch(daemon.url('/readyz'))).status;

  it('answers unavailable and turns unready while RabbitMQ is down, and resumes when it is back', async () => {
    const alice = await ChatClient.connect(daemon.wsUrl('name=alice&room=outage'));
    const bob = await ChatClient.connect(daemon.wsUrl('name=bob&room=outage'));
    alice.send({ type: 'say', text: 'before', id: 'b' });
    await bob.next('message', { text: 'before' });

    await node.stop();
    await eventually(async () => expect(await readiness()).to.equal(503), 10_000, 100);
    alice.send({ type: 'say', text: 'during', id: 'd' });
    await alice.next('error', { code: 'unavailable', id: 'd' }, 10_000);
    expect(alice.frames.some((f) => f.type === 'ack' && f['id'] === 'd'), 'never both acked and unavailable').to.equal(false);
    await daemon.waitForLog((line) => /broker (disconnected|reconnecting)/.test(line.msg));

    await node.start();
    await eventually(async () => expect(await readiness()).to.equal(200), 30_000, 200);
    alice.send({ type: 'say', text: 'after', id: 'a' });
    await alice.next('ack', { id: 'a' }, 10_000);
    await bob.next('message', { text: 'after' }, 10_000);
    expect(bob.frames.some((f) => f.type === 'message' && f['text'] === 'during')).to.equal(false);
    expect(alice.ws.readyState).to.equal(alice.ws.OPEN);
  });
});

describe('failover between RabbitMQ nodes (AMQP_URL with two URLs)', function () {
  this.timeout(120_000);
  let first: RabbitNode;
  let second: RabbitNode;
  let daemon: Daemon;
  before(async () => {
    [first, second] = await ownNodes();
    daemon = await Daemon.start({ amqpUrl: `${first.url},${second.url}` });
  });
  after(async () => {
    await daemon.stop();
    await Promise.all([first.destroy(), second.destroy()]);
  });

  // The broker actor's info names the node it is connected to (password masked).
  const brokerInfo = async () => actors((await fetchTree(daemon)).tree).find((actor) => actor.behaviour === 'broker')!.info;

  it('moves to the second node when the first stops, and delivery carries on', async () => {
    expect(await brokerInfo()).to.include({ state: 'connected', url: maskedUrl(first.url) });
    const client = await ChatClient.connect(daemon.wsUrl('name=carol&room=failover'));
    client.send({ type: 'say', text: 'on the first', id: '1' });
    await client.next('message', { text: 'on the first' });
    await first.stop();
    await until('the broker on the second node', brokerInfo, (info) => info['state'] === 'connected' && info['url'] === maskedUrl(second.url), 30_000);
    await eventually(async () => {
      client.send({ type: 'say', text: 'on the second', id: `2-${client.frames.length}` });
      await client.next('message', { text: 'on the second' }, 1_000);
    }, 30_000, 500);
  });
});
