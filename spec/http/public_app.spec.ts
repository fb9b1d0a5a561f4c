/**
 * The public port's websocket endpoint, in-process: what happens to a socket
 * whose connection process cannot start, and uWS's idle timeout with the
 * pings it sends by itself.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import WebSocket from 'ws';
import { listen, type Bound } from '../../lib/http/listen_sockets';
import { publicApp } from '../../lib/http/public_app';
import { loadStaticFiles } from '../../lib/http/static_files';
import { Process } from '../../lib/otp/process';
import { startLink as startSupervisor } from '../../lib/otp/supervisor';
import { Readiness } from '../../lib/readiness';
import { uWS } from '../../lib/uws';
import { stop, type Warren } from '../../lib/warren_app';
import { type ConnectionSupRef, connectionSup } from '../../supervisors/connection_sup';
import { ChatClient } from '../support/client';
import { until } from '../support/eventually';
import { atExit } from '../support/hooks';
import { childOf, startWarren, testConfig } from '../support/in_process';
import { useSystem } from '../support/system';

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
    const system = useSystem();
    let bound: Bound;
    beforeEach(async () => {
      const config = testConfig();
      // connection_sup as it is while it restarts: its ref leads to no running supervisor.
      const sup = (await startSupervisor(system.link('connection_sup'), connectionSup, {
        nodeId: 'test',
        relay: system.ref as never,
        broker: system.ref as never,
        limits: config.limits,
      })) as ConnectionSupRef;
      await Process.of(sup)!.shutdown('shutdown');
      const app = publicApp({ config, readiness: new Readiness(), nodeId: 'test', connectionSup: sup, files: loadStaticFiles(), stats: { accepted: 0, refused: 0 } });
      bound = await listen(app, '127.0.0.1', 0, 'PORT');
    });
    afterEach(() => uWS.us_listen_socket_close(bound.socket));

    it('closes the socket with 1011 and goes on serving', async () => {
      const url = `ws://127.0.0.1:${bound.port}/websocket?name=unlucky`;
      expect(await rawClient(url).closed).to.equal(1011);
      expect(await rawClient(url).closed, 'the next socket').to.equal(1011);
      expect((await fetch(`http://127.0.0.1:${bound.port}/healthz`)).status).to.equal(200);
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
