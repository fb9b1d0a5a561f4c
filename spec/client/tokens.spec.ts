/**
 * The client library and a daemon that requires tokens (PROTOCOL.md
 * "Authentication and access"): `getToken` is asked again on
 * `token_expiring` and the socket lives on past the first token's exp; a
 * close 4001 gets a new token and reconnects, unless it comes twice in a
 * row or there is no `getToken`; a 4003 stops at once. Whatever stops the
 * client fails the `say`s still pending.
 */
import { expect } from 'chai';
import { WarrenError } from 'warren/client';
import { until } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';
import { AUTH_ENV, signToken } from '../support/tokens';
import { RecordedClient } from '../support/warren_client';

const REFRESH_SECONDS = 2;
const CLOCK_TOLERANCE_SECONDS = 1;

const expOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;

describe('the client library and tokens, on the in-process bus', function () {
  this.timeout(30_000);
  const daemon = useDaemon(undefined, {
    env: { ...AUTH_ENV, AUTH_REFRESH_SECONDS: String(REFRESH_SECONDS), AUTH_CLOCK_TOLERANCE_SECONDS: String(CLOCK_TOLERANCE_SECONDS) },
  });
  const client = (options: Omit<ConstructorParameters<typeof RecordedClient>[0], 'url'>) => new RecordedClient({ url: daemon().wsUrl(), ...options });

  /** A client that says in its room before it connects: the say is pending until it is welcomed. */
  const sayingClient = (options: Parameters<typeof client>[0]) => {
    const recorded = client(options);
    const said = recorded.client.say(options.room ?? 'lobby', 'pending').catch((error: unknown) => error);
    recorded.client.connect();
    return { recorded, said };
  };

  it(`on token_expiring (${REFRESH_SECONDS} s before exp) asks getToken again and refreshes: the socket stays open past the first token's exp`, async () => {
    const recorded = client({ name: 'tess', tokens: () => signToken({ sub: 'tess', expiresIn: REFRESH_SECONDS + 1 }) });
    recorded.client.connect();
    await recorded.reached('open');
    const closesAt = (expOf(recorded.tokensGiven[0]!) + CLOCK_TOLERANCE_SECONDS) * 1000;
    await until('the first token\'s close to be past', () => Date.now(), (now) => now > closesAt + 500);
    expect(await recorded.client.ping()).to.be.a('number');
    expect(recorded.tokensGiven.length, 'tokens asked for').to.be.at.least(2);
    expect(recorded.states.map((change) => change.state)).to.deep.equal(['connecting', 'open']);
    expect(recorded.sockets).to.have.length(1);
  });

  it('closed with 4001 on connect (an expired token): asks getToken again, reconnects and is welcomed; the pending say is delivered', async () => {
    const { recorded, said } = sayingClient({ tokens: (n) => signToken({ sub: 'uma', expiresIn: n === 0 ? -60 : 3600 }) });
    await recorded.reached('open');
    expect(recorded.states.find((change) => change.state === 'reconnecting')).to.include({ code: 4001 });
    expect(recorded.tokensGiven).to.have.length(2);
    expect(recorded.client.welcome).to.include({ user: 'uma' });
    expect(await said).to.have.property('msgId');
  });

  for (const [what, tokens, sockets] of [
    ['twice in a row (bad tokens)', () => signToken({ sub: 'vic', expiresIn: -60 }), 2],
    ['without getToken', undefined, 1],
  ] as const) {
    it(`closed with 4001 ${what}: stops with the error unauthorized and fails the pending say`, async () => {
      const { recorded, said } = sayingClient(tokens ? { tokens } : {});
      const closed = await recorded.reached('closed');
      expect(closed).to.include({ code: 4001 });
      expect(closed.error).to.be.instanceOf(WarrenError).and.include({ code: 'unauthorized' });
      expect(await said).to.be.instanceOf(WarrenError).and.include({ code: 'closed' });
      expect(await recorded.socketsAfterBackoff()).to.equal(sockets);
    });
  }

  it('closed with 4003 (the token does not grant the connect room): stops with the error forbidden at once, no reconnect', async () => {
    const { recorded, said } = sayingClient({ room: 'secret', tokens: () => signToken({ sub: 'wes', rooms: ['public'] }) });
    const closed = await recorded.reached('closed');
    expect(closed).to.include({ code: 4003 });
    expect(closed.error).to.be.instanceOf(WarrenError).and.include({ code: 'forbidden' });
    expect(await said).to.be.instanceOf(WarrenError).and.include({ code: 'closed' });
    expect(await recorded.socketsAfterBackoff()).to.equal(1);
    expect(recorded.tokensGiven).to.have.length(1);
  });

  it('a refreshed token that no longer grants a room: that room is left with the error forbidden, the others stay, on the same socket', async () => {
    const recorded = client({
      tokens: (n) => (n === 0 ? signToken({ sub: 'xena', rooms: ['lobby', 'team-*'], expiresIn: REFRESH_SECONDS + 1 }) : signToken({ sub: 'xena', rooms: ['lobby'] })),
    });
    const team = recorded.client.join('team-a');
    const states: string[] = [];
    const left = new Promise((resolve) =>
      team.on('state', (event) => {
        states.push(event.state);
        if (event.state === 'left') resolve(event);
      }),
    );
    recorded.client.connect();
    expect(await left).to.deep.include({ room: 'team-a', state: 'left' }).and.have.nested.property('error.code', 'forbidden');
    expect(states, 'joined first, under the first token').to.deep.equal(['joined', 'left']);
    expect(recorded.tokensGiven).to.have.length(2);
    expect([...recorded.client.rooms.keys()]).to.deep.equal(['lobby']);
    expect(await recorded.client.ping()).to.be.a('number');
    expect(recorded.sockets).to.have.length(1);
  });

  it('a join the token does not grant: the room is left with the error forbidden, a say there fails with not_joined, the socket stays', async () => {
    const recorded = client({ tokens: () => signToken({ sub: 'yuri', rooms: ['lobby'] }) });
    recorded.client.connect();
    await recorded.reached('open');
    const vault = recorded.client.join('vault');
    const left = await new Promise<{ state: string; error?: WarrenError }>((resolve) => vault.on('state', resolve));
    expect(left).to.include({ state: 'left' }).and.have.nested.property('error.code', 'forbidden');
    expect(recorded.client.rooms.has('vault')).to.equal(false);
    expect(await recorded.client.say('vault', 'in?').catch((error: unknown) => error)).to.include({ code: 'not_joined' });
    expect(await recorded.client.ping()).to.be.a('number');
    expect(recorded.sockets).to.have.length(1);
  });

  it('a refresh refused (an expired token from getToken) is told as an error; the 4001 at exp gets a new token, and it reconnects', async () => {
    const lifetimes = [REFRESH_SECONDS + 1, -60, 3600];
    const recorded = client({ tokens: (n) => signToken({ sub: 'zoe', expiresIn: lifetimes[Math.min(n, 2)]! }) });
    recorded.client.connect();
    const closed = await recorded.reached('reconnecting');
    expect(closed).to.include({ code: 4001, reason: 'token expired' });
    expect(recorded.told.find((told) => told.event === 'error')).to.have.nested.property('error.code', 'unauthorized');
    await recorded.reached('open', 2);
    expect(recorded.tokensGiven).to.have.length(3);
  });

  it('a refresh naming another user: closed with 4003, stops with the error forbidden', async () => {
    const recorded = client({ tokens: (n) => signToken({ sub: n === 0 ? 'amy' : 'mallory', expiresIn: REFRESH_SECONDS + 1 }) });
    recorded.client.connect();
    const closed = await recorded.reached('closed');
    expect(closed).to.include({ code: 4003, reason: 'the refresh named another user' });
    expect(closed.error).to.be.instanceOf(WarrenError).and.include({ code: 'forbidden' });
    expect(await recorded.socketsAfterBackoff()).to.equal(1);
  });
});
