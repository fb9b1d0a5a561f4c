// Component spec of the chat page (web/index.html + chat*.js) in headless
// Chromium, against a tiny `ws` server that speaks the PROTOCOL.md frames
// (welcome, ack, message, joined, left, pong, error) in place of the daemon.
import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Page } from 'playwright-core';
import { WebSocketServer, type WebSocket } from 'ws';
import { launchBrowser, saveScreenshot, serveWeb, type LaunchedBrowser, type WebServer } from '../support/browser';
import { until } from '../support/eventually';

// page.evaluate callbacks run in the browser; no DOM lib in this project.
declare const window: any;

interface Client { ws: WebSocket; name: string; rooms: Set<string> }

class FakeDaemon {
  wss = new WebSocketServer({ noServer: true });
  clients: Client[] = [];
  urls: string[] = [];
  frames: Array<Record<string, unknown>> = [];
  failNextSay: string | null = null;
  deliverBeforeAck = false;
  seq = 0;

  constructor() {
    this.wss.on('connection', (ws: WebSocket, req: IncomingMessage) => this.connected(ws, req));
  }

  upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!req.url?.startsWith('/websocket')) { socket.destroy(); return; }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  };

  connected(ws: WebSocket, req: IncomingMessage): void {
    this.urls.push(req.url ?? '');
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const c: Client = { ws, name: q.get('name') || 'anon-7f3a', rooms: new Set([q.get('room') || 'lobby']) };
    this.clients.push(c);
    ws.on('close', () => { this.clients = this.clients.filter((x) => x !== c); });
    ws.on('message', (data) => this.frame(c, JSON.parse(String(data)) as Record<string, unknown>));
    send(c, { type: 'welcome', protocol: 2, session: `sess-${this.urls.length}`, user: `anon:sess-${this.urls.length}`, name: c.name, rooms: [...c.rooms], node: 'node-fixture' });
  }

  frame(c: Client, f: Record<string, unknown>): void {
    this.frames.push(f);
    const id = f.id as string | undefined;
    const room = String(f.room ?? '');
    switch (f.type) {
      case 'ping': return send(c, { type: 'pong', id });
      case 'join': c.rooms.add(room); return send(c, { type: 'joined', room, id });
      case 'leave': c.rooms.delete(room); return send(c, { type: 'left', room, id });
      case 'say': {
        if (this.failNextSay) {
          const code = this.failNextSay;
          this.failNextSay = null;
          return send(c, { type: 'error', code, message: 'the broker did not confirm the message', id });
        }
        if (!c.rooms.has(room)) return send(c, { type: 'error', code: 'not_joined', message: `not in ${room}`, id });
        const msgId = `m-${++this.seq}`;
        if (!this.deliverBeforeAck) send(c, { type: 'ack', id, msgId });
        this.publish(room, c.name, String(f.text), msgId);
        if (this.deliverBeforeAck) send(c, { type: 'ack', id, msgId });
        return undefined;
      }
      default: return send(c, { type: 'error', code: 'bad_request', message: 'unknown type', id });
    }
  }

  publish(room: string, from: string, text: string, msgId = `m-${++this.seq}`): void {
    const pos = `${String(this.seq).padStart(16, '0')}-0000000`;
    for (const c of this.clients) if (c.rooms.has(room)) send(c, { type: 'message', room, msgId, pos, from, user: `anon:${from}`, text, ts: Date.now() });
  }
}

function send(c: Client, frame: Record<string, unknown>): void {
  c.ws.send(JSON.stringify(frame));
}

