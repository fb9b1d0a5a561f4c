/**
 * A stand-in for the daemon's websocket side, for component specs of the
 * chat page: a `ws` server that speaks what the client library needs of
 * PROTOCOL.md (welcome, joined with recovered, message with pos and replay,
 * ack, presence, presence_diff, left, pong, error), with each room's log
 * kept in memory. Specs steer it through its fields and read what the page
 * sent in `urls` and `frames`.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveWeb, type WebServer } from './browser';
import { atExit } from './hooks';

export type Frame = Record<string, unknown>;

export interface StandInClient {
  readonly ws: WebSocket;
  readonly session: string;
  readonly user: string;
  readonly name: string;
  /** room -> whether it asked for presence there */
  readonly rooms: Map<string, boolean>;
}

interface Logged { readonly msgId: string; readonly pos: string; readonly from: string; readonly user: string; readonly text: string; readonly ts: number }

export class StandInDaemon {
  readonly urls: string[] = [];
  /** Each connection's Sec-WebSocket-Protocol header. */
  readonly protocols: string[] = [];
  readonly frames: Frame[] = [];
  clients: StandInClient[] = [];
  /** The next `say` is answered with an error of this code. */
  failNextSay: string | null = null;
  /** Says wait here, unanswered, while this is not null; `ackHeld` answers them. */
  heldSays: Array<{ readonly c: StandInClient; readonly id: string | undefined }> | null = null;
  /** Deliver a message to its sender before its ack. */
  deliverBeforeAck = false;
  /** Joins of these rooms are refused, as a token that does not grant them. */
  readonly forbidden = new Set<string>();
  /** Answer every `since` with `recovered: false` (the history lost what was missed). */
  lossy = false;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly logs = new Map<string, Logged[]>();
  private seq = 0;
  private sessions = 0;

  constructor() {
    this.wss.on('connection', (ws: WebSocket, req: IncomingMessage) => this.connected(ws, req));
  }

