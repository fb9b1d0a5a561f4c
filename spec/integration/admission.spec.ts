/**
 * PROTOCOL.md "Connecting": the refusals before the upgrade, in the order of
 * its table (426, 403, 503, 400), against the daemon as users run it. They
 * are answered before any process of the session exists, so the in-process
 * broker serves here as well as RabbitMQ would.
 */
import { expect } from 'chai';
import { ChatClient } from '../support/client';
import { useDaemon } from '../support/lifecycle';
import { scrapeMetrics } from '../support/metrics';
import { upgradeRequest } from '../support/upgrade';

const ALLOWED = 'https://chat.example.com,https://*.example.org,http://localhost:3000';

describe('refusals before the upgrade', function () {
  this.timeout(30_000);

  describe('the handshake (RFC 6455 §4.2) and the origin', () => {
    const daemon = useDaemon(undefined, { env: { ALLOWED_ORIGINS: ALLOWED } });
    const request = (headers: Record<string, string | undefined>, query = '') => upgradeRequest(daemon().wsUrl(query), headers);

    it('answers a Sec-WebSocket-Version other than 13 with 426 and Sec-WebSocket-Version: 13', async () => {
      for (const version of ['8', '12', '14', '', undefined]) {
        const answer = await request({ 'Sec-WebSocket-Version': version });
        expect(answer.status, String(version)).to.equal(426);
        expect(answer.headers['sec-websocket-version']).to.equal('13');
      }
    });

    it('answers a missing or malformed Sec-WebSocket-Key with 400', async () => {
      for (const key of [undefined, '', 'short==', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAA===', '!AAAAAAAAAAAAAAAAAAAAA==']) {
        const answer = await request({ 'Sec-WebSocket-Key': key });
        expect(answer.status, String(key)).to.equal(400);
        expect(answer.body).to.match(/^Sec-WebSocket-Key: [^\n]+\n$/);
      }
    });

    it('upgrades a request without Origin (not a browser), from the daemon\'s own origin, and from allowed ones', async () => {
      const own = `http://127.0.0.1:${daemon().port}`;
      for (const origin of [undefined, own, 'https://chat.example.com', 'https://CHAT.example.com:443', 'https://a.example.org', 'https://a.b.example.org', 'http://localhost:3000']) {
        expect((await request({ Origin: origin })).status, String(origin)).to.equal(101);
      }
    });

    it('refuses every other origin with 403: null, look-alikes, other schemes and ports', async () => {
      for (const origin of [
        'null', 'https://evil.net', 'https://chat.example.com.evil.net', 'https://example.org', 'https://evilexample.org',
        'http://chat.example.com', 'https://chat.example.com:8443', 'http://localhost:3001', 'not an origin',
      ]) {
        const answer = await request({ Origin: origin });
        expect(answer.status, origin).to.equal(403);
        expect(answer.body).to.equal('origin not allowed\n');
      }
    });

    it('refuses in the order of the table: the version before the origin before the query', async () => {
      expect((await request({ 'Sec-WebSocket-Version': '8', Origin: 'https://evil.net' }, 'room=-bad')).status).to.equal(426);
      expect((await request({ Origin: 'https://evil.net' }, 'room=-bad')).status).to.equal(403);
      expect((await request({}, 'room=-bad')).status).to.equal(400);
    });

    it('counts each refusal by its reason in /metrics', async () => {
      const metrics = await scrapeMetrics(daemon());
      for (const reason of ['version', 'key', 'origin', 'query']) {
        expect(metrics.get(`warren_connections_refused_total{reason="${reason}"}`), reason).to.be.above(0);
      }
    });
  });

  describe('limits.maxConnections', () => {
    const daemon = useDaemon(undefined, { env: { MAX_CONNECTIONS: '3' } });

    it('answers 503 with Retry-After past the cap, and upgrades again once a socket closed', async () => {
      const clients = await Promise.all([1, 2, 3].map(() => ChatClient.connect(daemon().wsUrl())));
      const refused = await upgradeRequest(daemon().wsUrl());
      expect(refused.status).to.equal(503);
      expect(Number(refused.headers['retry-after'])).to.be.within(1, 5);
      expect(refused.body).to.equal('node full\n');
      await clients[0]!.close();
      await ChatClient.connect(daemon().wsUrl());
      expect((await scrapeMetrics(daemon())).get('warren_connections_refused_total{reason="max_connections"}')).to.equal(1);
    });
  });

  describe('limits.connectRate', () => {
    const RATE = 2;
    const daemon = useDaemon(undefined, { env: { CONNECT_RATE: String(RATE) } });

    it('takes a burst of twice the rate, then answers 503 with Retry-After until the bucket refills', async () => {
      const answers = [];
      // Sequential, so that none of them can be refused for another's sake; 2 × RATE fit in the burst.
      for (let i = 0; i < 2 * RATE + 1; i++) answers.push(await upgradeRequest(daemon().wsUrl()));
      expect(answers.map((answer) => answer.status)).to.deep.equal([101, 101, 101, 101, 503]);
      const retryAfter = Number(answers[4]!.headers['retry-after']);
      expect(retryAfter).to.be.within(1, 2);
      expect(answers[4]!.body).to.equal('too many new connections\n');
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
      expect((await upgradeRequest(daemon().wsUrl())).status, 'after Retry-After').to.equal(101);
      expect((await scrapeMetrics(daemon())).get('warren_connections_refused_total{reason="connect_rate"}')).to.equal(1);
    });
  });
});