describe('chat page (web/index.html) against a stand-in websocket server', function () {
  let browser: LaunchedBrowser;
  let web: WebServer;
  let daemon: FakeDaemon;
  let page: Page;
  let pageErrors: string[];

  const msg = (sel = ''): string => `[data-testid="messages"] [data-testid="message"]${sel}`;

  before(async function () {
    this.timeout(30_000);
    daemon = new FakeDaemon();
    web = await serveWeb();
    web.server.on('upgrade', daemon.upgrade);
    browser = await launchBrowser();
  });

  after(async function () {
    for (const c of daemon?.clients ?? []) c.ws.terminate();
    daemon?.wss.close();
    await browser?.close();
    await web?.close();
  });

  beforeEach(async function () {
    page = await browser.context.newPage();
    pageErrors = [];
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    await page.goto(`${web.origin}/?name=alice&room=lobby`);
    expect(await page.locator('[data-testid="name"]').inputValue()).to.equal('alice');
    expect(await page.locator('[data-testid="room"]').inputValue()).to.equal('lobby');
    await page.locator('[data-testid="connect"]').click();
    await page.locator('[data-testid="status"][data-state="connected"]').waitFor();
  });

  afterEach(async function () {
    await page.close();
    expect(pageErrors, 'errors in the page').to.deep.equal([]);
  });

  it('connects with name and room, sends with Enter, and renders markup in messages as text', async function () {
    // The tab's client key scopes its resends (PROTOCOL.md "Idempotent resends").
    expect(daemon.urls.at(-1)).to.match(/^\/websocket\?name=alice&room=lobby&client=[A-Za-z0-9_-]{16,64}$/);
    expect(await page.locator('[data-testid="session"]').innerText()).to.contain('sess-');
    expect(await page.locator('[data-testid="node"]').innerText()).to.contain('node-fixture');
    await until('a ping latency', () => page.locator('[data-testid="latency"]').innerText(), (t) => /^ping [\d.]+ ms$/.test(t));

    const evil = '<b>bold</b><img src=x onerror="window.pwned=1"> & ok';
    await page.locator('[data-testid="input"]').fill(evil);
    await page.locator('[data-testid="input"]').press('Enter');
    const mine = page.locator(msg('.own'));
    await until('own message delivered', () => mine.getAttribute('data-state'), (s) => s === 'delivered');
    expect(await mine.getAttribute('data-msg-id')).to.match(/^m-\d+$/);
    expect(await mine.locator('[data-testid="message-text"]').innerText()).to.equal(evil);
    expect(await page.locator('[data-testid="input"]').inputValue()).to.equal('');

    daemon.publish('lobby', '<i>mallory</i>', '<script>window.pwned=2</script>hello');
    const theirs = page.locator(msg(':not(.own)'));
    await theirs.waitFor();
    expect(await theirs.locator('[data-testid="message-from"]').innerText()).to.equal('<i>mallory</i>');
    expect(await theirs.locator('[data-testid="message-text"]').innerText()).to.equal('<script>window.pwned=2</script>hello');
    expect(await page.locator('[data-testid="messages"] :is(b, i, img, script)').count()).to.equal(0);
    expect(await page.evaluate(() => window.pwned)).to.equal(undefined);

    // a delivery that overtakes its ack merges into one own message
    daemon.deliverBeforeAck = true;
    await page.locator('[data-testid="input"]').fill('fast');
    await page.locator('[data-testid="input"]').press('Enter');
    await until('one own "fast" message', () => page.locator(msg('.own')).count(), (n) => n === 2);
    await until('no pending copy', () => page.locator(msg('[data-state="pending"]')).count(), (n) => n === 0);
    expect(await page.locator(msg()).count()).to.equal(3);
    daemon.deliverBeforeAck = false;
    await saveScreenshot(page, 'chat');
  });

  it('marks a message failed on unavailable and sends it again on retry, under the same id', async function () {
    daemon.failNextSay = 'unavailable';
    await page.locator('[data-testid="input"]').fill('try me');
    await page.locator('[data-testid="input"]').press('Enter');
    const el = page.locator(msg('.own'));
    await until('failed', () => el.getAttribute('data-state'), (s) => s === 'failed');
    expect(await el.getAttribute('data-error-code')).to.equal('unavailable');
    expect(await el.locator('[data-testid="message-state"]').innerText()).to.match(/unavailable/);
    await el.locator('[data-testid="retry"]').click();
    await until('delivered after retry', () => el.getAttribute('data-state'), (s) => s === 'delivered');
    const says = daemon.frames.filter((f) => f.type === 'say' && f.text === 'try me');
    expect(says).to.have.length(2);
    expect(says[1]!.id, 'a resend: the same id, delivered at most once').to.equal(says[0]!.id);
    expect(await page.locator(msg()).count()).to.equal(1);
  });

  it('joins and leaves rooms, keeping a message list per room', async function () {
    await page.locator('[data-testid="join-input"]').fill('dev');
    await page.locator('[data-testid="join"]').click();
    const devTab = page.locator('[data-testid="room-tab"][data-room="dev"]');
    await until('dev joined', () => devTab.evaluate((b) => b.parentElement!.getAttribute('data-state')), (s) => s === 'joined');
    expect(await devTab.getAttribute('aria-current')).to.equal('true');
    await page.locator('[data-testid="input"]').fill('in dev');
    await page.locator('[data-testid="input"]').press('Enter');
    await page.locator(msg('[data-room="dev"][data-state="delivered"]')).waitFor();

    await page.locator('[data-testid="room-tab"][data-room="lobby"]').click();
    expect(await page.locator(msg()).count()).to.equal(0);
    daemon.publish('dev', 'bob', 'while you were away');
    await until('an unread badge on dev', () => devTab.locator('[data-testid="unread"]').innerText(), (t) => t === '1');

    await page.locator('[data-testid="leave"][data-room="dev"]').click();
    await devTab.waitFor({ state: 'detached' });
    expect(daemon.frames.some((f) => f.type === 'leave' && f.room === 'dev')).to.equal(true);
  });

  it('shows the close code, reconnects with backoff and rejoins its rooms', async function () {
    await page.locator('[data-testid="join-input"]').fill('dev');
    await page.locator('[data-testid="join"]').press('Enter');
    await until('dev joined', () => daemon.clients.at(-1)!.rooms.has('dev'), (b) => b);
    const before = daemon.urls.length;
    daemon.clients.at(-1)!.ws.close(1013, 'too slow');
    await until('the close shown', () => page.locator('[data-testid="status"]').innerText(), (t) => /1013/.test(t) && /too slow/.test(t));
    expect(await page.locator('[data-testid="status"]').getAttribute('data-state')).to.match(/reconnecting|connecting/);
    await page.locator('[data-testid="status"][data-state="connected"]').waitFor();
    expect(daemon.urls.length).to.equal(before + 1);
    await until('dev rejoined', () => daemon.clients.at(-1)!.rooms.has('dev'), (b) => b);
  });
});
