/**
 * Every row of PROTOCOL.md's tables, against the daemon as users run it
 * (a child process, real sockets), on each broker.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { CLIENT_DIR } from '../../lib/paths';
import { BROKERS } from '../support/brokers';
import { ChatClient } from '../support/client';
import { until } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';
import { RawWebSocket, closeFrame, textFrame } from '../support/raw_websocket';

for (const broker of BROKERS) {
  describe(`the wire protocol, on the ${broker.name}`, function () {
    this.timeout(30_000);
    const daemon = useDaemon(broker);
    const connect = (query = '') => ChatClient.connect(daemon().wsUrl(query));

    describe('connecting', () => {
      it('welcomes with the protocol version, a session, the user, the name, the rooms and the node', async () => {
        const client = await connect('name=alice&room=dev');
        expect(client.welcome).to.include({ type: 'welcome', protocol: 2, name: 'alice' });
        expect(client.welcome['user'], 'user without authentication').to.equal(`anon:${client.welcome['session']}`);
        expect(client.welcome['rooms']).to.deep.equal(['dev']);
        expect(client.welcome['session']).to.be.a('string').and.not.be.empty;
        expect(client.welcome['node']).to.be.a('string').and.not.be.empty;
        expect((await connect()).welcome['session']).not.to.equal(client.welcome['session']);
      });

      it('names an anonymous client anon-XXXX and puts it in the lobby', async () => {
        const client = await connect('name=%20%20');
        expect(client.welcome['name']).to.match(/^anon-[0-9a-f]{4}$/);
        expect(client.welcome['rooms']).to.deep.equal(['lobby']);
      });

      it('trims the name and removes its control characters', async () => {
        expect((await connect('name=%20bo%07b%20')).welcome['name']).to.equal('bob');
      });

      for (const [query, reason] of [
        ['name=' + 'x'.repeat(33), /name/],
        ['room=-bad', /room/],
        ['room=' + 'r'.repeat(65), /room/],
        ['since=' + 'p'.repeat(65), /^since: /],
        ['since=a%20b', /^since: /],
        ['client=tooShort', /^client: /],
        ['client=' + 'k'.repeat(15) + '%2B', /^client: /],
      ] as const) {
        it(`refuses ${query.slice(0, 20)}... before the upgrade: HTTP 400 with a one-line reason`, async () => {
          const response = await upgradeResponse(daemon().wsUrl(query));
          expect(response.status).to.equal(400);
          expect(response.body).to.match(reason);
          expect(response.body).to.match(/^[^\n]+\n?$/, 'one line');
        });
      }

      it('sends welcome first when connecting with since, also to a client that sends a frame before it came', async () => {
        const talker = await connect('name=talker&room=eager');
        talker.send({ type: 'say', text: 'seen', id: 's' });
        const seen = await talker.next('message', { text: 'seen' });
        talker.send({ type: 'say', text: 'missed', id: 'm' });
        await talker.next('message', { text: 'missed' });
        const path = (name: string) => `/websocket?name=${name}&room=eager&since=${String(seen['pos'])}`;
        // Upgraded together with it, and before it: their recoveries, queued in the
        // relay ahead of the eager one's, keep its welcome waiting a while.
        const others = await Promise.all(Array.from({ length: 20 }, () => RawWebSocket.connect(daemon().port)));
        const eager = await RawWebSocket.connect(daemon().port);
        others.forEach((other, i) => other.upgrade(path(`other${i}`)));
        eager.upgrade(path('eager'));
        await eager.opened;
        eager.send(textFrame(JSON.stringify({ type: 'ping', id: 'early' })));
        const answers = await until('a welcome, the replay and a pong', () => eager.messages, (messages) => messages.length >= 3);
        expect(answers[0]).to.include({ type: 'welcome', recovered: true });
        expect(answers.slice(1).map((frame) => frame['type'])).to.have.members(['message', 'pong']);
        expect(answers.find((frame) => frame['type'] === 'message')).to.include({ text: 'missed', replay: true });
        for (const client of [...others, eager]) client.send(closeFrame(1000));
        await Promise.all([...others, eager].map((client) => client.ended));
      });
    });

    describe('say', () => {
      it('acks once confirmed, with the msgId every member receives, the sender included', async () => {
        const alice = await connect('name=alice&room=say1');
        const bob = await connect('name=bob&room=say1');
        alice.send({ type: 'say', text: 'hi <b>bob</b>', room: 'say1', id: 'c1' });
        const ack = await alice.next('ack', { id: 'c1' });
        const expected = { room: 'say1', msgId: ack['msgId'], from: 'alice', text: 'hi <b>bob</b>' };
        const seenByBob = await bob.next('message', expected);
        await alice.next('message', expected);
        expect(seenByBob['ts']).to.be.a('number').within(Date.now() - 60_000, Date.now());
      });

      it('goes to the room given at connect when it names none', async () => {
        const client = await connect('room=home');
        client.send({ type: 'say', text: 'here', id: 'h' });
        await client.next('ack', { id: 'h' });
        await client.next('message', { room: 'home', text: 'here' });
      });

      it('keeps a connection\'s messages, and its acks, in the order it sent them', async () => {
        const sender = await connect('name=ordered&room=order');
        const reader = await connect('room=order');
        const texts = Array.from({ length: 100 }, (_, i) => `m${i}`);
        texts.forEach((text, i) => sender.send({ type: 'say', text, id: `o${i}` }));
        const acks = await sender.collect('ack', 100);
        expect(acks.map((ack) => ack['id'])).to.deep.equal(texts.map((_, i) => `o${i}`));
        const messages = await reader.collect('message', 100);
        expect(messages.map((m) => m['text'])).to.deep.equal(texts);
        expect(messages.map((m) => m['msgId'])).to.deep.equal(acks.map((ack) => ack['msgId']));
      });

      it('takes any other text frame as the plain-text shortcut: a say without ack', async () => {
        const client = await connect('room=plain');
        for (const text of ['hello everyone', '{"text":"x"}', '[1,2]']) client.send(text);
        const messages = await client.collect('message', 3);
        expect(messages.map((m) => m['text'])).to.deep.equal(['hello everyone', '{"text":"x"}', '[1,2]']);
        client.send({ type: 'ping', id: 'after' });
        await client.next('pong', { id: 'after' });
        expect(client.frames.filter((f) => f.type === 'ack')).to.be.empty;
      });

      it('answers not_joined for a room the connection has not joined', async () => {
        const client = await connect();
        client.send({ type: 'say', text: 'x', room: 'elsewhere', id: 'nj' });
        await client.next('error', { code: 'not_joined', id: 'nj' });
      });

      it('answers too_large over 4000 characters, counted in code points, and bad_request for an empty text', async () => {
        const client = await connect('room=sizes');
        client.send({ type: 'say', text: '😀'.repeat(4000), id: 'max' });
        await client.next('ack', { id: 'max' });
        client.send({ type: 'say', text: 'a'.repeat(4001), id: 'big' });
        await client.next('error', { code: 'too_large', id: 'big' });
        // The shortcut's error carries no id: only frames after this send may answer it.
        const shortcutSent = client.frames.length;
        client.send('a'.repeat(4001));
        await client.next('error', { code: 'too_large' }, 5_000, shortcutSent);
        client.send({ type: 'say', text: '', id: 'empty' });
        await client.next('error', { code: 'bad_request', id: 'empty' });
      });
    });

    describe('join and leave', () => {
      it('joins (also when already joined), receives the room, leaves (also when not joined), and stops receiving', async () => {
        const client = await connect();
        const talker = await connect('room=jl');
        client.send({ type: 'join', room: 'jl', id: 'j1' });
        await client.next('joined', { room: 'jl', id: 'j1' });
        client.send({ type: 'join', room: 'jl', id: 'j2' });
        await client.next('joined', { room: 'jl', id: 'j2' });
        talker.send({ type: 'say', text: 'one', id: 'a' });
        await client.next('message', { room: 'jl', text: 'one' });
        client.send({ type: 'leave', room: 'jl', id: 'l1' });
        await client.next('left', { room: 'jl', id: 'l1' });
        client.send({ type: 'leave', room: 'jl', id: 'l2' });
        await client.next('left', { room: 'jl', id: 'l2' });
        talker.send({ type: 'say', text: 'two', id: 'b' });
        await talker.next('message', { text: 'two' });
        client.send({ type: 'ping', id: 'sync' });
        await client.next('pong', { id: 'sync' });
        expect(client.frames.filter((f) => f.type === 'message' && f['text'] === 'two')).to.be.empty;
      });

      it('answers too_many_rooms past 32 rooms, the room given at connect included', async () => {
        const client = await connect('room=r0');
        for (let i = 1; i < 32; i++) client.send({ type: 'join', room: `r${i}` });
        await client.collect('joined', 31);
        client.send({ type: 'join', room: 'r32', id: 'over' });
        await client.next('error', { code: 'too_many_rooms', id: 'over' });
      });

      it('answers bad_request for a bad room name', async () => {
        const client = await connect();
        client.send({ type: 'join', room: '.dots', id: 'bad' });
        await client.next('error', { code: 'bad_request', id: 'bad' });
      });

      it('answers bad_request for a join with a bad since, with its id, and does not join', async () => {
        const client = await connect();
        client.send({ type: 'join', room: 'since', since: 'not a position', id: 'spaces' });
        await client.next('error', { code: 'bad_request', id: 'spaces' });
        client.send({ type: 'join', room: 'since', since: 42, id: 'number' });
        await client.next('error', { code: 'bad_request', id: 'number' });
        client.send({ type: 'say', room: 'since', text: 'x', id: 'nj' });
        await client.next('error', { code: 'not_joined', id: 'nj' });
      });
    });

    describe('ping, and malformed commands', () => {
      it('answers ping with pong, echoing the id when there is one', async () => {
        const client = await connect();
        client.send({ type: 'ping', id: 'p1' });
        await client.next('pong', { id: 'p1' });
        client.send({ type: 'ping' });
        const pong = await client.next('pong', {}, 5_000, client.frames.length);
        expect(pong).not.to.have.property('id');
      });

      it('answers bad_request for an unknown type or a mistyped field, and drops the frame', async () => {
        const client = await connect();
        client.send({ type: 'dance', id: 'd' });
        await client.next('error', { code: 'bad_request', id: 'd' });
        client.send({ type: 'say', text: 42, id: 'n' });
        await client.next('error', { code: 'bad_request', id: 'n' });
      });

      it('answers a refresh with bad_request when authentication is off: there is no token to replace', async () => {
        const client = await connect();
        client.send({ type: 'refresh', token: 'a.b.c', id: 'r' });
        expect(await client.next('error', { id: 'r' })).to.include({ code: 'bad_request', message: 'refresh: authentication is off on this server' });
      });
    });

    describe('rate limit', () => {
      it('answers rate_limited beyond the burst, and closes with 1008 when a client keeps at it', async () => {
        const client = await connect();
        for (let i = 0; i < 400; i++) client.send({ type: 'ping', id: `f${i}` });
        await client.next('error', { code: 'rate_limited' });
        const { code } = await client.closed;
        expect(code).to.equal(1008);
        expect(client.frames.filter((f) => f.type === 'pong').length).to.be.within(200, 260);
      });
    });

    describe('closing', () => {
      it('closes with 1003 on a binary frame', async () => {
        const client = await connect();
        client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
        expect((await client.closed).code).to.equal(1003);
      });

      it('closes with 1009 on a frame over the maximum payload (64 KiB)', async () => {
        const client = await connect();
        client.send('x'.repeat(64 * 1024 + 1));
        expect((await client.closed).code).to.equal(1009);
      });

      it('closes normally (1000) when the client does', async () => {
        const client = await connect();
        await client.close();
        expect((await client.closed).code).to.equal(1000);
      });
    });

    describe('HTTP on the public port', () => {
      it('serves the chat page at /', async () => {
        const response = await fetch(daemon().url('/'));
        expect(response.status).to.equal(200);
        expect(response.headers.get('content-type')).to.include('text/html');
        expect(await response.text()).to.include('<html');
      });

      it('serves the client library as /warren.mjs, a JavaScript module, and not its types', async () => {
        const library = await fetch(daemon().url('/warren.mjs'));
        expect(library.status).to.equal(200);
        expect(library.headers.get('content-type')).to.equal('text/javascript; charset=utf-8');
        expect(await library.text()).to.equal(readFileSync(join(CLIENT_DIR, 'warren.mjs'), 'utf8'));
        expect((await fetch(daemon().url('/warren.d.mts'))).status).to.equal(404);
      });

      it('answers /healthz with 200 {"status":"ok"} and /readyz with 200 ready', async () => {
        expect(await (await fetch(daemon().url('/healthz'))).json()).to.deep.equal({ status: 'ok' });
        const ready = await fetch(daemon().url('/readyz'));
        expect(ready.status).to.equal(200);
        expect(await ready.json()).to.include({ status: 'ready', broker: 'connected', uws: 'native' });
      });
    });
  });
}

/** The HTTP answer to a websocket upgrade that the server refuses. */
function upgradeResponse(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => undefined);
  });
}
