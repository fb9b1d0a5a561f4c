/**
 * Fanout at a realistic size, and across daemons: every member of a room
 * gets every message, in the order each sender sent them.
 */
import { expect } from 'chai';
import { BROKERS } from '../support/brokers';
import { ChatClient } from '../support/client';
import { Daemon } from '../support/daemon';
import { useDaemon } from '../support/lifecycle';
import { type SharedRabbit, sharedRabbit } from '../support/rabbitmq';
import { expectPerSenderOrder } from '../support/sender_order';

const CLIENTS = 50;
const MESSAGES = 10;

for (const broker of BROKERS) {
  describe(`fanout, on the ${broker.name}`, function () {
    this.timeout(60_000);
    const daemon = useDaemon(broker);

    it(`delivers every message of ${CLIENTS} clients in one room to all of them, in per-sender order`, async () => {
      const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => ChatClient.connect(daemon().wsUrl(`name=c${i}&room=crowd`))));
      clients.forEach((client, i) => {
        for (let n = 0; n < MESSAGES; n++) client.send({ type: 'say', text: `c${i}:${n}`, id: `${n}` });
      });
      for (const client of clients) {
        const messages = await client.collect('message', CLIENTS * MESSAGES, 30_000);
        expect(messages).to.have.length(CLIENTS * MESSAGES);
        expectPerSenderOrder(messages);
      }
    });
  });
}

describe('two daemons on one RabbitMQ', function () {
  this.timeout(60_000);
  let first: Daemon;
  let second: Daemon;
  let rabbit: SharedRabbit;
  before(async function () {
    this.timeout(120_000);
    rabbit = await sharedRabbit();
    [first, second] = await Promise.all([Daemon.start({ amqpUrl: rabbit.url }), Daemon.start({ amqpUrl: rabbit.url })]);
  });
  after(() => Promise.all([first.stop(), second.stop()]));

  it('deliver each other\'s messages to the members of a room on either node', async () => {
    const onFirst = await ChatClient.connect(first.wsUrl('name=ann&room=bridge'));
    const onSecond = await ChatClient.connect(second.wsUrl('name=ben&room=bridge'));
    expect(onFirst.welcome['node']).not.to.equal(onSecond.welcome['node']);
    onFirst.send({ type: 'say', text: 'from the first node', id: 'a' });
    onSecond.send({ type: 'say', text: 'from the second node', id: 'b' });
    for (const client of [onFirst, onSecond]) {
      await client.next('message', { from: 'ann', text: 'from the first node' });
      await client.next('message', { from: 'ben', text: 'from the second node' });
    }
  });

  it('name their RabbitMQ connections after their node ids, as welcome gives them', async function () {
    // rabbitmqctl needs the private node's cookie: not there with an AMQP_URL of the user's.
    if (!rabbit.node) this.skip();
    const nodes = await Promise.all([first, second].map(async (daemon) => (await ChatClient.connect(daemon.wsUrl('name=namer'))).welcome['node']));
    const properties = await rabbit.node.ctl('list_connections', '--quiet', '--no-table-headers', 'client_properties');
    for (const node of nodes) expect(properties).to.include(`warren ${String(node)}`);
  });
});
