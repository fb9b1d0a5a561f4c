/**
 * PROTOCOL.md "Authentication and access", against the daemon as users run
 * it (a child process on RabbitMQ, real sockets, tokens signed with jose):
 * where a token travels, what its claims decide, and a token's life on a
 * live socket (token_expiring, refresh, the close at exp).
 */
import { expect } from 'chai';
import { BROKERS } from '../support/brokers';
import { actors, connectionOf, fetchTree } from '../support/admin';
import { ChatClient } from '../support/client';
import { until } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';
import { scrapeMetrics } from '../support/metrics';
import { AUTH_ENV, bearerProtocols, signedTokens, signToken } from '../support/tokens';
import { upgradeRequest } from '../support/upgrade';

const RABBITMQ = BROKERS[1];
// The least leeway, so that a token's close at exp + leeway comes soon.
const CLOCK_TOLERANCE_SECONDS = 1;

describe('authentication, on RabbitMQ', function () {
  this.timeout(30_000);
  // The most verbose level: the leak check at the end reads every line the daemon can write.
  const daemon = useDaemon(RABBITMQ, { env: { ...AUTH_ENV, AUTH_CLOCK_TOLERANCE_SECONDS: String(CLOCK_TOLERANCE_SECONDS), LOG_LEVEL: 'trace' } });
  const url = (query = '') => daemon().wsUrl(query);
  const connectAs = async (claims: Parameters<typeof signToken>[0] = {}, query = 'room=lobby') =>
    ChatClient.connect(url(query), { protocols: bearerProtocols(await signToken(claims)) });
  /** A socket the server accepts and then closes: the close it gets. */
  const closeOf = async (options: Parameters<typeof ChatClient.open>[1], query = '') => (await ChatClient.open(url(query), options)).closed;

  describe('where the token travels', () => {
    it('as the subprotocol warren.bearer.<JWT>: the server selects warren.v2 and never echoes the token', async () => {
      const token = await signToken({ sub: 'alice', name: 'Alice' });
      // uWS writes the first protocol of what it is given: the token offered first must not be that one.
      for (const offer of [bearerProtocols(token), [...bearerProtocols(token)].reverse()]) {
        const answer = await upgradeRequest(url(), { 'Sec-WebSocket-Protocol': offer.join(', ') });
        expect(answer.status).to.equal(101);
        expect(answer.headers['sec-websocket-protocol'], offer[0]).to.equal('warren.v2');
        expect(JSON.stringify(answer.headers)).to.not.include(token.split('.')[2]!);
      }
      const client = await ChatClient.connect(url(), { protocols: bearerProtocols(token) });
      expect(client.ws.protocol).to.equal('warren.v2');
      expect(client.welcome).to.include({ user: 'alice', name: 'Alice' });
    });

    it('as the subprotocol alone: no protocol is selected (browsers accept that; offer warren.v2 beside it)', async () => {
      const token = await signToken({ sub: 'solo' });
      const answer = await upgradeRequest(url(), { 'Sec-WebSocket-Protocol': `warren.bearer.${token}` });
      expect(answer.status).to.equal(101);
      expect(answer.headers).to.not.have.property('sec-websocket-protocol');
    });

    it('as Authorization: Bearer, for clients that can set headers', async () => {
      const client = await ChatClient.connect(url(), { headers: { Authorization: `Bearer ${await signToken({ sub: 'bob' })}` } });
      expect(client.welcome).to.include({ user: 'bob', name: 'bob' });
    });

    it('not as ?token=, unless auth.allowQueryToken is on: closed with 4001 saying why', async () => {
      const token = await signToken({ sub: 'carol' });
      expect(await closeOf({}, `token=${token}`)).to.deep.equal({ code: 4001, reason: 'token in the URL not accepted: send it as a subprotocol' });
    });
  });

  describe('a socket without a valid token is upgraded, then closed at once with 4001 and the reason', () => {
    for (const [what, protocols, reason] of [
      ['no token', ['warren.v2'], 'token missing'],
      ['an empty bearer protocol', ['warren.v2', 'warren.bearer.'], 'token missing'],
      ['a token that is not a JWT', bearerProtocols('not-a-token'), /^token malformed/],
      // uWS takes a header of this size (measured up to 9,000 bytes): the daemon's own limit answers.
      ['a token over 8 KiB', bearerProtocols(`${'a'.repeat(8190)}.b.c`), 'token too large'],
    ] as const) {
      it(what, async () => {
        const closed = await closeOf({ protocols });
        expect(closed.code).to.equal(4001);
        expect(closed.reason).to.match(typeof reason === 'string' ? new RegExp(`^${reason}$`) : reason);
      });
    }

    it('an expired token', async () => {
      expect(await closeOf({ protocols: bearerProtocols(await signToken({ expiresIn: -60 })) })).to.deep.equal({ code: 4001, reason: 'token expired' });
    });

    it('a token signed with another secret', async () => {
      const forged = await signToken({ sub: 'mallory' }, 'another-secret-0123456789abcdef-0123');
      expect(await closeOf({ protocols: bearerProtocols(forged) })).to.deep.equal({ code: 4001, reason: 'token signature invalid' });
    });
  });

  describe('claims', () => {
    it('sub is the user in welcome, in every message and in /debug/tree; name is the display name, the URL\'s ignored', async () => {
      const alice = await connectAs({ sub: 'user-42', name: 'Alice Liddell' }, `room=lobby&name=${'x'.repeat(40)}`);
      expect(alice.welcome).to.include({ user: 'user-42', name: 'Alice Liddell' });
      alice.send({ type: 'say', text: 'hello', id: 's1' });
      const message = await alice.next('message', { text: 'hello' });
      expect(message).to.include({ user: 'user-42', from: 'Alice Liddell' });
      const info = connectionOf((await fetchTree(daemon())).tree, 'Alice Liddell')!.info;
      expect(info).to.include({ user: 'user-42', name: 'Alice Liddell' });
      expect(info['tokenExpires']).to.match(/^\d{4}-\d\d-\d\dT/);
    });

    it('rooms grants the connect room: one it does not grant is closed with 4003', async () => {
      const token = await signToken({ sub: 'dora', rooms: ['team-*', 'lobby'] });
      expect(await closeOf({ protocols: bearerProtocols(token) }, 'room=secret')).to.deep.equal({ code: 4003, reason: 'the token does not grant the connect room' });
      const dora = await ChatClient.connect(url('room=team-red'), { protocols: bearerProtocols(token) });
      expect(dora.welcome['rooms']).to.deep.equal(['team-red']);
    });

    it('rooms limits join and say: forbidden, with the frame id, and the connection carries on', async () => {
      const erin = await connectAs({ sub: 'erin', rooms: ['lobby', 'team-*'] });
      erin.send({ type: 'join', room: 'staff', id: 'j1' });
      expect(await erin.next('error', { id: 'j1' })).to.include({ code: 'forbidden' });
      erin.send({ type: 'say', room: 'staff', text: 'let me in', id: 's1' });
      expect(await erin.next('error', { id: 's1' })).to.include({ code: 'forbidden' });
      erin.send({ type: 'join', room: 'team-blue', id: 'j2' });
      await erin.next('joined', { id: 'j2', room: 'team-blue' });
      // `*` is a prefix, not a pattern of its own: "team" without the dash is another room.
      erin.send({ type: 'join', room: 'team', id: 'j3' });
      expect(await erin.next('error', { id: 'j3' })).to.include({ code: 'forbidden' });
    });

    it('two connections of one user share its resend scope: a say resent by the other is delivered once', async () => {
      const first = await connectAs({ sub: 'frank' });
      const second = await connectAs({ sub: 'frank' });
      first.send({ type: 'say', text: 'once', id: 'same' });
      const acked = await first.next('ack', { id: 'same' });
      // Once read back from the log, the original is what a resend is answered with.
      await second.next('message', { text: 'once' });
      second.send({ type: 'say', text: 'once', id: 'same' });
      expect(await second.next('ack', { id: 'same' })).to.include({ msgId: acked['msgId'] });
      second.send({ type: 'ping', id: 'after' });
      await second.next('pong', { id: 'after' });
      expect(second.frames.filter((frame) => frame.type === 'message' && frame['text'] === 'once')).to.have.length(1);
    });
  });

  describe('a token on a live socket', () => {
    it('token_expiring comes refreshSeconds before exp (here at once), then the close with 4001 at exp and its leeway', async () => {
      const client = await connectAs({ sub: 'gina', expiresIn: 3 });
      const warning = await client.next('token_expiring');
      expect(warning['exp']).to.be.a('number').within(Date.now() / 1000, Date.now() / 1000 + 4);
      expect(await client.closed).to.deep.equal({ code: 4001, reason: 'token expired' });
      expect(Date.now() / 1000, 'closed before exp and its leeway').to.be.at.least((warning['exp'] as number) + CLOCK_TOLERANCE_SECONDS - 0.05);
    });

    it('refresh with a valid token for the same user answers refreshed and keeps the socket past the old exp', async () => {
      const oldCloseAt = Date.now() + (2 + CLOCK_TOLERANCE_SECONDS) * 1000;
      const client = await connectAs({ sub: 'hank', expiresIn: 2 });
      client.send({ type: 'refresh', token: await signToken({ sub: 'hank', expiresIn: 3600 }), id: 'r1' });
      const refreshed = await client.next('refreshed', { id: 'r1' });
      expect(refreshed['exp']).to.be.above(Date.now() / 1000 + 3000);
      await until('the old token\'s close to be past', () => Date.now(), (now) => now > oldCloseAt + 1000);
      client.send({ type: 'ping', id: 'alive' });
      await client.next('pong', { id: 'alive' });
    });

    it('a refresh that drops rooms leaves them, each announced with left, and its rooms apply from then on', async () => {
      const client = await connectAs({ sub: 'ivy', rooms: ['lobby', 'team-*'] });
      for (const room of ['team-a', 'team-b']) {
        client.send({ type: 'join', room, id: room });
        await client.next('joined', { id: room });
      }
      client.send({ type: 'refresh', token: await signToken({ sub: 'ivy', rooms: ['lobby', 'team-b', 'ops'] }), id: 'r' });
      await client.next('refreshed', { id: 'r' });
      const left = client.frames.filter((frame) => frame.type === 'left');
      expect(left).to.deep.equal([{ type: 'left', room: 'team-a' }]);
      client.send({ type: 'join', room: 'ops', id: 'ops' });
      await client.next('joined', { id: 'ops' });
      client.send({ type: 'join', room: 'team-a', id: 'back' });
      expect(await client.next('error', { id: 'back' })).to.include({ code: 'forbidden' });
    });

    it('a refresh with an invalid or expired token is unauthorized, and the old token still counts', async () => {
      const client = await connectAs({ sub: 'jack' });
      client.send({ type: 'refresh', token: await signToken({ sub: 'jack', expiresIn: -60 }), id: 'old' });
      expect(await client.next('error', { id: 'old' })).to.include({ code: 'unauthorized', message: 'token expired: the old token still counts' });
      client.send({ type: 'refresh', token: 'garbage', id: 'bad' });
      expect(await client.next('error', { id: 'bad' })).to.include({ code: 'unauthorized' });
      client.send({ type: 'say', text: 'still here', id: 's' });
      await client.next('ack', { id: 's' });
    });

    it('a refresh naming another user closes the socket with 4003', async () => {
      const client = await connectAs({ sub: 'kate' });
      client.send({ type: 'refresh', token: await signToken({ sub: 'leo' }) });
      expect(await client.closed).to.deep.equal({ code: 4003, reason: 'the refresh named another user' });
    });

    it('a refresh racing the client\'s close leaves nothing behind', async () => {
      const clients = await Promise.all(Array.from({ length: 10 }, (_, i) => connectAs({ sub: `racer-${i}`, name: `racer-${i}` })));
      const fresh = await Promise.all(clients.map((_, i) => signToken({ sub: `racer-${i}` })));
      clients.forEach((client, i) => {
        client.send({ type: 'refresh', token: fresh[i]!, id: 'r' });
        client.terminate();
      });
      await until(
        'the racers\' connections to be gone',
        async () => actors((await fetchTree(daemon())).tree).filter((actor) => String(actor.info['name']).startsWith('racer-')),
        (left) => left.length === 0,
      );
      const crashes = daemon().logs.filter((line) => line.level >= 50);
      expect(crashes, JSON.stringify(crashes)).to.deep.equal([]);
    });
  });

  // The last block (mocha runs a block's own specs before its inner blocks):
  // it reads what all the specs above made the daemon write.
  describe('after all that', () => {
  it('never shows a token, the secret or a client key: not in its log, /debug/tree, /metrics or an error', async () => {
    const clientKey = 'spec-client-key-0123456789';
    const keyed = await ChatClient.connect(url(`client=${clientKey}`), { protocols: bearerProtocols(await signToken({ sub: 'keyed' })) });
    keyed.send({ type: 'say', text: 'keyed', id: 'k1' });
    await keyed.next('ack', { id: 'k1' });
    keyed.send({ type: 'refresh', token: `${signedTokens[0]!}x`, id: 'bad' });
    await keyed.next('error', { id: 'bad' });
    const shown = [
      ...daemon().logs.map((line) => JSON.stringify(line)),
      ...daemon().stderr,
      JSON.stringify(await fetchTree(daemon())),
      await (await fetch(daemon().adminUrl('/metrics'))).text(),
      JSON.stringify(keyed.frames),
    ].join('\n');
    expect(daemon().logs.filter((line) => line['user'] === 'keyed'), 'the keyed connection\'s own lines').to.not.be.empty;
    // A token's signature part is what makes it a credential; its payload is the user's own claims.
    for (const token of signedTokens) expect(shown).to.not.include(token.split('.')[2]!);
    expect(shown).to.not.include(AUTH_ENV.AUTH_HMAC_SECRET);
    expect(shown).to.not.include(clientKey);
  });

  it('counted every socket closed at once, by why: a bad token (4001) or a room not granted (4003)', async () => {
    const metrics = await scrapeMetrics(daemon());
    expect(metrics.get('warren_connections_refused_total{reason="token"}')).to.be.at.least(7);
    expect(metrics.get('warren_connections_refused_total{reason="room"}')).to.equal(1);
    expect(metrics.get('warren_closes_total{code="4001"}')).to.be.at.least(8);
    expect(metrics.get('warren_closes_total{code="4003"}')).to.equal(2);
  });
  });
});