  /** For an http server's 'upgrade' event. */
  upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!req.url?.startsWith('/websocket')) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  };

  /** The last connection of a display name. */
  clientNamed(name: string): StandInClient | undefined {
    return this.clients.findLast((c) => c.name === name);
  }

  /** Someone else says `text` in `room`. */
  publish(room: string, from: string, text: string, msgId = `m-${++this.seq}`): void {
    const message: Logged = { msgId, pos: String(++this.seq).padStart(20, '0'), from, user: `anon:${from}`, text, ts: Date.now() };
    this.logOf(room).push(message);
    for (const c of this.clients) if (c.rooms.has(room)) send(c, { type: 'message', room, ...message });
  }

  /** The frame a joined client gets when asking for presence, to every client with presence in `room`. */
  sendPresence(room: string, frame: Frame = this.presenceOf(room)): void {
    for (const c of this.clients) if (c.rooms.get(room) === true) send(c, frame);
  }

  close(): void {
    for (const c of this.clients) c.ws.terminate();
    this.wss.close();
  }

  private connected(ws: WebSocket, req: IncomingMessage): void {
    this.urls.push(req.url ?? '');
    this.protocols.push(req.headers['sec-websocket-protocol'] ?? '');
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const session = `sess-${++this.sessions}`;
    const room = q.get('room') || 'lobby';
    const c: StandInClient = { ws, session, user: `anon:${session}`, name: q.get('name') || `anon-${this.sessions}`, rooms: new Map([[room, false]]) };
    this.clients.push(c);
    ws.on('close', () => {
      this.clients = this.clients.filter((x) => x !== c);
      for (const joined of c.rooms.keys()) this.diff(joined, c, 'leaves');
    });
    ws.on('message', (data) => this.frame(c, JSON.parse(String(data)) as Frame));
    const since = q.get('since');
    const welcome = { type: 'welcome', protocol: 2, session, user: c.user, name: c.name, rooms: [room], node: 'node-fixture' };
    if (since === null) send(c, welcome);
    else {
      const { recovered, replay } = this.recovery(room, since);
      send(c, { ...welcome, recovered });
      this.replay(c, room, replay);
    }
    this.diff(room, c, 'joins');
  }

  private frame(c: StandInClient, f: Frame): void {
    this.frames.push(f);
    const id = f['id'] as string | undefined;
    const room = String(f['room'] ?? '');
    switch (f['type']) {
      case 'ping': return send(c, { type: 'pong', id });
      case 'join': return this.join(c, room, f);
      case 'leave':
        c.rooms.delete(room);
        send(c, { type: 'left', room, id });
        return this.diff(room, c, 'leaves');
      case 'presence': return send(c, { ...this.presenceOf(room), id });
      case 'say': return this.say(c, room, String(f['text']), id);
      default: return send(c, { type: 'error', code: 'bad_request', message: 'unknown type', id });
    }
  }

  private join(c: StandInClient, room: string, f: Frame): void {
    if (this.forbidden.has(room)) return send(c, { type: 'error', code: 'forbidden', message: `the token does not grant ${room}`, id: f['id'] });
    const fresh = !c.rooms.has(room);
    c.rooms.set(room, f['presence'] === true);
    const since = f['since'];
    if (typeof since === 'string') {
      const { recovered, replay } = this.recovery(room, since);
      send(c, { type: 'joined', room, id: f['id'], recovered });
      this.replay(c, room, replay);
    } else {
      send(c, { type: 'joined', room, id: f['id'] });
      const history = typeof f['history'] === 'number' ? f['history'] : 0;
      if (history > 0) this.replay(c, room, this.logOf(room).slice(-history));
    }
    if (f['presence'] === true) send(c, this.presenceOf(room));
    if (fresh) this.diff(room, c, 'joins');
  }

  /** Acks a held say without delivering it yet; returns its msgId, for `publish`. */
  ackHeld(): string {
    const { c, id } = this.heldSays!.shift()!;
    const msgId = `m-${++this.seq}`;
    send(c, { type: 'ack', id, msgId });
    return msgId;
  }

  private say(c: StandInClient, room: string, text: string, id: string | undefined): void {
    if (this.heldSays) {
      this.heldSays.push({ c, id });
      return;
    }
    if (this.failNextSay) {
      const code = this.failNextSay;
      this.failNextSay = null;
      return send(c, { type: 'error', code, message: `the stand-in says ${code}`, id });
    }
    if (!c.rooms.has(room)) return send(c, { type: 'error', code: 'not_joined', message: `not in ${room}`, id });
    const msgId = `m-${++this.seq}`;
    if (!this.deliverBeforeAck) send(c, { type: 'ack', id, msgId });
    this.publish(room, c.name, text, msgId);
    if (this.deliverBeforeAck) send(c, { type: 'ack', id, msgId });
  }

  /** What a `since` (in the URL or a join) recovers: all after it, or else the whole log after a gap. */
  private recovery(room: string, since: string): { recovered: boolean; replay: Logged[] } {
    const log = this.logOf(room);
    const recovered = !this.lossy && log.some((m) => m.pos === since);
    return { recovered, replay: recovered ? log.filter((m) => m.pos > since) : log };
  }

  private replay(c: StandInClient, room: string, messages: Logged[]): void {
    for (const m of messages) send(c, { type: 'message', room, ...m, replay: true });
  }

  private presenceOf(room: string): Frame {
    const members = this.clients.filter((c) => c.rooms.has(room)).map((c) => ({ user: c.user, name: c.name, connections: 1 }));
    members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { type: 'presence', room, members, users: members.length, connections: members.length };
  }

  private diff(room: string, who: StandInClient, change: 'joins' | 'leaves'): void {
    const counts = this.presenceOf(room);
    const member = change === 'joins' ? { user: who.user, name: who.name } : { user: who.user };
    for (const c of this.clients) {
      if (c !== who && c.rooms.get(room) === true) {
        send(c, { type: 'presence_diff', room, joins: change === 'joins' ? [member] : [], leaves: change === 'leaves' ? [member] : [], users: counts['users'], connections: counts['connections'] });
      }
    }
  }

  private logOf(room: string): Logged[] {
    let log = this.logs.get(room);
    if (log === undefined) this.logs.set(room, (log = []));
    return log;
  }
}

function send(c: StandInClient, frame: Frame): void {
  if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(frame));
}

/** The library as the daemon serves it to browsers. */
const LIBRARY = join(__dirname, '..', '..', 'client', 'warren.mjs');

/** web/ and the library on a free port, with a stand-in daemon behind its /websocket. */
export async function serveChatPage(): Promise<{ web: WebServer; daemon: StandInDaemon }> {
  const web = await serveWeb(async (_req, res, url) => {
    if (url.pathname !== '/warren.mjs') return false;
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
    res.end(await readFile(LIBRARY));
    return true;
  });
  const daemon = new StandInDaemon();
  web.server.on('upgrade', daemon.upgrade);
  atExit(async () => daemon.close());
  return { web, daemon };
}
