/**
 * The application in-process: draining as `prepStop` does it, observed at
 * the moment it happens (the shutdown integration spec sees its end).
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { loadConfig } from '../lib/config';
import { prepStop, start, stop, type Warren } from '../lib/warren_app';
import { ChatClient } from './support/client';

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

  it('answers /readyz 503 and refuses new websockets while draining, serving the open ones', async () => {
    const open = await ChatClient.connect(`ws://127.0.0.1:${port}/websocket?name=early`);
    warren.readiness.draining = true;
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).to.equal(503);
    expect(await ready.json()).to.include({ status: 'unavailable', draining: true, broker: 'connected' });
    try {
      await ChatClient.connect(`ws://127.0.0.1:${port}/websocket?name=late`);
      expect.fail('a websocket was accepted while draining');
    } catch (error) {
      expect(String(error)).to.include('503');
    }
    open.send({ type: 'ping', id: 'still' });
    await open.next('pong', { id: 'still' });
  });

  it('drains: each connection answers its says, then closes with 1001', async () => {
    const client = await ChatClient.connect(`ws://127.0.0.1:${port}/websocket?name=drained`);
    client.send({ type: 'say', text: 'last words', id: 'w' });
    await client.next('ack', { id: 'w' });
    await prepStop(warren, Date.now() + 5_000);
    expect((await client.closed).code).to.equal(1001);
    expect(warren.app.describe()!.children.find((child) => child.name === 'connection_sup')!.children).to.be.empty;
  });
});
