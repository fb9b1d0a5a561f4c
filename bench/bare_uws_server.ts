/**
 * The baseline: a bare uWebSockets.js server fanning out with its native
 * pub/sub (`ws.subscribe` / `app.publish`), the practical limit of the
 * stack. It speaks the protocol subset the load generator uses: `welcome` on
 * open, and for each `say` one JSON encode of the message frame, one
 * `app.publish` to the room (the sender included, as in warren) and an `ack`
 * to the sender. No broker, no actors, no rate limit, no authentication.
 *
 * For the presence run (presence.ts) a minimal presence of its own: a
 * `join` with `presence: true` subscribes the socket to the room, adds it to
 * the room's members (a Map) and answers with a `presence` frame of
 * warren's shape listing the first MAX_LISTED members; at most every
 * WINDOW_MS a changed room gets a counts-only `presence_diff` through
 * `app.publish`. A `leave` undoes the join. `/metrics` gives its CPU as
 * prom-client names it, so that both servers are read the same way.
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
  session?: string;
}

interface Frame {
  readonly type?: unknown;
  readonly text?: unknown;
  readonly room?: unknown;
  readonly id?: unknown;
}

/** One room's presence: its members by session, and when it may next send a diff. */
interface PresenceRoom {
  readonly members: Map<string, { readonly user: string; readonly name: string }>;
  lastDiffAt: number;
  timer?: NodeJS.Timeout;
}

// As warren's defaults (PROTOCOL.md "Presence").
const MAX_LISTED = 100;
const WINDOW_MS = 250;

const node = `bare-${randomBytes(4).toString('hex')}`;
let sessions = 0;
let published = 0;
const presence = new Map<string, PresenceRoom>();

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
    const member = ws.getUserData();
    member.session = `${node}-${++sessions}`;
    ws.subscribe(member.room);
    ws.send(JSON.stringify({ type: 'welcome', protocol: 2, session: member.session, user: `anon:${member.session}`, name: member.name, rooms: [member.room], node }));
  },
  message(ws, data) {
    const { name, room, session } = ws.getUserData();
    const frame = JSON.parse(Buffer.from(data).toString()) as Frame;
    if ((frame.type === 'join' || frame.type === 'leave') && typeof frame.room === 'string') {
      const members = roomOf(frame.room).members;
      if (frame.type === 'join') {
        ws.subscribe(frame.room);
        members.set(session!, { user: `anon:${session}`, name });
        ws.send(JSON.stringify({ type: 'joined', room: frame.room, id: frame.id }));
        ws.send(presenceFrame(frame.room, members));
      } else {
        ws.unsubscribe(frame.room);
        members.delete(session!);
        ws.send(JSON.stringify({ type: 'left', room: frame.room, id: frame.id }));
      }
      changed(frame.room);
      return;
    }
    if (frame.type !== 'say' || typeof frame.text !== 'string') {
      ws.send(JSON.stringify({ type: 'error', code: 'bad_request', message: 'the baseline only takes say, join and leave frames', id: frame.id }));
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
app.get('/metrics', (res) => {
  const { user, system } = process.cpuUsage();
  res.end(`process_cpu_user_seconds_total ${user / 1e6}\nprocess_cpu_system_seconds_total ${system / 1e6}\n`);
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

function roomOf(room: string): PresenceRoom {
  let state = presence.get(room);
  if (!state) presence.set(room, (state = { members: new Map(), lastDiffAt: 0 }));
  return state;
}

function presenceFrame(room: string, members: PresenceRoom['members']): string {
  const listed = [];
  for (const member of members.values()) {
    if (listed.length === MAX_LISTED) break;
    listed.push({ ...member, connections: 1 });
  }
  const truncated = members.size > MAX_LISTED || undefined;
  return JSON.stringify({ type: 'presence', room, members: listed, users: members.size, connections: members.size, truncated });
}

/** The room's next diff, WINDOW_MS after its last at the soonest. */
function changed(room: string): void {
  const state = roomOf(room);
  if (state.timer) return;
  state.timer = setTimeout(() => {
    state.timer = undefined;
    state.lastDiffAt = Date.now();
    const { size } = state.members;
    app.publish(room, JSON.stringify({ type: 'presence_diff', room, users: size, connections: size }));
  }, Math.max(0, state.lastDiffAt + WINDOW_MS - Date.now()));
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
