import { expect } from 'chai';
import { join } from 'node:path';
import type { BrokerConfig } from 'rascal';
import { loadConfig, type Config } from '../../lib/config';
import { connectRabbitMQ } from '../../lib/broker/rascal_adapter';
import { buildRascalConfig, preflight, PRESENCE, RASCAL_TOPOLOGY, STREAM, type RascalTopology } from '../../lib/broker/rascal_config';

const CONFIG_DIR = join(__dirname, '..', '..', 'config');
const URLS = ['amqp://warren:secret@10.0.0.1:5672', 'amqp://warren:secret@10.0.0.2:5673/chat'];

function configWith(urls: string[] = URLS): Config {
  return loadConfig({ env: { NODE_ENV: 'test', AMQP_URL: urls.join(',') }, argv: [], configDir: CONFIG_DIR });
}

/** What Rascal's own configuration step makes of the built config, as Broker.create would. */
type Configured = {
  vhosts: Record<string, { connections: Array<Record<string, any>>; connectionStrategy: string; publicationChannelPools: Record<string, any> }>;
  publications: Record<string, Record<string, any>>;
  subscriptions: Record<string, Record<string, any>>;
};
const configured = (rascalConfig: BrokerConfig) => preflight(rascalConfig) as unknown as Configured;

describe('Rascal configuration (rascal_config)', () => {
  const config = configWith();
  const built = buildRascalConfig(config) as Record<string, any>;
  const vhost = built.vhosts['/'];

  it('takes the static topology from config/rascal.json: exchange, stream, binding, publication, subscription', () => {
    expect(vhost.exchanges).to.have.all.keys('chat', PRESENCE);
    expect(vhost.exchanges.chat).to.deep.equal({ type: 'fanout', options: { durable: true } });
    expect(vhost.bindings).to.have.all.keys('chat -> chat.log', 'presence -> presence');
    expect(vhost.bindings['chat -> chat.log']).to.deep.equal({ source: 'chat', destination: 'chat.log', destinationType: 'queue' });
    expect(vhost.queues).to.have.all.keys(STREAM, PRESENCE);
    expect(vhost.queues[STREAM]).to.deep.equal({
      options: {
        durable: true,
        exclusive: false,
        autoDelete: false,
        arguments: {
          'x-queue-type': 'stream',
          'x-max-age': '2h',
          'x-max-length-bytes': 1024 ** 3,
          'x-stream-max-segment-size-bytes': 4 * 1024 ** 2,
          'x-initial-cluster-size': 3,
        },
      },
    });
    expect(vhost.publications.chat).to.deep.include({ exchange: 'chat', confirm: true, options: { persistent: false } });
    expect(vhost.subscriptions.chat).to.deep.include({ queue: STREAM });
  });

  it('has the presence fanout beside it: not durable, a bounded queue per daemon, published without confirms, in order', () => {
    expect(vhost.exchanges.presence).to.deep.equal({ type: 'fanout', options: { durable: false } });
    expect(vhost.bindings['presence -> presence']).to.deep.equal({ source: 'presence', destination: 'presence', destinationType: 'queue' });
    expect(vhost.queues.presence).to.deep.equal({
      replyTo: true,
      options: {
        durable: false,
        exclusive: false,
        autoDelete: false,
        arguments: { 'x-expires': 60_000, 'x-max-length': 1000, 'x-max-length-bytes': 16 * 1024 ** 2, 'x-overflow': 'drop-head', 'x-message-ttl': 5000 },
      },
    });
    expect(vhost.publications.presence).to.deep.equal({ exchange: 'presence', confirm: false, options: { persistent: false, mandatory: false } });
    expect(vhost.subscriptions.presence).to.deep.include({ queue: PRESENCE, prefetch: 100 });
    expect(vhost.subscriptions.presence.retry, 'consumed again after a reconnect, with the same backoff').to.deep.equal(vhost.subscriptions.chat.retry);
    expect(vhost.publicationChannelPools.regularPool, 'one unconfirmed channel: messages leave in publish order').to.deep.equal({ max: 1 });
  });

  it("gives each daemon's presence queue a name of its own, kept across reconnects (Rascal's replyTo)", () => {
    const [one, two] = [configured(built), configured(built)].map(
      (each) => (each as unknown as { vhosts: Record<string, { queues: Record<string, { fullyQualifiedName: string }> }> }).vhosts['/']!.queues[PRESENCE]!.fullyQualifiedName,
    );
    expect(one).to.match(/^presence:[0-9a-f-]{36}$/);
    expect(two).to.match(/^presence:[0-9a-f-]{36}$/).and.not.equal(one);
    expect((configured(built) as unknown as Record<string, any>).subscriptions.presence.source, 'the subscription reads that name').to.match(/^presence:[0-9a-f-]{36}$/);
  });

  it('merges in the runtime values: prefetch (per consumer, as a stream needs), confirm timeout', () => {
    expect(vhost.subscriptions.chat.prefetch).to.equal(config.broker.prefetch);
    expect(vhost.subscriptions.chat).to.not.have.property('channelPrefetch');
    expect(vhost.publications.chat.timeout).to.equal(config.publishTimeoutMs);
  });

  it('lists one connection per URL, in order, with failover in that order', () => {
    expect(vhost.connections.map((connection: { url: string }) => connection.url)).to.deep.equal(URLS);
    expect(vhost.connectionStrategy).to.equal('fixed');
    const connections = configured(built).vhosts['/']!.connections;
    expect(connections.map((connection) => `${connection.hostname}:${connection.port}`)).to.deep.equal(['10.0.0.1:5672', '10.0.0.2:5673']);
  });

  it('trap: sets noDelay on every connection (Nagle + delayed ACK make each confirm wait ~40 ms)', () => {
    for (const connection of vhost.connections) expect(connection.socketOptions).to.deep.include({ noDelay: true });
    for (const connection of configured(built).vhosts['/']!.connections) {
      expect(connection.socketOptions, connection.loggableUrl).to.deep.include({ noDelay: true, timeout: 10_000 });
    }
  });

  it('trap: puts the retry in the vhost defaults, the one place Rascal reads it from', () => {
    const retry = { strategy: 'exponential', min: config.broker.reconnect.minMs, max: config.broker.reconnect.maxMs, factor: 2 };
    expect(built.defaults.vhosts.connection.retry).to.deep.equal(retry);
    for (const connection of configured(built).vhosts['/']!.connections) expect(connection.retry).to.deep.equal(retry);
    expect(vhost.subscriptions.chat.retry, 'resubscribing backs off the same way').to.deep.equal(retry);

    // Given with the connection instead, Rascal drops it for its own default.
    const perConnection = structuredClone(built);
    delete perConnection.defaults.vhosts.connection.retry;
    perConnection.vhosts['/'].connections = [{ url: URLS[0], retry }];
    expect(configured(perConnection).vhosts['/']!.connections[0]!.retry).to.deep.include({ min: 1000, max: 60_000 });
  });

  it('has one confirm channel', () => {
    expect(vhost.publicationChannelPools.confirmPool).to.deep.equal({ max: 1 });
    const pool = configured(built).vhosts['/']!.publicationChannelPools.confirmPool;
    expect(pool).to.deep.include({ max: 1, min: 1, acquireTimeoutMillis: 15_000 });
  });

  it("comes with Rascal's defaults (withDefaultConfig): heartbeat, timeouts", () => {
    expect(built.defaults.vhosts.connection.options).to.deep.include({ heartbeat: 10, connection_timeout: 10_000 });
  });

  it('is a pure function of Config: same input, same output, topology untouched', () => {
    const before = structuredClone(RASCAL_TOPOLOGY);
    expect(buildRascalConfig(configWith())).to.deep.equal(buildRascalConfig(configWith()));
    expect(RASCAL_TOPOLOGY).to.deep.equal(before);
  });

  describe('the stream arguments, checked at start', () => {
    /** config/rascal.json with the stream's arguments changed by `change`. */
    function withStreamArguments(change: (args: Record<string, unknown>) => void): RascalTopology {
      const topology = structuredClone(RASCAL_TOPOLOGY) as unknown as { vhosts: Record<string, { queues: Record<string, { options: { arguments: Record<string, unknown> } }> }> };
      change(topology.vhosts['/']!.queues[STREAM]!.options.arguments);
      return topology as unknown as RascalTopology;
    }
    const refusal = (change: (args: Record<string, unknown>) => void) => () => preflight(buildRascalConfig(config, withStreamArguments(change)));
    const at = `queues.${STREAM}.options.arguments`;

    it('accepts those of config/rascal.json', () => {
      expect(() => preflight(built)).to.not.throw();
    });

    it('refuses an age RabbitMQ cannot read, naming the argument', () => {
      expect(refusal((args) => (args['x-max-age'] = '2 hours'))).to.throw(`${at}.x-max-age: expected an age such as "2h" (a number and one of Y M D h m s)`);
      expect(refusal((args) => (args['x-max-age'] = 7200))).to.throw(`${at}.x-max-age: expected an age such as "2h"`);
    });

    it('refuses a size that is not a whole number of bytes, and segments too large for retention to work', () => {
      expect(refusal((args) => (args['x-max-length-bytes'] = 1.5e9 + 0.5))).to.throw(`${at}.x-max-length-bytes: expected a whole number of bytes`);
      expect(refusal((args) => (args['x-max-length-bytes'] = '1GB'))).to.throw(`${at}.x-max-length-bytes: expected a whole number of bytes`);
      expect(refusal((args) => (args['x-stream-max-segment-size-bytes'] = 500_000_000))).to.throw(
        `${at}.x-stream-max-segment-size-bytes: expected at most 67108864 (64 MiB)`,
      );
      expect(refusal((args) => (args['x-initial-cluster-size'] = 0))).to.throw(`${at}.x-initial-cluster-size: expected a whole number of replicas, at least 1`);
    });

    it('refuses a missing x-queue-type (a classic queue) and an argument streams do not know', () => {
      expect(refusal((args) => delete args['x-queue-type'])).to.throw(`${at}.x-queue-type: expected "stream"`);
      expect(refusal((args) => (args['x-max-length'] = 1000))).to.throw(`${at}: unknown argument x-max-length`);
    });

    it('is refused by connectRabbitMQ naming config/rascal.json, before connecting', async () => {
      const error = await connectRabbitMQ(configWith(['amqp://127.0.0.1:1']), withStreamArguments((args) => (args['x-max-age'] = '2 hours'))).catch(
        (rejection: Error) => rejection,
      );
      expect((error as Error).message).to.match(/^config\/rascal\.json: queues\.chat\.log\.options\.arguments\.x-max-age: expected an age/);
    });
  });

  describe('the presence queue, checked at start', () => {
    /** config/rascal.json with the presence queue changed by `change`. */
    function withPresenceQueue(change: (queue: { replyTo?: unknown; options: Record<string, unknown> & { arguments: Record<string, unknown> } }) => void) {
      const topology = structuredClone(RASCAL_TOPOLOGY) as unknown as { vhosts: Record<string, { queues: Record<string, any> }> };
      change(topology.vhosts['/']!.queues[PRESENCE]);
      return () => preflight(buildRascalConfig(config, topology as unknown as RascalTopology));
    }
    const at = `queues.${PRESENCE}.options`;

    it('accepts that of config/rascal.json', () => {
      expect(withPresenceQueue(() => {})).to.not.throw();
    });

    it('refuses a queue that would outlive its daemon, or be shared by all of them', () => {
      expect(withPresenceQueue((queue) => (queue.options['durable'] = true))).to.throw(`${at}.durable: expected false`);
      expect(withPresenceQueue((queue) => delete queue.options.arguments['x-expires'])).to.throw(`${at}.arguments.x-expires: expected a whole number of milliseconds`);
      expect(withPresenceQueue((queue) => (queue.options.arguments['x-expires'] = 600_000))).to.throw(`${at}.arguments.x-expires: expected at most 60000 ms`);
      expect(withPresenceQueue((queue) => delete queue.replyTo)).to.throw(`queues.${PRESENCE}.replyTo: expected true (a name of its own per daemon)`);
    });

    it('refuses an exclusive queue (it would block the reconnect after a loss RabbitMQ has not seen) and an auto-delete one', () => {
      expect(withPresenceQueue((queue) => (queue.options['exclusive'] = true))).to.throw(`${at}.exclusive: expected false (an exclusive queue blocks the reconnect`);
      expect(withPresenceQueue((queue) => delete queue.options['exclusive'])).to.throw(`${at}.exclusive: expected false`);
      expect(withPresenceQueue((queue) => (queue.options['autoDelete'] = true))).to.throw(`${at}.autoDelete: expected false`);
    });

    it('refuses a queue without its bounds, with stale messages kept, or an argument it does not know', () => {
      expect(withPresenceQueue((queue) => delete queue.options.arguments['x-max-length'])).to.throw(`${at}.arguments.x-max-length: expected a whole number of messages`);
      expect(withPresenceQueue((queue) => (queue.options.arguments['x-message-ttl'] = 60_000))).to.throw(`${at}.arguments.x-message-ttl: expected at most 10000 ms`);
      expect(withPresenceQueue((queue) => (queue.options.arguments['x-overflow'] = 'reject-publish'))).to.throw(`${at}.arguments.x-overflow: expected "drop-head"`);
      expect(withPresenceQueue((queue) => (queue.options.arguments['x-max-lenght'] = 10))).to.throw(`${at}.arguments: unknown argument x-max-lenght`);
    });
  });

  it("preflight reports a topology Rascal rejects with Rascal's message, without connecting", () => {
    const typo = structuredClone(RASCAL_TOPOLOGY) as unknown as { vhosts: Record<string, { exchanges: Record<string, unknown> }> };
    typo.vhosts['/']!.exchanges['chat'] = { tpye: 'fanout' };
    expect(() => preflight(buildRascalConfig(config, typo as unknown as RascalTopology))).to.throw(
      'Exchange: chat in vhost: / refers to an unsupported attribute: tpye',
    );
  });
});
