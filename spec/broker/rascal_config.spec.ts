import { expect } from 'chai';
import { join } from 'node:path';
import type { BrokerConfig } from 'rascal';
import { loadConfig, type Config } from '../../lib/config';
import { buildRascalConfig, nodeQueueName, preflight, RASCAL_TOPOLOGY, type RascalTopology } from '../../lib/broker/rascal_config';

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

  it('takes the static topology from config/rascal.json: exchange, queue, binding, publication, subscription', () => {
    expect(vhost.exchanges).to.deep.equal({ chat: { type: 'fanout', options: { durable: true } } });
    expect(vhost.bindings).to.deep.equal({ 'chat -> node': { source: 'chat', destination: 'node', destinationType: 'queue' } });
    expect(vhost.queues.node).to.deep.include({ replyTo: true });
    expect(vhost.queues.node.options).to.deep.include({ durable: true, exclusive: false, autoDelete: false });
    expect(vhost.publications.chat).to.deep.include({ exchange: 'chat', confirm: true, options: { persistent: false } });
    expect(vhost.subscriptions.chat).to.deep.include({ queue: 'node' });
  });

  it('merges in the runtime values: queue limits, prefetch, confirm timeout', () => {
    expect(vhost.queues.node.options.arguments).to.deep.equal({
      'x-overflow': 'drop-head',
      'x-expires': config.broker.queue.expiresMs,
      'x-max-length': config.broker.queue.maxLength,
    });
    expect(vhost.subscriptions.chat.prefetch).to.equal(config.broker.prefetch);
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
    expect(vhost.publicationChannelPools).to.deep.equal({ confirmPool: { max: 1 } });
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

  it('names the queue node:<uuid> once Rascal configures it, a new uuid per broker', () => {
    const [first, second] = [nodeQueueName(preflight(built)), nodeQueueName(preflight(built))];
    expect(first).to.match(/^node:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(second).to.not.equal(first);
  });

  it("preflight reports a topology Rascal rejects with Rascal's message, without connecting", () => {
    const typo = structuredClone(RASCAL_TOPOLOGY) as unknown as { vhosts: Record<string, { exchanges: Record<string, unknown> }> };
    typo.vhosts['/']!.exchanges['chat'] = { tpye: 'fanout' };
    expect(() => preflight(buildRascalConfig(config, typo as unknown as RascalTopology))).to.throw(
      'Exchange: chat in vhost: / refers to an unsupported attribute: tpye',
    );
  });
});
