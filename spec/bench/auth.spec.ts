// The bench's --auth: its options, the tokens it signs, what a server
// selects from a client's offer, that a results file never holds the secret,
// and tiny idle runs (against the daemon without auth, and against the bare
// uWS baseline with tokens) for what they report, never for how fast.
import { expect } from 'chai';
import { decodeJwt, jwtVerify } from 'jose';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { mintTokens, probeWithoutToken, randomSecret, refusedWithoutToken, TOKEN_TTL_SECONDS } from '../../bench/auth';
import { measureIdle } from '../../bench/measure';
import { DEFAULT_IDLE, parseOptions, UsageError } from '../../bench/options';
import { authLabel, idleSummary, writeResults } from '../../bench/report';
import { startBaseline, type Target } from '../../bench/servers';
import { offeredProtocols, SUBPROTOCOL } from '../../bench/subprotocol';
import { BEARER_PROTOCOL_PREFIX } from '../../lib/http/credentials';
import { useDaemon } from '../support/lifecycle';
import { expectRejection } from '../support/rejection';
import { daemonTarget, idleLoad } from './targets';

const SECRET = 'a-bench-secret-of-more-than-32-bytes';
// What `ws` (and RFC 6455 §4.1) accept as one subprotocol: an HTTP token.
const HTTP_TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`|a-z~]+$/;

describe('bench auth', () => {
  describe('options', () => {
    it('reads --auth, the secret from --auth-secret, else from AUTH_HMAC_SECRET', () => {
      expect(parseOptions(['--auth'])).to.include({ auth: true, authSecret: undefined });
      expect(parseOptions([]).auth).to.equal(false);
      expect(parseOptions(['--idle', '--auth'])).to.include({ idle: DEFAULT_IDLE, auth: true });
      expect(parseOptions(['--auth'], { AUTH_HMAC_SECRET: SECRET }).authSecret).to.equal(SECRET);
      expect(parseOptions(['--auth', '--auth-secret', `${SECRET}-2`], { AUTH_HMAC_SECRET: SECRET }).authSecret).to.equal(`${SECRET}-2`);
      expect(parseOptions(['--auth', '--url', 'ws://127.0.0.1:8081'], { AUTH_HMAC_SECRET: SECRET })).to.include({ url: 'ws://127.0.0.1:8081', authSecret: SECRET });
      // Without --auth the environment's secret is none of the bench's business.
      expect(parseOptions([], { AUTH_HMAC_SECRET: SECRET }).authSecret).to.equal(undefined);
    });

    it('refuses what it cannot run with auth, saying why', () => {
      const refused = (argv: string[], reason: RegExp) => expect(() => parseOptions(argv)).to.throw(UsageError, reason);
      refused(['--auth-secret', SECRET], /--auth-secret only goes with --auth/);
      refused(['--auth', '--url', 'ws://127.0.0.1:8081'], /--auth with --url needs the daemon's secret/);
      refused(['--auth', '--auth-secret', 'x'.repeat(31)], /at least 32 bytes, not 31/);
      refused(['--auth', '--reconnect-storm'], /not --reconnect-storm/);
      refused(['--auth', '--auth-secret'], /--auth-secret needs a value/);
      // Bytes, as the daemon counts them: 16 two-byte characters are enough.
      expect(parseOptions(['--auth', '--auth-secret', 'é'.repeat(16)]).authSecret).to.equal('é'.repeat(16));
    });
  });

  describe('tokens', () => {
    it('signs one HS256 token per client, each with its own sub and exp an hour ahead, that the secret verifies', async () => {
      const now = 1_764_100_000;
      const tokens = await mintTokens(SECRET, 3, now);
      const key = new TextEncoder().encode(SECRET);
      const verified = await Promise.all(tokens.map((token) => jwtVerify(token, key, { algorithms: ['HS256'], currentDate: new Date((now + 60) * 1000) })));
      expect(verified.map((v) => v.protectedHeader)).to.deep.equal([{ alg: 'HS256' }, { alg: 'HS256' }, { alg: 'HS256' }]);
      expect(verified.map((v) => v.payload)).to.deep.equal([0, 1, 2].map((i) => ({ sub: `bench-${i}`, iat: now, exp: now + TOKEN_TTL_SECONDS })));
      expect(TOKEN_TTL_SECONDS).to.equal(3600);
      await expectRejection(jwtVerify(tokens[0]!, new TextEncoder().encode(`${SECRET}!`), { currentDate: new Date(now * 1000) }), /signature verification failed/);
    });

    it('makes a new secret of at least 32 bytes every run', () => {
      const secrets = [randomSecret(), randomSecret()];
      expect(Buffer.byteLength(secrets[0]!)).to.be.at.least(32);
      expect(secrets[0]).to.not.equal(secrets[1]);
    });

    it('offers warren.v2 first, then the token, each a subprotocol ws will send', async () => {
      const [token] = await mintTokens(SECRET, 1);
      const offer = offeredProtocols(token!);
      expect(offer).to.deep.equal([SUBPROTOCOL, `${BEARER_PROTOCOL_PREFIX}${token}`]);
      expect(SUBPROTOCOL).to.equal('warren.v2');
      for (const protocol of offer) expect(protocol).to.match(HTTP_TOKEN);
    });
  });

  describe('report', () => {
    it('says auth on, off, or that the baseline verified no token', () => {
      expect(authLabel({ target: 'warren/local', auth: true })).to.equal('auth on');
      expect(authLabel({ target: 'warren/local', auth: false })).to.equal('auth off');
      expect(authLabel({ target: 'bare uWS', auth: true })).to.equal('tokens not verified');
      expect(authLabel({ target: 'bare uWS', auth: false })).to.equal('auth off');
      expect(authLabel({ target: 'warren/local', auth: true, authProbe: 'closed 4001 missing token' })).to.equal('auth on');
      expect(authLabel({ target: 'warren/local', auth: true, authProbe: 'welcomed' })).to.equal('auth NOT ENFORCED');
    });

    it('never writes the secret to a results file, and says auth was on', () => {
      const dir = mkdtempSync(join(tmpdir(), 'warren-bench-'));
      const options = parseOptions(['--auth', '--auth-secret', SECRET]);
      const [file] = writeResults(dir, 'idle', { options, summary: 'x' });
      const text = readFileSync(file!, 'utf8');
      expect(text).to.not.include(SECRET);
      expect(JSON.parse(text)).to.have.nested.property('options.auth', true);
      expect(JSON.parse(text).options).to.not.have.property('authSecret');
    });

    it('takes only a close with 4001 for a refusal', () => {
      expect(refusedWithoutToken('closed 4001 missing token')).to.equal(true);
      for (const outcome of ['welcomed', 'closed 4003 forbidden', 'closed 1006', 'no answer within 10 s']) expect(refusedWithoutToken(outcome), outcome).to.equal(false);
    });
  });

  describe('the load generator with tokens', () => {
    // A server that records what each client offers and selects warren.v2.
    const offers: Array<{ name: string | null; protocols: string[] }> = [];
    let server: WebSocketServer | undefined;
    before(async () => {
      server = new WebSocketServer({
        host: '127.0.0.1',
        port: 0,
        handleProtocols: (protocols, request) => {
          offers.push({ name: new URL(request.url!, 'ws://x').searchParams.get('name'), protocols: [...protocols] });
          return SUBPROTOCOL;
        },
      });
      server.on('connection', (ws) => ws.send('{"type":"welcome","protocol":2}'));
      await once(server, 'listening');
    });
    after(() => {
      for (const client of server?.clients ?? []) client.terminate();
      server?.close();
    });

    it('has every client offer warren.v2 and its own token, whose sub is its name', async function () {
      this.timeout(30_000);
      const tokens = await mintTokens(SECRET, 10);
      const url = `ws://127.0.0.1:${(server!.address() as AddressInfo).port}`;
      const target: Target = { name: 'recorder', url, processes: [], heapUsedBytes: async () => undefined, stop: async () => undefined };
      const result = await measureIdle(target, idleLoad(url, 10, tokens), 2);
      expect(result).to.include({ connections: 10, auth: true });
      expect(result).to.not.have.property('cpuUsPerAccept');
      expect(offers).to.have.length(10);
      for (const { name, protocols } of offers) {
        expect(protocols).to.have.length(2);
        expect(protocols[0]).to.equal(SUBPROTOCOL);
        expect(decodeJwt(protocols[1]!.slice(BEARER_PROTOCOL_PREFIX.length)).sub, protocols[1]).to.equal(name);
      }
      expect(new Set(offers.map((offer) => offer.protocols[1]))).to.have.property('size', 10);
    });
  });

  describe('an idle run against the daemon, auth off', () => {
    const daemon = useDaemon();

    it('reports the accept rate of its connections, at a stated concurrency, no auth, and what observing the idle node costs', async function () {
      this.timeout(60_000);
      expect(await probeWithoutToken(daemonTarget(daemon()).url)).to.equal('welcomed');
      const result = await measureIdle(daemonTarget(daemon()), idleLoad(daemonTarget(daemon()).url, 20), 2, { idleSeconds: 1, requests: 3 });
      expect(result).to.include({ target: 'warren/local', connections: 20, auth: false, connectsInFlight: 20 });
      expect(result.acceptSeconds).to.be.above(0).and.at.most(result.connectSeconds);
      expect(result.acceptsPerSecond).to.be.closeTo(20 / result.acceptSeconds, 1e-6);
      expect(result.cpuUsPerAccept).to.be.a('number').at.least(0);
      const { observer } = result;
      // The tree holds the 20 connections and their consumers.
      expect(observer).to.deep.include({ n: 50, idleSeconds: 1 });
      expect(observer!.actors).to.be.above(40);
      expect(observer!.idleCpuPercent).to.be.above(0);
      expect(observer!.observedCpuPercent).to.be.above(0);
      expect(Object.keys(observer!.top)).to.deep.equal(['mailbox', 'rate', 'restarts']);
      for (const cost of Object.values(observer!.top)) {
        expect(cost.requests).to.equal(3);
        expect(cost.cpuMs).to.be.above(0);
        expect(cost.wallMs.mean).to.be.above(0).and.at.most(cost.wallMs.max);
      }
      expect(idleSummary(result)).to.match(/^warren idle 20, auth off: -?[\d.]+ KiB\/conn, \d+ accepts\/s, \/debug\/top [\d.]+ ms CPU, idle [\d.]+% CPU \([\d.]+% observed\)$/);
    });
  });

  describe('an idle run against the daemon, auth required', () => {
    const secret = randomSecret();
    const daemon = useDaemon(undefined, { env: { AUTH_MODE: 'required', AUTH_HMAC_SECRET: secret } });

    it('has a client without a token refused with 4001, and every client offering its own token accepted', async function () {
      this.timeout(60_000);
      const target = daemonTarget(daemon());
      const authProbe = await probeWithoutToken(target.url);
      expect(refusedWithoutToken(authProbe), authProbe).to.equal(true);
      const result = { ...(await measureIdle(target, idleLoad(target.url, 20, await mintTokens(secret, 20)), 2)), authProbe };
      expect(result).to.include({ connections: 20, auth: true });
      expect(idleSummary(result)).to.match(/^warren idle 20, auth on: -?[\d.]+ KiB\/conn, \d+ accepts\/s$/);
    });

    it('fails the run, naming the close 4001, when the tokens are signed with another secret', async function () {
      this.timeout(60_000);
      const target = daemonTarget(daemon());
      await expectRejection(measureIdle(target, idleLoad(target.url, 5, await mintTokens(`${secret}-other`, 5)), 2), /closed by the server \(code 4001/);
    });
  });

  describe('an idle run against the bare uWS baseline, with tokens', () => {
    let baseline: Target | undefined;
    before(async function () {
      this.timeout(60_000);
      baseline = await startBaseline(mkdtempSync(join(tmpdir(), 'warren-bench-logs-')));
    });
    after(async () => {
      await baseline?.stop();
    });

    it('connects every client offering warren.v2 and its token, and says the tokens went unverified', async function () {
      this.timeout(60_000);
      const tokens = await mintTokens(SECRET, 20);
      const result = await measureIdle(baseline!, idleLoad(baseline!.url, 20, tokens), 2);
      expect(result).to.include({ target: 'bare uWS', connections: 20, auth: true });
      expect(result.acceptsPerSecond).to.be.above(0);
      expect(idleSummary(result)).to.match(/^warren idle 20, tokens not verified: /);
    });
  });
});
