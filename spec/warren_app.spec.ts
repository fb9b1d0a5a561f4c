/**
 * The application in-process: draining as `prepStop` does it, observed at
 * the moment it happens (the shutdown integration spec sees its end).
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { LocalAdapter } from '../lib/broker/local_bus';
import { loadConfig } from '../lib/config';
import { prepStop, start, stop, type Warren } from '../lib/warren_app';
import { connectionOf } from './support/admin';
import { ChatClient } from './support/client';
import { until } from './support/eventually';

/**
 * Holds the in-process bus's confirms until `release()`, so that a `say` is
 * still waiting for its confirm when the drain begins, however fast the bus.
 */
function holdConfirms(): { release(): void; restore(): void } {
  const publish = LocalAdapter.prototype.publish;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  LocalAdapter.prototype.publish = async function (this: LocalAdapter, batch: Buffer) {
    await released;
    return publish.call(this, batch);
  };
  return { release, restore: () => (LocalAdapter.prototype.publish = publish) };
}

describe('warren_app', function () {
  this.timeout(20_000);
  let warren: Warren;
  let port: number;
  beforeEach(async () => {
    const config = loadConfig({ env: { NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', ADMIN_PORT: '0' }, argv: [], configDir: join(__dirname, '..', 'config') });
    warren = await start(config);
    const listener = warren.app.describe()!.children.find((child) => child.name === 'listener')!;
    port = listener.info['port'] as number;
  });
  afterEach(() => stop(warren));

  const connect = (name: string) => ChatClient.connect(`ws://127.0.0.1:${port}/websocket?name=${name}`);
  const connections = () => warren.app.describe()!.children.find((child) => child.name === 'connection_sup')!.children;

  it('answers /readyz 503 and refuses new websockets once prepStop has begun', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).to.equal(200);
    const draining = prepStop(warren, Date.now() + 5_000);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).to.equal(503);
    expect(await ready.json()).to.include({ status: 'unavailable', draining: true, broker: 'connected' });
    try {
      await connect('late');
      expect.fail('a websocket was accepted while draining');
    } catch (error) {
      expect(String(error)).to.include('503');
    }
    await draining;
  });

  it('drains: a connection serves on while its say waits for the confirm, acks it, then closes with 1001', async () => {
    const held = holdConfirms();
    try {
      const client = await connect('drained');
      client.send({ type: 'say', text: 'last words', id: 'w' });
      await until('the say to wait for its confirm', () => connectionOf(warren.app.describe()!, 'drained')?.info['awaitingConfirm'], (n) => n === 1);
      const draining = prepStop(warren, Date.now() + 5_000);
      client.send({ type: 'ping', id: 'still' });
      await client.next('pong', { id: 'still' });
      held.release();
      await draining;
      expect(connections(), 'prepStop resolved before the connection ended').to.be.empty;
      expect((await client.closed).code).to.equal(1001);
      expect(client.frames.filter((f) => f.type === 'ack').map((f) => f['id']), 'the ack came before the close').to.deep.equal(['w']);
    } finally {
      held.restore();
    }
  });
});
