/**
 * The public port's websocket endpoint, in-process: what happens to a socket
 * whose connection process cannot start, and uWS's idle timeout with the
 * pings it sends by itself.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import WebSocket from 'ws';
import { childRef } from '../../lib/otp/sys';
import { stop, type Warren } from '../../lib/warren_app';
import { ChatClient } from '../support/client';
import { until } from '../support/eventually';
import { atExit } from '../support/hooks';
import { childOf, startWarren, testConfig } from '../support/in_process';
import { RawWebSocket } from '../support/raw_websocket';

/** A client of `url` that keeps what the server closed its socket with. */
function rawClient(url: string, options: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, options);
  atExit(async () => ws.terminate());
  const closed = once(ws, 'close').then(([code]) => code as number);
  return { ws, closed, opened: once(ws, 'open') };
}

describe('public_app', function () {
  this.timeout(30_000);

  describe('when connection_sup cannot start a connection', () => {
    let warren: Warren;
    let port: number;
    beforeEach(async () => ({ warren, port } = await startWarren()));
    afterEach(() => stop(warren));

    // The upgrade request is written in the turn in which the crashed
    // connection_sup has left the tree: its restart (after the listener's
    // stop) takes several more turns, and uWS reads the request in the next.
    it('closes a socket opened while connection_sup restarts with 1011, and serves the next ones', async () => {
      const unlucky = await RawWebSocket.connect(port);
      warren.app.kill('/warren_sup/connection_sup');
      while (childRef(warren.app.root, 'connection_sup')) await new Promise((resolve) => setImmediate(resolve));
      unlucky.upgrade('/websocket?name=unlucky');
      await unlucky.ended;
      expect(unlucky.closeCode).to.equal(1011);

      await until('connection_sup to be back', () => childOf(warren, 'connection_sup').restarts, (restarts) => restarts === 1);
      const lucky = await ChatClient.connect(`ws://127.0.0.1:${port}/websocket?name=lucky`);
      lucky.send({ type: 'ping', id: 'after' });
      await lucky.next('pong', { id: 'after' });
    });
  });

  describe('idle timeout (the smallest uWS accepts: 8 s) with automatic pings', () => {
    const IDLE_TIMEOUT_SECONDS = 8;
    let warren: Warren;
    let port: number;
    before(async () => {
      const config = testConfig();
      ({ warren, port } = await startWarren({ ...config, limits: { ...config.limits, idleTimeoutSeconds: IDLE_TIMEOUT_SECONDS } }));
    });
    after(() => stop(warren));

    it('keeps a client that answers pings past the timeout, and closes one that does not after it', async () => {
      const url = (name: string) => `ws://127.0.0.1:${port}/websocket?name=${name}`;
      const answering = await ChatClient.connect(url('answering'));
      const silent = rawClient(url('silent'), { autoPong: false });
      await silent.opened;
      const opened = Date.now();
      // The client sends nothing at all, so only the timeout can close it: uWS cuts it without a close frame.
      expect(await silent.closed).to.equal(1006);
      expect(Date.now() - opened).to.be.at.least((IDLE_TIMEOUT_SECONDS - 4) * 1000, 'closed before the idle timeout (uWS counts in 4 s ticks)');
      const connections = () => childOf(warren, 'connection_sup').children.map((child) => child.info['name']);
      await until('only the answering connection to be left', connections, (left) => JSON.stringify(left) === '["answering"]');

      await until('the idle timeout to pass for the answering client', () => Date.now() - opened, (ms) => ms > (IDLE_TIMEOUT_SECONDS + 2) * 1000, 15_000);
      answering.send({ type: 'ping', id: 'still there' });
      await answering.next('pong', { id: 'still there' });
    });
  });
});
