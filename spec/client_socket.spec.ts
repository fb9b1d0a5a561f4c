/**
 * ClientSocket keeps a socket's events until its connection process attaches,
 * then hands them over in order: a client may send frames (or close) the
 * moment it has its 101, while connection_sup is still starting its process.
 */
import { expect } from 'chai';
import type { WebSocket } from 'uWebSockets.js';
import { ClientSocket, type SocketEvent } from '../lib/client_socket';
import { stop, type Warren } from '../lib/warren_app';
import { eventually, until } from './support/eventually';
import { childOf, startWarren } from './support/in_process';
import { RawWebSocket, closeFrame, textFrame } from './support/raw_websocket';
import { startRecorder } from './support/recorder';
import { useSystem } from './support/system';

/** uWS's WebSocket as far as ClientSocket uses it; like uWS, it throws once closed. */
function standInWebSocket() {
  const calls: string[] = [];
  let closed = false;
  const use = (what: string) => {
    if (closed) throw new Error('Invalid access of closed uWS.WebSocket/SSLWebSocket.');
    calls.push(what);
  };
  const ws = {
    cork: (write: () => void) => (use('cork'), write()),
    send: () => (use('send'), 1),
    getBufferedAmount: () => (use('getBufferedAmount'), 0),
    end: (code: number) => (use(`end:${code}`), (closed = true)),
  };
  return { ws: ws as unknown as WebSocket<unknown>, calls, closeByClient: () => (closed = true) };
}

describe('ClientSocket', () => {
  const system = useSystem();
  const frame = (text: string): SocketEvent => ({ type: 'frame', text });

  it('hands the events from before attach to its owner first, in order, then the later ones', async () => {
    const socket = new ClientSocket(standInWebSocket().ws, '127.0.0.1', 1024);
    const early: SocketEvent[] = [frame('one'), frame('two'), { type: 'binary' }, { type: 'oversized', bytes: 99 }, frame('three')];
    for (const event of early) socket.notify(event);
    const owner = await startRecorder(system.link('connection'));
    socket.attach(owner.ref);
    socket.notify(frame('four'));
    await eventually(() => expect(owner.log).to.deep.equal([...early, frame('four')]));
  });

  it('after a close before attach, writes nothing and hands the close over last', async () => {
    const { ws, calls, closeByClient } = standInWebSocket();
    const socket = new ClientSocket(ws, '127.0.0.1', 1024);
    socket.notify(frame('last words'));
    closeByClient();
    socket.notify({ type: 'closed', code: 1000 });
    expect(socket.isOpen).to.equal(false);
    expect(socket.write(['welcome'])).to.equal(0);
    socket.close('shutdown');
    expect(calls).to.deep.equal([]);
    const owner = await startRecorder(system.link('connection'));
    socket.attach(owner.ref);
    await eventually(() => expect(owner.log).to.deep.equal([frame('last words'), { type: 'closed', code: 1000 }]));
  });

  // In-process, so that the frames can be written in the very turn in which
  // uWS accepted the upgrade: the connection's init needs two more turns of
  // the event loop (its own start, then its consumer's), and uWS reads the
  // frames in the next one, before the connection can attach.
  describe('through the websocket endpoint, with frames written as the upgrade is accepted', function () {
    this.timeout(20_000);
    let warren: Warren;
    let port: number;
    beforeEach(async () => ({ warren, port } = await startWarren()));
    afterEach(() => stop(warren));

    async function openAndSend(query: string, ...frames: Buffer[]): Promise<RawWebSocket> {
      const accepted = warren.sockets.stats.accepted;
      const client = await RawWebSocket.open(port, `/websocket?${query}`);
      while (warren.sockets.stats.accepted === accepted) await new Promise((resolve) => setImmediate(resolve));
      client.send(...frames);
      return client;
    }
    const connections = () => childOf(warren, 'connection_sup').children;

    it('handles every frame, in order', async () => {
      const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];
      const client = await openAndSend(
        'name=eager&room=early',
        textFrame(JSON.stringify({ type: 'join', room: 'second', id: 'j' })),
        ...ids.map((id) => textFrame(JSON.stringify({ type: 'ping', id }))),
      );
      const answers = await until('a welcome, a joined and 5 pongs', () => client.messages, (messages) => messages.length >= 7);
      expect(answers.map((answer) => [answer['type'], answer['id']])).to.deep.equal([['welcome', undefined], ['joined', 'j'], ...ids.map((id) => ['pong', id])]);
    });

    it('ends the connection of a client that closed before it attached', async () => {
      const client = await openAndSend('name=hasty', textFrame(JSON.stringify({ type: 'ping', id: 'p' })), closeFrame(1000));
      await client.ended;
      await until('the connection to end', connections, (left) => left.length === 0);
    });
  });
});
