/**
 * The upgrade while a token is being verified (in-process, with a verifier
 * that answers when the spec says): uWS's request is gone by then, so what
 * matters is what the upgrade does when the answer comes to a client that
 * left, or to a node that started draining meanwhile.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Identity, TokenVerifier, Verification } from '../../lib/auth/tokens';
import { stop, type Warren } from '../../lib/warren_app';
import { ChatClient } from '../support/client';
import { until } from '../support/eventually';
import { atExit } from '../support/hooks';
import { childOf, startWarren, testConfig } from '../support/in_process';
import { TEST_SECRET } from '../support/tokens';
import { upgradeRequest } from '../support/upgrade';

/** Verifies every token as `user`, but only when the spec calls `release()`. */
function heldVerifier(): TokenVerifier & { readonly pending: number; release(): void } {
  let waiting: Array<() => void> = [];
  const identity = (user: string): Identity => ({ user, name: user, rooms: undefined, exp: Math.floor(Date.now() / 1000) + 3600 });
  return {
    get pending() {
      return waiting.length;
    },
    verify: (token) => new Promise<Verification>((resolve) => waiting.push(() => resolve({ identity: identity(token) }))),
    release() {
      for (const answer of waiting.splice(0)) answer();
      waiting = [];
    },
  };
}

describe('the upgrade while a token is verified', function () {
  this.timeout(20_000);
  let warren: Warren;
  let port: number;
  let verifier: ReturnType<typeof heldVerifier>;
  beforeEach(async () => {
    const config = testConfig();
    verifier = heldVerifier();
    const auth = { ...config.auth, mode: 'required', hmacSecret: TEST_SECRET } as const;
    ({ warren, port } = await startWarren({ ...config, auth, limits: { ...config.limits, maxConnections: 2 } }, { verifier }));
  });
  afterEach(() => stop(warren));

  const wsUrl = () => `ws://127.0.0.1:${port}/websocket`;
  const stats = () => childOf(warren, 'listener').info;
  const offer = (user: string) => ({ protocols: ['warren.v2', `warren.bearer.${user}`] });

  it('answers nothing to a client that left meanwhile, counts it out, and serves the next', async () => {
    const leaving = net.connect(port, '127.0.0.1');
    atExit(async () => void leaving.destroy());
    leaving.on('error', () => undefined);
    const received: Buffer[] = [];
    leaving.on('data', (chunk: Buffer) => received.push(chunk));
    leaving.write(
      ['GET /websocket HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Protocol: warren.v2, warren.bearer.leaver', '', ''].join('\r\n'),
    );
    await until('the verification to start', () => verifier.pending, (pending) => pending === 1);
    expect(stats()).to.include({ upgrading: 1, open: 0 });
    leaving.destroy();
    // uWS handles sockets in the order their events come: once a later request is answered, it has seen the close.
    await fetch(`http://127.0.0.1:${port}/healthz`);
    verifier.release();
    await until('the upgrade to be counted out', () => stats(), (info) => info['upgrading'] === 0);
    expect(stats()).to.include({ open: 0 });
    expect(Buffer.concat(received).toString(), 'nothing was answered').to.equal('');

    const next = ChatClient.connect(wsUrl(), offer('next'));
    await until('the next verification', () => verifier.pending, (pending) => pending === 1);
    verifier.release();
    expect((await next).welcome).to.include({ user: 'next' });
  });

  it('refuses with 503 and Retry-After an upgrade whose node started draining meanwhile', async () => {
    const answer = upgradeRequest(wsUrl(), { 'Sec-WebSocket-Protocol': 'warren.v2, warren.bearer.late' });
    await until('the verification to start', () => verifier.pending, (pending) => pending === 1);
    warren.readiness.draining = true;
    verifier.release();
    const refused = await answer;
    expect(refused.status).to.equal(503);
    expect(refused.headers['retry-after']).to.match(/^\d+$/);
    expect(stats()).to.include({ upgrading: 0, open: 0 });
  });

  it('refuses with 503 and Retry-After an upgrade that comes while the node drains, before any token is read', async () => {
    warren.readiness.draining = true;
    const refused = await upgradeRequest(wsUrl(), { 'Sec-WebSocket-Protocol': 'warren.v2, warren.bearer.early' });
    expect(refused.status).to.equal(503);
    expect(refused.headers['retry-after']).to.equal('5');
    expect(refused.body).to.equal('server shutting down\n');
    expect(verifier.pending, 'no verification started').to.equal(0);
  });

  it('counts upgrades being verified toward limits.maxConnections', async () => {
    const first = ChatClient.connect(wsUrl(), offer('first'));
    const second = ChatClient.connect(wsUrl(), offer('second'));
    await until('both verifications', () => verifier.pending, (pending) => pending === 2);
    const third = await upgradeRequest(wsUrl(), { 'Sec-WebSocket-Protocol': 'warren.v2, warren.bearer.third' });
    expect(third.status).to.equal(503);
    expect(third.body).to.equal('node full\n');
    verifier.release();
    await Promise.all([first, second]);
    expect(stats()).to.include({ upgrading: 0, open: 2 });
  });
});

describe('the upgrade when the verifier itself fails', function () {
  this.timeout(20_000);
  let warren: Warren;
  let port: number;
  before(async () => {
    const config = testConfig();
    const failing: TokenVerifier = { verify: () => Promise.reject(new TypeError('a bug in the verifier')) };
    ({ warren, port } = await startWarren({ ...config, auth: { ...config.auth, mode: 'required', hmacSecret: TEST_SECRET } }, { verifier: failing }));
  });
  after(() => stop(warren));

  it('closes the socket with 4001 instead of leaving the upgrade hanging, and counts it out', async () => {
    const client = await ChatClient.open(`ws://127.0.0.1:${port}/websocket`, { protocols: ['warren.v2', 'warren.bearer.any'] });
    expect(await client.closed).to.deep.equal({ code: 4001, reason: 'token could not be verified' });
    expect(childOf(warren, 'listener').info).to.include({ upgrading: 0 });
  });
});
