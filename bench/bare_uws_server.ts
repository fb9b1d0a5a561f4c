/**
 * The baseline: a bare uWebSockets.js server fanning out with its native
 * pub/sub (`ws.subscribe` / `app.publish`), the practical limit of the
 * stack. It speaks the protocol subset the load generator uses: `welcome` on
 * open, and for each `say` one JSON encode of the message frame, one
 * `app.publish` to the room (the sender included, as in warren) and an `ack`
 * to the sender. No broker, no actors, no rate limit, no authentication.
 *
 * Run by the bench as a child process, so that its CPU and memory are read
 * from /proc exactly like the daemon's:
 *   HOST=127.0.0.1 PORT=0 node --import tsx bench/bare_uws_server.ts
 * It prints one JSON line with the port it bound, as the daemon does.
 */
import { randomBytes } from 'node:crypto';
import { uWS, uwsRuntime } from '../lib/uws';
import { selectedProtocol } from './subprotocol';

interface Member {
  readonly name: string;
  readonly room: string;
}

interface Say {
  readonly type?: unknown;
  readonly text?: unknown;
  readonly id?: unknown;
}

const node = `bare-${randomBytes(4).toString('hex')}`;
let sessions = 0;
let published = 0;

const app = uWS.App();
app.ws<Member>('/websocket', {
  // Far above anything a bench run buffers: the baseline must never drop.
  maxBackpressure: 256 * 1024 * 1024,
  upgrade(res, req, context) {
    const member: Member = { name: req.getQuery('name') || `anon-${sessions}`, room: req.getQuery('room') || 'lobby' };
    // With --auth the clients also offer a token, which the baseline neither
    // verifies nor echoes: handed the whole header, uWS selects the first
    // protocol offered, which may be the token.
    res.upgrade(member, req.getHeader('sec-websocket-key'), selectedProtocol(req.getHeader('sec-websocket-protocol')), req.getHeader('sec-websocket-extensions'), context);
  },
  open(ws) {
    const { name, room } = ws.getUserData();
    ws.subscribe(room);
    ws.send(JSON.stringify({ type: 'welcome', protocol: 2, session: `${node}-${++sessions}`, user: `anon:${node}-${sessions}`, name, rooms: [room], node }));
  },
  message(ws, data) {
    const { name, room } = ws.getUserData();
    const frame = JSON.parse(Buffer.from(data).toString()) as Say;
    if (frame.type !== 'say' || typeof frame.text !== 'string') {
      ws.send(JSON.stringify({ type: 'error', code: 'bad_request', message: 'the baseline only takes say frames', id: frame.id }));
      return;
    }
    const msgId = `${node}-${++published}`;
    app.publish(room, JSON.stringify({ type: 'message', room, msgId, from: name, text: frame.text, ts: Date.now() }));
    ws.send(JSON.stringify({ type: 'ack', id: frame.id, msgId }));
  },
});
app.get('/readyz', (res) => {
  res.writeHeader('Content-Type', 'application/json').end('{"status":"ready"}');
});
// Heap figures for the idle-connections report (the daemon's come from /metrics).
app.get('/memory', (res) => {
  res.writeHeader('Content-Type', 'application/json').end(JSON.stringify(process.memoryUsage()));
});
app.listen(process.env.HOST ?? '127.0.0.1', Number(process.env.PORT ?? 0), (listenSocket) => {
  if (!listenSocket) {
    process.stderr.write('bare uWS: cannot listen\n');
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ msg: 'bare uWS listening', port: uWS.us_socket_local_port(listenSocket), uws: uwsRuntime })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
