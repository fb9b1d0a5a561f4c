// Unit specs of the client library (client/warren.mjs) against a stand-in
// socket: the spec plays the server frame by frame. The library against
// real daemons: the other files of spec/client/, and the browser specs.
import { expect } from 'chai';
import WsWebSocket from 'ws';
import { WarrenClient, WarrenError, type Ack, type ClientOptions, type Message, type Presence, type StateChange } from 'warren/client';
import { until } from '../support/eventually';
import { StandInServer, type StandInSocket } from '../support/stand_in_socket';

const URL_A = 'ws://127.0.0.1:1/websocket';
const URL_B = 'ws://127.0.0.1:2/websocket';

describe('the client library (client/warren.mjs), against a stand-in socket', function () {
  const clients: WarrenClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  function setup(options: Partial<ClientOptions> = {}) {
    const server = new StandInServer();
    const client = new WarrenClient({
      url: URL_A,
      WebSocket: server.WebSocket,
      backoff: { baseMs: 1, maxMs: 4 },
      heartbeatMs: 0,
      ...options,
    });
    clients.push(client);
    const states: StateChange[] = [];
    client.on('state', (change) => states.push(change));
    /** The n-th socket the client opened (1-based), once it has. */
    const socket = (n: number): Promise<StandInSocket> => server.opened(n);
    return { server, client, states, socket };
  }

  /** A connected client: its first socket welcomed. */
  async function connected(options: Partial<ClientOptions> = {}) {
    const parts = setup(options);
    parts.client.connect();
    const first = await parts.socket(1);
    first.welcome();
    return { ...parts, first };
  }

  /** Every error event the client tells from now on. */
  function errorsOf(client: WarrenClient): WarrenError[] {
    const errors: WarrenError[] = [];
    client.on('error', (e) => errors.push(e));
    return errors;
  }

  const settled = <T>(promise: Promise<T>) => promise.then((value) => ({ value }), (error: WarrenError) => ({ error }));
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

  describe('connecting', () => {
    it('opens the URL with name, room and client key, offering warren.v2 only without a token', async () => {
      const { client, socket } = setup({ name: ' ann ', room: 'dev', clientKey: 'key-0123456789abcdef' });
      client.connect();
      const s = await socket(1);
      expect(s.url.origin + s.url.pathname).to.equal(URL_A);
      expect(Object.fromEntries(s.url.searchParams)).to.deep.equal({ name: 'ann', room: 'dev', client: 'key-0123456789abcdef' });
      expect(s.protocols).to.deep.equal(['warren.v2']);
    });

    it('leaves the name out when none is given, or only white space (the server picks one), and joins lobby by default', async () => {
      for (const name of [undefined, '   ']) {
        const { client, socket } = setup({ name });
        client.connect();
        const s = await socket(1);
        expect(s.url.searchParams.has('name')).to.equal(false);
        expect(s.url.searchParams.get('room')).to.equal('lobby');
      }
    });

    it('opens one socket however often connect() is called', async () => {
      const { client, server } = setup();
      client.connect();
      client.connect();
      await tick();
      expect(server.sockets).to.have.length(1);
    });

    it('generates a client key of 24 base64url characters and keeps it across reconnects', async () => {
      const { client, first, socket } = await connected();
      expect(client.clientKey).to.match(/^[A-Za-z0-9_-]{24}$/);
      expect(first.url.searchParams.get('client')).to.equal(client.clientKey);
      first.drop(1006);
      expect((await socket(2)).url.searchParams.get('client')).to.equal(client.clientKey);
      const keys = Array.from({ length: 50 }, () => new WarrenClient({ url: URL_A, WebSocket: new StandInServer().WebSocket }).clientKey);
      expect(new Set([client.clientKey, ...keys]).size).to.equal(51);
      for (const key of keys) expect(key).to.match(/^[A-Za-z0-9_-]{24}$/);
    });

    it('takes the ws package\'s class as its WebSocket as it is, types and all (Node has none of its own)', () => {
      expect(new WarrenClient({ url: URL_A, WebSocket: WsWebSocket }).state).to.equal('idle');
    });

    it('refuses options the server would refuse: a bad client key, room or name, or no URL or WebSocket', () => {
      const WebSocket = new StandInServer().WebSocket;
      for (const clientKey of ['short', '!0123456789abcdef', '0123456789abcdef!']) {
        expect(() => new WarrenClient({ url: URL_A, WebSocket, clientKey })).to.throw(TypeError, /clientKey/);
      }
      expect(() => new WarrenClient({ WebSocket } as unknown as ClientOptions)).to.throw(TypeError, /`url` is required/);
      expect(() => new WarrenClient({ url: URL_A, WebSocket, room: 'no spaces' })).to.throw(TypeError, /room name/);
      expect(() => new WarrenClient({ url: URL_A, WebSocket, name: 'x'.repeat(33) })).to.throw(TypeError, /32/);
      expect(() => new WarrenClient({ url: [], WebSocket })).to.throw(TypeError, /url/);
      expect(() => new WarrenClient({ url: URL_A })).to.throw(TypeError, /WebSocket/);
      const client = new WarrenClient({ url: URL_A, WebSocket, name: '🦊'.repeat(32) });
      expect(() => client.join('bad room')).to.throw(TypeError);
      expect(() => client.rename('y'.repeat(33))).to.throw(TypeError);
    });

    it('is open once welcomed, not when the socket opens, and tells who it is', async () => {
      const { client, states, socket } = setup();
      const welcomes: unknown[] = [];
      client.on('welcome', (w) => welcomes.push(w));
      expect(client.state).to.equal('idle');
      client.connect();
      const s = await socket(1);
      expect(client.state).to.equal('connecting');
      s.readyState = 1;
      s.onopen?.({});
      expect(client.state).to.equal('connecting');
      s.frame({ type: 'welcome', protocol: 2, session: 'S', user: 'U', name: 'N', rooms: ['lobby'], node: 'D' });
      expect(client.state).to.equal('open');
      expect(states.map((c) => c.state)).to.deep.equal(['connecting', 'open']);
      expect(client.welcome).to.deep.equal({ session: 'S', user: 'U', name: 'N', node: 'D', rooms: ['lobby'] });
      expect(welcomes).to.deep.equal([client.welcome]);
    });

    it('offers the token from getToken as warren.bearer.<token>, fetched afresh for every attempt', async () => {
      let n = 0;
      const { client, socket } = setup({ getToken: async () => `t${++n}` });
      client.connect();
      const first = await socket(1);
      expect(first.protocols).to.deep.equal(['warren.v2', 'warren.bearer.t1']);
      first.drop(1006);
      expect((await socket(2)).protocols).to.deep.equal(['warren.v2', 'warren.bearer.t2']);
    });

    it('retries later when getToken fails, and says why', async () => {
      let fail = true;
      const { client, states, socket } = setup({ getToken: () => { if (fail) throw new Error('idp down'); return 'tok'; } });
      const errors = errorsOf(client);
      client.connect();
      await until('a reconnecting state', () => states.length, () => states.some((s) => s.state === 'reconnecting'));
      expect(errors[0]).to.include({ code: 'token', message: 'getToken failed: idp down' });
      expect(states.find((s) => s.state === 'reconnecting')).to.include({ code: 0, reason: 'no token' });
      fail = false;
      expect((await socket(1)).protocols).to.deep.equal(['warren.v2', 'warren.bearer.tok']);
    });

    it('tells a getToken that throws what it threw', async () => {
      const { client } = setup({ getToken: () => { throw 'nope'; } });
      const errors = errorsOf(client);
      client.connect();
      await until('an error', () => errors.length, (n) => n > 0);
      expect(errors[0]!.message).to.equal('getToken failed: nope');
    });

    it('a getToken that fails after close() is not told, and opens nothing', async () => {
      let reject: (error: Error) => void = () => undefined;
      const { client, server } = setup({ getToken: () => new Promise<string>((_, no) => (reject = no)) });
      const errors = errorsOf(client);
      client.connect();
      client.close();
      reject(new Error('late'));
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(errors).to.deep.equal([]);
      expect(server.sockets).to.have.length(0);
    });

    it('stops, and says why, when the WebSocket constructor throws (a malformed URL)', async () => {
      const { client, states } = setup({ WebSocket: class { constructor() { throw new Error('boom'); } } as unknown as ClientOptions['WebSocket'] });
      client.connect();
      await until('closed', () => client.state, (state) => state === 'closed');
      expect(states.at(-1)).to.include({ code: 0, reason: 'boom' });
      expect(states.at(-1)!.error).to.include({ code: 'bad_request', message: 'cannot open a websocket: boom' });
    });

    it('gives up on an attempt not welcomed within timeoutMs and tries the next URL', async () => {
      const { client, socket } = setup({ url: [URL_A, URL_B], timeoutMs: 30 });
      client.connect();
      const first = await socket(1);
      first.readyState = 1; // open, but silent
      const second = await socket(2);
      expect(first.closedBy).to.deep.equal({ code: 1000, reason: 'no welcome in time' });
      expect(second.url.port).to.equal('2');
    });
  });

  describe('reconnecting', () => {
    for (const code of [1000, 1003, 1006, 1009, 1011, 1013]) {
      it(`reconnects to the same URL after a close ${code}`, async () => {
        const { first, socket, states } = await connected({ url: [URL_A, URL_B] });
        first.drop(code, 'why');
        const second = await socket(2);
        expect(second.url.port).to.equal('1');
        expect(states.find((s) => s.state === 'reconnecting')).to.include({ code, reason: 'why', attempt: 1 });
      });
    }

    it('moves to the next URL after a 1001 (the node drains), and round the list', async () => {
      const { socket, first } = await connected({ url: [URL_A, URL_B] });
      first.drop(1001);
      const second = await socket(2);
      expect(second.url.port).to.equal('2');
      second.welcome();
      second.drop(1001);
      expect((await socket(3)).url.port).to.equal('1');
    });

    it('moves to the next URL after an attempt that was never welcomed (a node that is down)', async () => {
      const { client, socket } = setup({ url: [URL_A, URL_B] });
      client.connect();
      (await socket(1)).drop(1006);
      expect((await socket(2)).url.port).to.equal('2');
    });

    for (const [code, error] of [[4003, 'forbidden'], [1008, 'rate_limited']] as const) {
      it(`stops after a close ${code} and reports it (${error}), failing what is pending; connect() starts again`, async () => {
        const { client, first, states, server, socket } = await connected();
        const said = settled(client.say('lobby', 'hi'));
        first.drop(code, 'no');
        const last = states.at(-1)!;
        expect(last).to.include({ state: 'closed', code, reason: 'no' });
        expect(last.error).to.be.instanceOf(WarrenError).and.include({ code: error, message: `closed ${code}: no` });
        expect(await said).to.have.nested.property('error.code', 'closed');
        expect(await said).to.have.nested.property('error.message', `the client stopped: closed ${code}: no`);
        await new Promise((resolve) => setTimeout(resolve, 30));
        expect(server.sockets).to.have.length(1);
        client.connect();
        const second = await socket(2);
        second.drop(code);
        expect(states.at(-1)!.error).to.include({ message: `closed ${code}` });
      });
    }

    it('after a 4001 fetches a new token and reconnects at once', async () => {
      const tokens = ['old', 'new'];
      const { client, socket, states } = setup({ getToken: () => tokens.shift()! });
      client.connect();
      const first = await socket(1);
      first.welcome();
      first.drop(4001, 'token expired');
      expect(states.at(-1)).to.include({ state: 'reconnecting', code: 4001, delayMs: 0 });
      expect((await socket(2)).protocols).to.deep.equal(['warren.v2', 'warren.bearer.new']);
    });

    it('stops after a 4001 when it has no getToken, or when the fresh token is refused too', async () => {
      const without = await connected();
      without.first.drop(4001, 'token missing');
      expect(without.states.at(-1)).to.include({ state: 'closed', code: 4001 });
      expect(without.states.at(-1)!.error).to.include({ code: 'unauthorized', message: 'closed 4001: token missing' });

      const { client, socket, states } = setup({ getToken: () => 'bad' });
      client.connect();
      (await socket(1)).drop(4001, 'token invalid');
      (await socket(2)).drop(4001);
      expect(states.at(-1)).to.include({ state: 'closed', code: 4001 });
      expect(states.at(-1)!.error).to.include({ message: 'closed 4001' });
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(states.filter((s) => s.state === 'connecting')).to.have.length(2);
    });

    it('a welcome in between makes a later 4001 a first one again', async () => {
      const { client, socket, states } = setup({ getToken: () => 'tok' });
      client.connect();
      (await socket(1)).drop(4001);
      const second = await socket(2);
      second.welcome();
      second.drop(4001);
      expect(states.at(-1)).to.include({ state: 'reconnecting', code: 4001 });
      await socket(3);
    });

    describe('backoff', () => {
      let random: () => number;
      beforeEach(() => {
        random = Math.random;
      });
      afterEach(() => {
        Math.random = random;
      });

      const delays = (states: StateChange[]) => states.filter((s) => s.state === 'reconnecting').map((s) => s.delayMs);

      it('waits a uniform draw below a cap that doubles from baseMs to maxMs (full jitter)', async () => {
        Math.random = () => 0.999;
        const { client, socket, states } = setup({ backoff: { baseMs: 2, maxMs: 16 } });
        client.connect();
        for (let n = 1; n <= 6; n++) (await socket(n)).drop(1006);
        expect(delays(states)).to.deep.equal([1, 3, 7, 15, 15, 15]);
        Math.random = () => 0;
        (await socket(7)).drop(1006);
        expect(delays(states).at(-1)).to.equal(0);
      });

      it('starts again from baseMs after a connection that stayed up for stableMs, not after a shorter one', async () => {
        Math.random = () => 0.999;
        const { client, socket, states } = setup({ backoff: { baseMs: 4, maxMs: 1000, stableMs: 60 } });
        client.connect();
        (await socket(1)).drop(1006);
        (await socket(2)).drop(1006);
        const third = await socket(3);
        third.welcome();
        third.drop(1006); // up for less than stableMs: the backoff goes on growing
        const fourth = await socket(4);
        fourth.welcome();
        await new Promise((resolve) => setTimeout(resolve, 100));
        fourth.drop(1006);
        await socket(5);
        expect(delays(states)).to.deep.equal([3, 7, 15, 3]);
      });
    });
  });

  describe('rooms', () => {
    it('rejoins every wanted room after a reconnect with since its last position, and presence where asked', async () => {
      const { client, first, socket } = await connected();
      client.join('dev', { presence: true });
      client.join('ops');
      client.join('new', { history: 20 });
      client.join('plain');
      first.frame({ type: 'message', room: 'lobby', msgId: 'm1', pos: 'P-lobby', from: 'x', user: 'x', text: 'a', ts: 1 });
      first.frame({ type: 'message', room: 'dev', msgId: 'm2', pos: 'P-dev', from: 'x', user: 'x', text: 'b', ts: 1 });
      first.frame({ type: 'message', room: 'ops', msgId: 'm3', pos: 'P-ops', from: 'x', user: 'x', text: 'c', ts: 1 });
      first.drop(1006);
      const second = await socket(2);
      expect(second.url.searchParams.get('room')).to.equal('lobby');
      expect(second.url.searchParams.get('since')).to.equal('P-lobby');
      second.welcome({ recovered: true });
      expect(second.sentOf('join').map(({ id, ...rest }) => rest)).to.deep.equal([
        { type: 'join', room: 'dev', since: 'P-dev', presence: true },
        { type: 'join', room: 'ops', since: 'P-ops' },
        { type: 'join', room: 'new', history: 20 },
        { type: 'join', room: 'plain' },
      ]);
    });

    it('asks for the connect room\'s history and presence with a join, as a URL cannot', async () => {
      const joins = async (roomOptions: { history?: number; presence?: boolean }) =>
        (await connected({ roomOptions })).first.sentOf('join').map(({ id, ...rest }) => rest);
      expect(await joins({ history: 50, presence: true })).to.deep.equal([{ type: 'join', room: 'lobby', history: 50, presence: true }]);
      expect(await joins({ history: 50 })).to.deep.equal([{ type: 'join', room: 'lobby', history: 50 }]);
      expect(await joins({ presence: true })).to.deep.equal([{ type: 'join', room: 'lobby', presence: true }]);
    });

    it('sends nothing more for a connect room that wants neither history nor presence, or that was seen already', async () => {
      const plain = await connected();
      expect(plain.first.sentOf('join')).to.deep.equal([]);
      const { first, socket } = await connected({ roomOptions: { history: 50 } });
      first.frame({ type: 'message', room: 'lobby', msgId: 'm1', pos: 'P1', from: 'x', user: 'x', text: 'a', ts: 1 });
      first.drop(1006);
      const second = await socket(2);
      second.welcome();
      expect(second.sentOf('join')).to.deep.equal([]);
    });

    it('is joined on joined (joining before), and a join refused takes the room out with the error', async () => {
      const { client, first } = await connected();
      const events: unknown[] = [];
      const dev = client.join('dev');
      dev.on('state', (e) => events.push(e));
      expect([dev.name, dev.state, dev.options]).to.deep.equal(['dev', 'joining', { history: 0, presence: false }]);
      first.frame({ type: 'joined', room: 'dev', id: first.sentOf('join')[0]!.id });
      first.frame({ type: 'joined', room: 'dev', id: first.sentOf('join')[0]!.id });
      first.frame({ type: 'joined', room: 'gone', id: 'x' });
      expect(dev.state).to.equal('joined');
      const secret = client.join('secret');
      secret.on('state', (e) => events.push(e));
      first.frame({ type: 'error', code: 'forbidden', message: 'not granted', id: first.sentOf('join')[1]!.id });
      expect(secret.state).to.equal('left');
      expect(client.rooms.has('secret')).to.equal(false);
      expect(events).to.deep.equal([{ room: 'dev', state: 'joined' }, { room: 'secret', state: 'left', error: new WarrenError('forbidden', 'not granted') }]);
      expect((events[1] as { error: WarrenError }).error).to.include({ code: 'forbidden', message: 'not granted' });
    });

    it('a join made offline, or before the welcome, is sent on welcome; join of a wanted room returns the same room', async () => {
      const { client, socket } = setup();
      const dev = client.join('dev');
      expect(client.join('dev')).to.equal(dev);
      expect(() => client.join(5 as unknown as string)).to.throw(TypeError, /not a room name/);
      expect([...client.rooms.keys()]).to.deep.equal(['lobby', 'dev']);
      client.connect();
      const s = await socket(1);
      s.readyState = 1; // open, not welcomed yet
      client.join('ops');
      s.welcome();
      expect(s.sentOf('join').map((f) => f.room)).to.deep.equal(['dev', 'ops']);
    });

    it('a room is joining again while the client is away, and the connect room is joined on the welcome, told once', async () => {
      const { client, socket } = setup({ roomOptions: { presence: true } });
      const lobby = client.rooms.get('lobby')!;
      const states: string[] = [];
      lobby.on('state', (e) => states.push(e.state));
      client.connect();
      const first = await socket(1);
      first.welcome();
      first.frame({ type: 'joined', room: 'lobby', id: first.sentOf('join')[0]!.id });
      expect(lobby.state).to.equal('joined');
      first.drop(1006);
      expect(lobby.state).to.equal('joining');
      (await socket(2)).welcome();
      expect(states).to.deep.equal(['joined', 'joining', 'joined']);
    });

    it('leave: left on the server\'s answer, its pending says fail (not the other rooms\'), and it is not rejoined', async () => {
      const { client, first, socket } = await connected();
      const dev = client.join('dev');
      first.frame({ type: 'joined', room: 'dev', id: first.sentOf('join')[0]!.id });
      const said = settled(dev.say('pending'));
      const elsewhere = settled(client.say('lobby', 'stays'));
      let done = false;
      const left = dev.leave().then(() => (done = true));
      expect(await said).to.have.nested.property('error.message', 'left dev');
      expect((await said)).to.have.nested.property('error.code', 'not_joined');
      first.frame({ type: 'ack', id: first.sentOf('say')[1]!.id, msgId: 'M' });
      expect(await elsewhere).to.have.nested.property('value.msgId', 'M');
      const leave = first.sentOf('leave')[0]!;
      expect(leave).to.include({ type: 'leave', room: 'dev' });
      await tick();
      expect(done).to.equal(false);
      first.frame({ type: 'left', room: 'dev', id: leave.id });
      await left;
      expect(dev.state).to.equal('left');
      first.drop(1006);
      const second = await socket(2);
      second.welcome();
      expect(second.sentOf('join')).to.deep.equal([]);
    });

    it('leave of a room not wanted, or while offline, resolves at once and sends nothing', async () => {
      const { client, server } = setup();
      client.join('dev');
      await client.leave('dev');
      await client.leave('never-joined');
      expect([...client.rooms.keys()]).to.deep.equal(['lobby']);
      expect(server.sends).to.equal(0);
    });

    it('a room the server leaves unasked (a refreshed token no longer grants it) is left with forbidden', async () => {
      const { client, first } = await connected();
      const dev = client.join('dev');
      const states: unknown[] = [];
      dev.on('state', (e) => states.push(e));
      first.frame({ type: 'left', room: 'dev' });
      expect(dev.state).to.equal('left');
      expect(client.rooms.has('dev')).to.equal(false);
      expect((states[0] as { error: WarrenError }).error).to.include({ code: 'forbidden', message: 'the server left dev' });
      first.frame({ type: 'left', room: 'dev' }); // again, or of a room never wanted: nothing
      expect(states).to.have.length(1);
    });

    it('connects to the next wanted room after the connect room was left; with none wanted, leaves the default after the welcome', async () => {
      const { client, first, socket } = await connected();
      client.join('dev');
      const left = client.leave('lobby');
      first.frame({ type: 'left', room: 'lobby', id: first.sentOf('leave')[0]!.id });
      await left;
      first.drop(1006);
      const second = await socket(2);
      expect(second.url.searchParams.get('room')).to.equal('dev');
      second.welcome();
      expect(second.sentOf('join')).to.deep.equal([]);
      void client.leave('dev');
      second.drop(1006);
      const third = await socket(3);
      expect(third.url.searchParams.get('room')).to.equal('lobby');
      third.welcome();
      expect(third.sentOf('leave')).to.deep.equal([{ type: 'leave', room: 'lobby' }]);
      third.frame({ type: 'left', room: 'lobby' });
      expect(client.state).to.equal('open');
    });
  });

  describe('messages', () => {
    it('are told to their room\'s listeners, then the client\'s, with the replay flag; the room keeps the last position', async () => {
      const { client, first } = await connected();
      const told: string[] = [];
      const lobby = client.rooms.get('lobby')!;
      lobby.on('message', (m: Message) => told.push(`room ${m.text} ${m.replay}`));
      client.on('message', (m: Message) => told.push(`client ${m.text} ${m.replay}`));
      first.frame({ type: 'message', room: 'lobby', msgId: 'm1', pos: 'P1', from: 'bob', user: 'u2', text: 'old', ts: 5, replay: true });
      first.frame({ type: 'message', room: 'lobby', msgId: 'm2', pos: 'P2', from: 'bob', user: 'u2', text: 'new', ts: 6 });
      expect(told).to.deep.equal(['room old true', 'client old true', 'room new false', 'client new false']);
      expect(lobby.pos).to.equal('P2');
    });

    it('are told once per msgId, so a replay that overlaps live delivery shows nothing twice', async () => {
      const { client, first } = await connected();
      const texts: string[] = [];
      client.on('message', (m) => texts.push(m.text));
      first.frame({ type: 'message', room: 'lobby', msgId: 'm1', pos: 'P1', from: 'b', user: 'b', text: 'one', ts: 1 });
      first.frame({ type: 'message', room: 'lobby', msgId: 'm1', pos: 'P1', from: 'b', user: 'b', text: 'one', ts: 1, replay: true });
      first.frame({ type: 'message', room: 'lobby', msgId: 'm2', pos: 'P2', from: 'b', user: 'b', text: 'two', ts: 1 });
      expect(texts).to.deep.equal(['one', 'two']);
      expect(client.rooms.get('lobby')!.pos).to.equal('P2');
    });

    it('forgets all but the last 1000 msgIds of a room', async () => {
      const { client, first } = await connected();
      let told = 0;
      client.on('message', () => told++);
      const say = (n: number) => first.frame({ type: 'message', room: 'lobby', msgId: `m${n}`, pos: `P${n}`, from: 'b', user: 'b', text: 't', ts: 1 });
      for (let n = 0; n <= 1000; n++) say(n);
      say(1); // still remembered
      say(0); // forgotten: the 1001st back
      expect(told).to.equal(1002);
    });

    it('of a room not wanted are dropped', async () => {
      const { client, first } = await connected();
      let told = 0;
      client.on('message', () => told++);
      first.frame({ type: 'message', room: 'elsewhere', msgId: 'm1', pos: 'P1', from: 'b', user: 'b', text: 't', ts: 1 });
      expect(told).to.equal(0);
    });

    it('a gap is told when the welcome or a joined says recovered: false, not when it says true or nothing', async () => {
      const { client, socket } = setup();
      const gaps: string[] = [];
      client.on('gap', (g) => gaps.push(`client ${g.room}`));
      client.rooms.get('lobby')!.on('gap', (g) => gaps.push(`room ${g.room}`));
      client.connect();
      const first = await socket(1);
      first.welcome({ recovered: true });
      client.join('dev');
      first.frame({ type: 'joined', room: 'dev', id: first.sentOf('join')[0]!.id, recovered: true });
      expect(gaps, 'after recovered: true').to.deep.equal([]);
      first.drop(1006);
      const second = await socket(2);
      second.welcome({ recovered: false });
      second.frame({ type: 'joined', room: 'dev', id: second.sentOf('join')[0]!.id, recovered: false });
      expect(gaps).to.deep.equal(['room lobby', 'client lobby', 'client dev']);
      second.drop(1006);
      const third = await socket(3);
      third.welcome();
      third.frame({ type: 'joined', room: 'dev', id: third.sentOf('join')[0]!.id });
      expect(gaps, 'after no recovered at all').to.have.length(3);
    });
  });

  describe('say', () => {
    it('resolves with the ack: the id it was sent under and the server\'s msgId', async () => {
      const { client, first } = await connected();
      const said = client.say('lobby', 'hi');
      const frame = first.sentOf('say')[0]!;
      expect(frame).to.include({ type: 'say', room: 'lobby', text: 'hi' });
      expect(frame.id).to.be.a('string');
      first.frame({ type: 'ack', id: frame.id, msgId: 'M1' });
      expect(await said).to.deep.equal({ id: frame.id as string, msgId: 'M1' } satisfies Ack);
    });

    it('ids are unique per client object, also between two clients with the same key', async () => {
      const a = await connected({ clientKey: 'same-key-0123456789' });
      const b = await connected({ clientKey: 'same-key-0123456789' });
      void a.client.say('lobby', 'x').catch(() => undefined);
      void a.client.say('lobby', 'y').catch(() => undefined);
      void b.client.say('lobby', 'x').catch(() => undefined);
      const ids = [...a.first.sentOf('say'), ...b.first.sentOf('say')].map((f) => f.id);
      expect(new Set(ids).size).to.equal(3);
    });

    it('fails at once, without sending, in a room that is not wanted', async () => {
      const { client, server } = await connected();
      const before = server.sends;
      const outcome = await settled(client.say('nowhere', 'x'));
      expect(outcome).to.have.nested.property('error.code', 'not_joined');
      expect(outcome).to.have.nested.property('error.message', 'not in nowhere: join it first');
      expect(server.sends).to.equal(before);
    });

    it('fails a text over 4000 characters (code points) with too_large without sending it, and sends one of 4000', async () => {
      const { client, first } = await connected();
      const outcome = await settled(client.say('lobby', '🦊'.repeat(4001)));
      expect(outcome).to.have.nested.property('error.code', 'too_large');
      expect(outcome).to.have.nested.property('error.message', 'a message has at most 4000 characters');
      expect((outcome as { error: WarrenError }).error.retryable).to.equal(false);
      void client.say('lobby', '🦊'.repeat(4000));
      expect(first.sentOf('say').map((f) => [...(f.text as string)].length)).to.deep.equal([4000]);
    });

    it('ignores an ack for no say of its own', async () => {
      const { client, first } = await connected();
      const said = client.say('lobby', 'x');
      first.frame({ type: 'ack', id: 'someone-else', msgId: 'M0' });
      first.frame({ type: 'ack', id: first.sentOf('say')[0]!.id, msgId: 'M1' });
      expect((await said).msgId).to.equal('M1');
    });

    it('fails with the server\'s error when it is not worth resending (too_large, forbidden, rate_limited)', async () => {
      const { client, first } = await connected();
      for (const code of ['too_large', 'forbidden', 'rate_limited']) {
        const said = settled(client.say('lobby', code));
        first.frame({ type: 'error', code, message: `m-${code}`, id: first.sentOf('say').at(-1)!.id });
        expect(await said).to.have.nested.property('error.code', code);
      }
      expect(first.sentOf('say')).to.have.length(3);
    });

    it('is resent under the same id after unavailable, and fails with it after maxAttempts sends', async () => {
      const { client, first } = await connected({ maxAttempts: 3 });
      const said = settled(client.say('lobby', 'hi'));
      for (let n = 1; n <= 3; n++) {
        await until(`send ${n}`, () => first.sentOf('say').length, (length) => length === n);
        first.frame({ type: 'error', code: 'unavailable', message: 'no confirm', id: first.sentOf('say')[0]!.id });
      }
      const outcome = await said;
      expect(outcome).to.have.nested.property('error.code', 'unavailable');
      expect(new Set(first.sentOf('say').map((f) => f.id)).size).to.equal(1);
      expect(first.sentOf('say')).to.have.length(3);
    });

    it('is resent after timeoutMs without an answer, then acked once', async () => {
      const { client, first } = await connected({ timeoutMs: 40, maxAttempts: 100 });
      const said = client.say('lobby', 'hi');
      await until('a resend', () => first.sentOf('say').length, (length) => length >= 2);
      expect(new Set(first.sentOf('say').map((f) => f.id)).size).to.equal(1);
      first.frame({ type: 'ack', id: first.sentOf('say')[0]!.id, msgId: 'M' });
      expect((await said).msgId).to.equal('M');
    });

    it('after timeoutMs without an answer, maxAttempts times, fails with that timeout', async () => {
      const { client } = await connected({ timeoutMs: 10, maxAttempts: 2 });
      expect(await settled(client.say('lobby', 'hi'))).to.have.nested.property('error.message', 'no answer within 10 ms');
    });

    it('fails with timeout after sayTimeoutMs, also while offline', async () => {
      const { client } = setup({ sayTimeoutMs: 20 });
      const outcome = await settled(client.say('lobby', 'never sent'));
      expect(outcome).to.have.nested.property('error.code', 'timeout');
      expect(outcome).to.have.nested.property('error.message', 'no ack within 20 ms');
    });

    it('made offline is sent after the welcome and after the rejoins, in the order said', async () => {
      const { client, socket } = setup();
      client.join('dev');
      void client.say('dev', 'one');
      void client.say('lobby', 'two');
      client.connect();
      const s = await socket(1);
      s.welcome();
      expect(s.sent.map((f) => `${f.type} ${f.room} ${f.text ?? ''}`.trim())).to.deep.equal(['join dev', 'say dev one', 'say lobby two']);
    });

    it('unacked when the socket drops is resent on the next one, in order, under the same ids, and counts as an attempt', async () => {
      const { client, first, socket } = await connected({ maxAttempts: 2 });
      const one = settled(client.say('lobby', 'one'));
      const two = client.say('lobby', 'two');
      const sentFirst = first.sentOf('say');
      first.drop(1006);
      const second = await socket(2);
      second.welcome();
      expect(second.sentOf('say')).to.deep.equal(sentFirst);
      second.frame({ type: 'ack', id: sentFirst[1]!.id, msgId: 'M2' });
      expect((await two).msgId).to.equal('M2');
      second.drop(1006);
      (await socket(3)).welcome();
      expect(await one).to.have.nested.property('error.code', 'timeout'); // two sends, no answer
      expect(await one).to.have.nested.property('error.message', 'not acked after 2 attempts');
    });

    it('with the id of a pending say returns that say; with the id of a failed one sends it again', async () => {
      const { client, first } = await connected();
      const said = client.say('lobby', 'x', { id: 'mine' });
      expect(client.say('lobby', 'x', { id: 'mine' })).to.equal(said);
      first.frame({ type: 'error', code: 'too_large', message: 'm', id: 'mine' });
      await said.catch(() => undefined);
      const again = client.say('lobby', 'x', { id: 'mine' });
      expect(first.sentOf('say').map((f) => f.id)).to.deep.equal(['mine', 'mine']);
      first.frame({ type: 'ack', id: 'mine', msgId: 'M' });
      expect(await again).to.deep.equal({ id: 'mine', msgId: 'M' });
    });

    it('through its room', async () => {
      const { client, first } = await connected();
      const said = client.rooms.get('lobby')!.say('via room', { id: 'r1' });
      expect(first.sentOf('say')[0]).to.deep.equal({ type: 'say', room: 'lobby', text: 'via room', id: 'r1' });
      first.frame({ type: 'ack', id: 'r1', msgId: 'M' });
      expect((await said).msgId).to.equal('M');
    });
  });

  describe('presence', () => {
    const member = (user: string, name: string, connections = 1) => ({ user, name, connections });

    it('keeps the member list from presence and presence_diff, sorted by name then user, with the counts', async () => {
      const { client, first } = await connected({ roomOptions: { presence: true } });
      const lobby = client.rooms.get('lobby')!;
      const seen: Presence[] = [];
      const seenByClient: Presence[] = [];
      lobby.on('presence', (p) => seen.push(p));
      client.on('presence', (p) => seenByClient.push(p));
      first.frame({ type: 'presence', room: 'lobby', members: [member('u3', 'cy', 2), member('u1', 'al')], users: 2, connections: 3 });
      expect(lobby.presence).to.deep.equal({ room: 'lobby', members: [member('u1', 'al'), member('u3', 'cy', 2)], users: 2, connections: 3, truncated: false });
      first.frame({ type: 'presence_diff', room: 'lobby', joins: [{ user: 'u2', name: 'al' }, { user: 'u0', name: 'bo' }], leaves: [{ user: 'u3' }], users: 3, connections: 3 });
      expect(lobby.presence).to.deep.equal({ room: 'lobby', members: [member('u1', 'al'), member('u2', 'al'), member('u0', 'bo')], users: 3, connections: 3, truncated: false });
      expect(seen).to.have.length(2);
      expect(seenByClient).to.deep.equal(seen);
    });

    it('above the listed maximum keeps the list and takes the counts from count-only diffs', async () => {
      const { client, first } = await connected({ roomOptions: { presence: true } });
      const lobby = client.rooms.get('lobby')!;
      first.frame({ type: 'presence', room: 'lobby', members: [member('u1', 'al')], users: 500, connections: 600, truncated: true });
      first.frame({ type: 'presence_diff', room: 'lobby', users: 501, connections: 601 });
      expect(lobby.presence).to.deep.equal({ room: 'lobby', members: [member('u1', 'al')], users: 501, connections: 601, truncated: true });
    });

    it('sorts by name, then user, in code units, as the server does', async () => {
      const { client, first } = await connected({ roomOptions: { presence: true } });
      const given = [member('u2', 'b'), member('u9', 'a'), member('u1', 'b'), member('u3', 'B'), member('u0', 'c'), member('u5', 'a')];
      first.frame({ type: 'presence', room: 'lobby', members: given, users: 6, connections: 6 });
      expect(client.rooms.get('lobby')!.presence!.members.map((m) => `${m.name}/${m.user}`)).to.deep.equal(['B/u3', 'a/u5', 'a/u9', 'b/u1', 'b/u2', 'c/u0']);
    });

    it('presence of rooms not wanted is ignored', async () => {
      const { client, first } = await connected({ roomOptions: { presence: true } });
      let told = 0;
      client.on('presence', () => told++);
      first.frame({ type: 'presence', room: 'elsewhere', members: [], users: 0, connections: 0 });
      first.frame({ type: 'presence_diff', room: 'elsewhere', joins: [], leaves: [], users: 0, connections: 0 });
      expect(told).to.equal(0);
    });

    it('diffs before a full frame, and presence of a room not asked for, change nothing', async () => {
      const { client, first } = await connected();
      let told = 0;
      client.on('presence', () => told++);
      first.frame({ type: 'presence_diff', room: 'lobby', joins: [{ user: 'u2', name: 'b' }], leaves: [], users: 1, connections: 1 });
      first.frame({ type: 'presence', room: 'lobby', members: [], users: 0, connections: 0 });
      expect(client.rooms.get('lobby')!.presence).to.equal(undefined);
      expect(told).to.equal(0);
    });

    it('presence() asks the server and resolves with its answer; offline it fails at once', async () => {
      const { client, first } = await connected();
      const asked = client.presence('lobby');
      const frame = first.sentOf('presence')[0]!;
      expect(frame).to.include({ type: 'presence', room: 'lobby' });
      first.frame({ type: 'presence', room: 'lobby', members: [member('u1', 'al')], users: 1, connections: 1, id: frame.id });
      expect(await asked).to.deep.equal({ room: 'lobby', members: [member('u1', 'al')], users: 1, connections: 1, truncated: false });
      expect(await settled(client.presence('nowhere'))).to.have.nested.property('error.code', 'not_joined');
      expect(await settled(client.presence('nowhere'))).to.have.nested.property('error.message', 'not in nowhere: join it first');
      const offline = setup();
      expect(await settled(offline.client.presence('lobby'))).to.have.nested.property('error.code', 'offline');
      expect(await settled(offline.client.presence('lobby'))).to.have.nested.property('error.message', 'not connected');
    });
  });

  describe('requests, heartbeats and tokens', () => {
    it('a request fails with the server\'s error for its id, or with timeout, or with closed when the socket goes', async () => {
      const { client, first } = await connected({ timeoutMs: 30 });
      const errors = errorsOf(client);
      const refused = settled(client.presence('lobby'));
      first.frame({ type: 'error', code: 'bad_request', message: 'no', id: first.sentOf('presence')[0]!.id });
      expect(await refused).to.have.nested.property('error.code', 'bad_request');
      expect(errors, 'an answered request is not also an error event').to.deep.equal([]);
      expect(await settled(client.ping())).to.have.nested.property('error.message', 'no answer to ping within 30 ms');
      const cut = settled(client.ping());
      first.drop(1006);
      expect(await cut).to.have.nested.property('error.code', 'closed');
      expect(await cut).to.have.nested.property('error.message', 'the connection closed before the answer came');
    });

    it('an error that answers nothing of ours is told as an error event, and leaves every room as it was', async () => {
      const { client, first } = await connected();
      const dev = client.join('dev');
      first.frame({ type: 'joined', room: 'dev', id: first.sentOf('join')[0]!.id });
      client.join('ops'); // its join pending
      const errors = errorsOf(client);
      first.frame({ type: 'error', code: 'bad_request', message: 'plain text' });
      first.frame({ type: 'error', code: 'rate_limited', message: 'slow down', id: 'not-ours' });
      expect(errors.map((e) => [e.code, e.message, e.retryable])).to.deep.equal([['bad_request', 'plain text', false], ['rate_limited', 'slow down', true]]);
      expect([...client.rooms.keys()]).to.deep.equal(['lobby', 'dev', 'ops']);
      expect(dev.state).to.equal('joined');
    });

    it('WarrenError: a named Error, retryable for what a retry can fix', () => {
      const retryable = ['unavailable', 'rate_limited', 'timeout', 'closed', 'offline'];
      for (const code of [...retryable, 'too_large', 'forbidden', 'not_joined', 'bad_request', 'unauthorized', 'token']) {
        const error = new WarrenError(code, 'm');
        expect(error).to.be.instanceOf(Error);
        expect([error.name, error.code, error.message, error.retryable]).to.deep.equal(['WarrenError', code, 'm', retryable.includes(code)]);
      }
    });

    it('pings every heartbeatMs and tells the round trip', async () => {
      const { client, first } = await connected({ heartbeatMs: 10 });
      const latencies: number[] = [];
      client.on('latency', (ms) => latencies.push(ms));
      const now = performance.now;
      let clock = 1000;
      performance.now = () => clock;
      try {
        for (let n = 1; n <= 2; n++) {
          await until(`ping ${n}`, () => first.sentOf('ping').length, (length) => length === n);
          clock += 7 * n;
          first.frame({ type: 'pong', id: first.sentOf('ping')[n - 1]!.id });
          await tick();
        }
      } finally {
        performance.now = now;
      }
      expect(latencies).to.deep.equal([7, 14]);
    });

    it('sends no heartbeat with heartbeatMs 0', async () => {
      const { first } = await connected({ heartbeatMs: 0 });
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(first.sentOf('ping')).to.deep.equal([]);
    });

    it('after a reconnect keeps one heartbeat, not one per socket it had', async () => {
      const heartbeatMs = 15;
      const { first, socket } = await connected({ heartbeatMs });
      const answer = (s: StandInSocket) => setInterval(() => {
        for (const ping of s.sentOf('ping').slice(answered.get(s) ?? 0)) s.frame({ type: 'pong', id: ping.id });
        answered.set(s, s.sentOf('ping').length);
      }, 1);
      const answered = new Map<StandInSocket, number>();
      const answering = [answer(first)];
      try {
        await until('a heartbeat answered', () => answered.get(first) ?? 0, (n) => n >= 1);
        first.drop(1006);
        const second = await socket(2);
        const welcomedAt = Date.now();
        second.welcome();
        answering.push(answer(second));
        await new Promise((resolve) => setTimeout(resolve, 8 * heartbeatMs));
        // Timers never fire early: one chain sends at most one ping per heartbeatMs.
        expect(second.sentOf('ping').length).to.be.at.most(Math.floor((Date.now() - welcomedAt) / heartbeatMs) + 1);
      } finally {
        for (const timer of answering) clearInterval(timer);
      }
    });

    it('drops the socket and reconnects when a heartbeat gets no pong within timeoutMs', async () => {
      const { first, socket } = await connected({ heartbeatMs: 10, timeoutMs: 20 });
      await socket(2);
      expect(first.sentOf('ping')).to.have.length(1);
      expect(first.closedBy).to.deep.equal({ code: 1000, reason: 'heartbeat timed out' });
    });

    it('a heartbeat cut short by a close does not drop the next socket', async () => {
      const { first, socket, states } = await connected({ heartbeatMs: 10, timeoutMs: 1_000 });
      await until('a ping', () => first.sentOf('ping').length, (n) => n === 1);
      first.drop(1006);
      const second = await socket(2);
      second.welcome();
      await tick();
      expect(second.closedBy).to.equal(undefined);
      expect(states.at(-1)).to.include({ state: 'open' });
    });

    it('on token_expiring sends a refresh with a token from getToken', async () => {
      const tokens = ['first', 'second'];
      const { client, first: s } = await connected({ getToken: () => tokens.shift()!, timeoutMs: 300 });
      const errors = errorsOf(client);
      s.frame({ type: 'token_expiring', exp: 123 });
      const refresh = await until('a refresh', () => s.sentOf('refresh'), (sent) => sent.length === 1);
      expect(refresh[0]).to.include({ type: 'refresh', token: 'second' });
      s.frame({ type: 'refreshed', exp: 456, id: refresh[0]!.id });
      await new Promise((resolve) => setTimeout(resolve, 350)); // past timeoutMs: the refresh was answered
      expect(errors).to.deep.equal([]);
      s.frame({ type: 'token_expiring', exp: 456 });
      await until('a second refresh', () => s.sentOf('refresh').length, (n) => n === 2);
      s.frame({ type: 'error', code: 'unauthorized', message: 'expired', id: s.sentOf('refresh')[1]!.id });
      await until('the refusal told', () => errors.length, (n) => n === 1);
      expect(errors[0]).to.include({ code: 'unauthorized' });
    });

    it('on token_expiring without getToken says it cannot renew', async () => {
      const { client, first } = await connected();
      const errors = errorsOf(client);
      first.frame({ type: 'token_expiring', exp: 1 });
      expect(errors.map((e) => [e.code, e.message])).to.deep.equal([['token', 'the token is expiring and there is no getToken to renew it']]);
      expect(first.sentOf('refresh')).to.deep.equal([]);
    });

    it('on token_expiring with a getToken that fails says so, and sends no refresh', async () => {
      let calls = 0;
      const { client, first: s } = await connected({ getToken: () => { if (++calls > 1) throw new Error('idp down'); return 'tok'; } });
      const errors = errorsOf(client);
      s.frame({ type: 'token_expiring', exp: 1 });
      await until('the failure told', () => errors.length, (n) => n === 1);
      expect(errors[0]).to.include({ code: 'token', message: 'getToken failed: idp down' });
      expect(s.sentOf('refresh')).to.deep.equal([]);
    });

    it('ignores frames it cannot read or does not know', async () => {
      const { client, first } = await connected();
      const told: unknown[] = [];
      for (const event of ['message', 'error', 'presence', 'gap'] as const) client.on(event, (x: unknown) => told.push(x));
      first.onmessage?.({ data: 'not json' });
      first.onmessage?.({ data: 'null' });
      first.onmessage?.({ data: Buffer.from('binary') });
      first.frame({ type: 'something_new' });
      expect(told).to.deep.equal([]);
      expect(client.state).to.equal('open');
    });
  });

  describe('close and rename', () => {
    it('close() closes with 1000, fails what is pending with closed, and does not reconnect; connect() starts again', async () => {
      const { client, first, states, server, socket } = await connected();
      const said = settled(client.say('lobby', 'x'));
      client.close();
      expect(await said).to.have.nested.property('error.message', 'the client was closed');
      expect(first.closedBy).to.deep.equal({ code: 1000, reason: 'bye' });
      expect(states.at(-1)).to.deep.equal({ state: 'closed', code: 1000, reason: 'bye' });
      const outcome = await said;
      expect(outcome).to.have.nested.property('error.code', 'closed');
      expect((outcome as { error: WarrenError }).error.retryable).to.equal(true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(server.sockets).to.have.length(1);
      client.connect();
      expect((await socket(2)).url.searchParams.get('room')).to.equal('lobby');
    });

    it('close() of a client never connected tells nothing', () => {
      const { client, states } = setup();
      client.close();
      expect(states).to.deep.equal([]);
    });

    it('close() from a listener of the welcome leaves the client closed, without an error', async () => {
      const { client, socket, states } = setup();
      client.join('dev');
      void client.say('dev', 'queued');
      client.on('welcome', () => client.close());
      client.connect();
      (await socket(1)).welcome();
      expect(states.at(-1)).to.include({ state: 'closed', code: 1000 });
    });

    it('close() while waiting out the backoff, or while getToken is pending, opens nothing more', async () => {
      const retrying = await connected({ backoff: { baseMs: 50, maxMs: 50 } });
      retrying.first.drop(1006);
      retrying.client.close();
      let release: (token: string) => void = () => undefined;
      const releases: Array<(token: string) => void> = [];
      const fetching = setup({ getToken: () => new Promise<string>((resolve) => releases.push(resolve)) });
      fetching.client.connect();
      fetching.client.close();
      fetching.client.connect(); // a second attempt, whose token comes after the first's
      for (const release of releases) release('late');
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(retrying.server.sockets).to.have.length(1);
      expect(fetching.server.sockets, 'only the attempt after the close').to.have.length(1);
    });

    it('rename() reconnects at once under the new name, keeping rooms and pending says', async () => {
      const { client, first, socket } = await connected({ name: 'ann' });
      client.join('dev');
      const said = client.say('dev', 'still here');
      client.rename('anna');
      expect(first.closedBy).to.deep.equal({ code: 1000, reason: 'rename' });
      const second = await socket(2);
      expect(second.url.searchParams.get('name')).to.equal('anna');
      second.welcome();
      expect(second.sent.map((f) => `${f.type} ${f.room}`)).to.deep.equal(['join dev', 'say dev']);
      second.frame({ type: 'ack', id: second.sentOf('say')[0]!.id, msgId: 'M' });
      expect((await said).msgId).to.equal('M');
    });

    it('rename() of a client not connecting opens nothing; while it waits out the backoff, it opens at once', async () => {
      const idle = setup();
      idle.client.rename('x');
      await tick();
      expect(idle.server.sockets).to.have.length(0);
      const { client, first, socket } = await connected({ backoff: { baseMs: 60_000, maxMs: 60_000 } });
      first.drop(1006);
      client.rename('y');
      expect((await socket(2)).url.searchParams.get('name')).to.equal('y');
    });
  });

  describe('listeners', () => {
    it('several per event, each removed by the function on() returned', async () => {
      const { client, first } = await connected();
      const told: string[] = [];
      const offA = client.on('message', (m) => told.push(`a ${m.text}`));
      client.on('message', (m) => told.push(`b ${m.text}`));
      const offRoom = client.rooms.get('lobby')!.on('message', (m) => told.push(`room ${m.text}`));
      first.frame({ type: 'message', room: 'lobby', msgId: 'm1', pos: 'P1', from: 'x', user: 'x', text: '1', ts: 1 });
      offA();
      offRoom();
      first.frame({ type: 'message', room: 'lobby', msgId: 'm2', pos: 'P2', from: 'x', user: 'x', text: '2', ts: 1 });
      expect(told).to.deep.equal(['room 1', 'a 1', 'b 1', 'b 2']);
    });

    it('one that throws does not stop the next one or the client; its error is thrown again out of band', async () => {
      const { client, first } = await connected();
      const mochas = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      const thrown: unknown[] = [];
      process.on('uncaughtException', (error) => thrown.push(error));
      try {
        const told: string[] = [];
        client.on('message', () => { throw new Error('listener bug'); });
        client.on('message', (m) => told.push(m.text));
        first.frame({ type: 'message', room: 'lobby', msgId: 'm1', pos: 'P1', from: 'x', user: 'x', text: 'still told', ts: 1 });
        expect(told).to.deep.equal(['still told']);
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(thrown.map((e) => (e as Error).message)).to.deep.equal(['listener bug']);
      } finally {
        process.removeAllListeners('uncaughtException');
        for (const listener of mochas) process.on('uncaughtException', listener);
      }
    });
  });
});
