// Component spec of the observer page (web/debug.html + observer*.js) in
// headless Chromium. A tiny node:http server stands in for the daemon's
// admin port: it serves web/ and answers GET /debug/tree with fixture trees,
// and POST /debug/kill by recording the path. The fixture is not written by
// hand: it is grown from the /debug/tree answer of the real application,
// started in-process with three connections, so it has the daemon's paths,
// names, order and info keys (the first spec holds it to them). The
// end-to-end spec against the real daemon lives elsewhere.
import { expect } from 'chai';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { loadConfig } from '../../lib/config';
import type { ActorInfo } from '../../lib/otp/sys';
import { start, stop } from '../../lib/warren_app';
import { actors, type TreeAnswer } from '../support/admin';
import { launchBrowser, saveScreenshot, serveWeb, type LaunchedBrowser, type WebServer } from '../support/browser';
import { ChatClient } from '../support/client';
import { until } from '../support/eventually';

// The callbacks given to page.evaluate run in the browser. This project
// compiles without the DOM lib, so the few browser globals they use are named
// here, in this module's scope only.
declare const window: any;
declare const document: any;
declare const sessionStorage: any;

// ---- fixture: the daemon's own tree, grown -------------------------------------

/** What the application's admin port answers with user-1..3 connected, user-3 also in #dev. */
async function liveTree(): Promise<TreeAnswer> {
  const configDir = join(__dirname, '..', '..', 'config');
  const warren = await start(loadConfig({ env: { NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', ADMIN_PORT: '0' }, argv: [], configDir }));
  const clients: ChatClient[] = [];
  try {
    const { port, adminPort } = warren.app.describe()!.children.find((child) => child.name === 'listener')!.info;
    for (const n of [1, 2, 3]) clients.push(await ChatClient.connect(`ws://127.0.0.1:${port}/websocket?name=user-${n}`));
    clients[2]!.send({ type: 'join', room: 'dev' });
    await clients[2]!.next('joined', { room: 'dev' });
    const answer = await fetch(`http://127.0.0.1:${adminPort}/debug/tree`);
    return (await answer.json()) as TreeAnswer;
  } finally {
    for (const client of clients) client.terminate();
    await stop(warren);
  }
}

/** An actor as far as the fixture may differ from the daemon: values, not names, paths, order, fields or info keys. */
const shape = (a: ActorInfo): unknown => ({
  ...a,
  mailbox: typeof a.mailbox,
  processed: typeof a.processed,
  restarts: typeof a.restarts,
  info: Object.entries(a.info).map(([key, value]) => [key, Array.isArray(value) ? 'array' : typeof value]),
  children: a.children.map(shape),
});

/** Started 1 h 02 min 03 s before each answer, so the page shows an uptime of 1h 02m whenever the spec runs. */
const startedAt = () => new Date(Date.now() - 3_723_000).toISOString();

class Fixture {
  connections: number[] = [];
  restarts = new Map<string, number>();
  uws: 'native' | 'fallback' = 'native';
  token: string | null = null;
  names = new Map<number, string>();
  /** The other nodes the presence process knows (the live one, a single node, knows none). */
  presenceNodes: Array<Record<string, unknown>> = [];
  tick = 0;
  treeRequests = 0;
  authHeaders: Array<string | undefined> = [];
  kills: Array<{ path: string; rawQuery: string; auth: string | undefined }> = [];

  constructor(readonly live: TreeAnswer) {}

  reset(connections: number): void {
    this.connections = Array.from({ length: connections }, (_, i) => i + 1);
    this.restarts.clear();
    this.names.clear();
    this.presenceNodes = [];
    this.uws = 'native';
    this.token = null;
    this.kills = [];
    this.authHeaders = [];
  }

  /**
   * The /debug/tree body: the live answer with this fixture's connections
   * (each a copy of the live connection-1 and its consumer), restarts and
   * uWebSockets.js mode; each poll makes every actor handle one more message.
   */
  tree(advance = true): TreeAnswer {
    const t = advance ? ++this.tick : this.tick;
    const grown = (a: ActorInfo, info: Record<string, unknown> = {}, children = a.children): ActorInfo => ({
      ...a,
      processed: a.processed + t,
      restarts: a.restarts + (this.restarts.get(a.path) ?? 0),
      info: { ...a.info, ...info },
      children,
    });
    const root = this.live.tree;
    const connectionSup = root.children.find((a) => a.name === 'connection_sup')!;
    const connection = connectionSup.children[0]!;
    const consumer = connection.children[0]!;
    const connections = this.connections.map((n) => {
      const at = { name: `connection-${n}`, path: `${connectionSup.path}/connection-${n}` };
      return grown({ ...connection, ...at }, { name: this.names.get(n) ?? `user-${n}`, rooms: n % 3 === 0 ? ['lobby', 'dev'] : ['lobby'] }, [
        grown({ ...consumer, path: `${at.path}/${consumer.name}` }, { delivered: 10 * t, dropped: n === 2 ? 4 : 0, buffered: n === 2 ? 65536 : 0 }),
      ]);
    });
    const children = root.children.map((a) =>
      a === connectionSup ? grown(a, { children: connections.length }, connections)
        : a.behaviour === 'listener' ? grown(a, { uws: this.uws })
          : a.behaviour === 'presence' ? grown(a, { nodes: this.presenceNodes })
            : grown(a));
    return { ...this.live, startedAt: startedAt(), tree: grown(root, {}, children) };
  }

  // Answers as lib/http/admin_app.ts does.
  route = (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    if (!url.pathname.startsWith('/debug/')) return false;
    const auth = req.headers.authorization;
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): true => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
      return true;
    };
    if (this.token !== null && auth !== `Bearer ${this.token}`) {
      return answer(401, { error: 'a bearer token is required' }, { 'www-authenticate': 'Bearer' });
    }
    if (url.pathname === '/debug/tree' && req.method === 'GET') {
      this.treeRequests++;
      this.authHeaders.push(auth);
      return answer(200, this.tree());
    }
    if (url.pathname === '/debug/kill' && req.method === 'POST') {
      const killed = url.searchParams.get('path') ?? '';
      this.kills.push({ path: killed, rawQuery: url.search, auth });
      if (!actors(this.tree(false).tree).some((a) => a.path === killed)) return answer(404, { error: `no actor at ${killed}` });
      this.restarts.set(killed, (this.restarts.get(killed) ?? 0) + 1); // its supervisor restarts it
      return answer(200, { killed });
    }
    return false;
  };
}

// ---- helpers ------------------------------------------------------------------------

const actorSel = (p: string): string => `[data-testid="actor"][data-path="${p.replace(/["\\]/g, '\\$&')}"]`;
const path = (...parts: string[]): string => ['', 'warren_sup', ...parts].join('/');
const connPath = (n: number): string => path('connection_sup', `connection-${n}`);
const consumerPath = (n: number): string => `${connPath(n)}/consumer`;

describe('observer page (web/debug.html) against a fixture /debug/tree', function () {
  let browser: LaunchedBrowser;
  let web: WebServer;
  let page: Page;
  let pageErrors: string[];
  let fx: Fixture;

  const count = (sel: string): Promise<number> => page.locator(sel).count();
  const text = (sel: string): Promise<string> => page.locator(sel).first().innerText();
  const waitPolls = async (n: number): Promise<void> => {
    const target = fx.treeRequests + n;
    await until(`${n} more polls`, () => fx.treeRequests, (c) => c >= target);
  };

  before(async function () {
    this.timeout(30_000);
    fx = new Fixture(await liveTree());
    web = await serveWeb(fx.route);
    browser = await launchBrowser();
  });

  after(async function () {
    await browser?.close();
    await web?.close();
  });

  beforeEach(async function () {
    fx.reset(3);
    // a fresh tab per test: sessionStorage (the admin token) is per tab
    page = await browser.context.newPage();
    pageErrors = [];
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('console', (m) => { if (m.type() === 'error' && !/401/.test(m.text())) pageErrors.push(m.text()); });
  });

  afterEach(async function () {
    await page.close();
    expect(pageErrors, 'errors in the page').to.deep.equal([]);
  });

  it('serves the tree the daemon serves: its actors, names, paths, order, fields and info keys', function () {
    expect(shape(fx.tree().tree)).to.deep.equal(shape(fx.live.tree));
  });

  it('draws the supervision tree as nested actors with kinds, strategies, stats and info', async function () {
    fx.names.set(3, '<img src=x onerror="window.pwned=1">bob');
    await page.goto(`${web.origin}/debug`);
    await page.locator(actorSel(consumerPath(3))).waitFor();

    // nesting: each actor's <li> sits inside its parent's <li>
    const ancestry = await page.evaluate((p) => {
      const out: string[] = [];
      let li = document.querySelector(`[data-testid="actor"][data-path="${p}"]`)?.closest('li.node');
      while (li) {
        out.push(li.querySelector(':scope > [data-testid="actor"]')!.getAttribute('data-path')!);
        li = li.parentElement?.closest('li.node');
      }
      return out;
    }, consumerPath(3));
    expect(ancestry).to.deep.equal([consumerPath(3), connPath(3), path('connection_sup'), path()]);
    const top = await page.locator(`${actorSel(path())} ~ ul.children > li > [data-testid="actor"]`).evaluateAll(
      (els) => els.map((e) => e.getAttribute('data-path')));
    expect(top).to.deep.equal([path('relay'), path('broker'), path('presence'), path('connection_sup'), path('listener'), path('sampler')]);

    expect(await text(`${actorSel(path())} [data-testid="strategy"]`)).to.equal('rest_for_one');
    expect(await text(`${actorSel(path('connection_sup'))} [data-testid="strategy"]`)).to.equal('simple_one_for_one');
    expect(await text(`${actorSel(path())} [data-testid="kind"]`)).to.equal('supervisor');
    expect(await text(`${actorSel(path('broker'))} [data-testid="kind"]`)).to.equal('worker');
    expect(await page.locator(actorSel(path('broker'))).getAttribute('data-behaviour')).to.equal('broker');
    expect(await count(`${actorSel(path('connection_sup'))} [data-testid="child-count"]`)).to.equal(1);
    expect(await text(`${actorSel(path('connection_sup'))} [data-testid="child-count"]`)).to.equal('3 children');
    expect(await count('[data-testid="actor"]')).to.equal(7 + 3 * 2);

    // info as chips, known keys formatted; actor data rendered as text, never markup
    expect(await text(`${actorSel(connPath(1))} [data-key="rooms"]`)).to.match(/#lobby/);
    expect(await text(`${actorSel(consumerPath(2))} [data-key="dropped"]`)).to.match(/dropped\s*4/);
    expect(await page.locator(`${actorSel(consumerPath(2))} [data-key="dropped"]`).getAttribute('data-tone')).to.equal('warn');
    expect(await text(`${actorSel(connPath(3))} [data-key="name"]`)).to.contain('<img src=x onerror="window.pwned=1">bob');
    expect(await count('[data-testid="tree"] img')).to.equal(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).to.equal(undefined);

    // totals bar
    expect(await text('[data-testid="connections-total"]')).to.equal('3');
    expect(await text('[data-testid="broker-state"]')).to.equal('local · connected');
    expect(await text('[data-testid="uws-mode"]')).to.equal('native');
    expect(await page.locator('[data-testid="uws-fallback"]').isVisible()).to.equal(false);
    expect(await text('[data-testid="node-id"]')).to.equal(fx.live.node);
    expect(await text('[data-testid="uptime"]')).to.match(/^1h 02m$/);
    // msgs/s and deliveries/s from the growth of processed / info.delivered between polls
    await waitPolls(2);
    expect(Number((await text('[data-testid="msgs-per-sec"]')).replace(/,/g, ''))).to.be.greaterThan(0);
    expect(Number((await text('[data-testid="deliveries-per-sec"]')).replace(/,/g, ''))).to.be.greaterThan(0);
  });

  it('stays small and responsive with 5,000 connections: paged children, a filter, totals from the whole tree', async function () {
    fx.reset(5000);
    await page.goto(`${web.origin}/debug`);
    await until('total of 5,000', () => page.locator('[data-testid="connections-total"]').getAttribute('data-value'), (v) => v === '5000');
    expect(await text('[data-testid="connections-total"]')).to.equal('5,000');
    expect(await text('[data-testid="actors-total"]')).to.equal('10,007');
    expect(await text(`${actorSel(path('connection_sup'))} [data-testid="child-count"]`)).to.equal('5,000 children');
    // the first page of 50 connections, collapsed (their consumers have no DOM)
    expect(await count('[data-testid="actor"][data-behaviour="connection"]')).to.equal(50);
    expect(await count('[data-testid="actor"][data-behaviour="consumer"]')).to.equal(0);
    expect(await text(`${actorSel(connPath(1))} [data-testid="child-count"]`)).to.equal('1 child');

    // polls go on and the DOM stays the same size: the work per poll is
    // bounded by what is shown, not by the tree (timing is the bench's job)
    await waitPolls(3);
    expect(await count('[data-testid="actor"]')).to.equal(57);

    // show more: one more page
    await page.locator(`${actorSel(path('connection_sup'))} ~ .more [data-testid="show-more"]`).click();
    expect(await count('[data-testid="actor"][data-behaviour="connection"]')).to.equal(100);

    // filter by name or path
    const filter = page.locator(`${actorSel(path('connection_sup'))} ~ .child-tools [data-testid="child-filter"]`);
    await filter.fill('user-4321');
    await until('the filter to leave one connection', () => count('[data-testid="actor"][data-behaviour="connection"]'), (n) => n === 1);
    expect(await page.locator('[data-testid="actor"][data-behaviour="connection"]').getAttribute('data-path')).to.equal(connPath(4321));
    expect(await text(`${actorSel(path('connection_sup'))} [data-testid="child-count"]`)).to.equal('1 of 5,000 match');
    await waitPolls(2);
    expect(await count('[data-testid="actor"][data-behaviour="connection"]'), 'the filter survives polls').to.equal(1);

    // a restart deep inside a collapsed connection still shows, on the collapsed row
    fx.restarts.set(consumerPath(4321), 1);
    await until('Σ restarts on the collapsed connection', () => text(`${actorSel(connPath(4321))} [data-testid="child-count"]`), (t) => /Σ restarts 1/.test(t));
    await saveScreenshot(page, 'observer-5000');
  });

  it('updates in place: a closed connection disappears, other nodes and collapsed state stay', async function () {
    await page.goto(`${web.origin}/debug`);
    await page.locator(actorSel(consumerPath(3))).waitFor();
    // mark a DOM node, and collapse connection-1
    await page.locator(actorSel(connPath(3))).evaluate((el) => { (el as unknown as { mark: string }).mark = 'same node'; });
    await page.locator(`${actorSel(connPath(1))} [data-testid="toggle"]`).click();
    expect(await count(actorSel(consumerPath(1)))).to.equal(0);
    expect(await page.locator(`${actorSel(connPath(1))} [data-testid="toggle"]`).getAttribute('aria-expanded')).to.equal('false');

    fx.connections = [1, 3];
    await until('connection-2 to go', () => count(actorSel(connPath(2))), (n) => n === 0);
    expect(await count(actorSel(consumerPath(2)))).to.equal(0);
    expect(await text('[data-testid="connections-total"]')).to.equal('2');
    await waitPolls(2);
    expect(await page.locator(actorSel(connPath(3))).evaluate((el) => (el as unknown as { mark?: string }).mark)).to.equal('same node');
    expect(await count(actorSel(consumerPath(1))), 'connection-1 stays collapsed').to.equal(0);
    expect(await count(actorSel(consumerPath(3)))).to.equal(1);
    expect(await text('[data-testid="event-log"]')).to.contain('connections −1 → 2');

    // and a new one appears, in order
    fx.connections = [1, 3, 4];
    await page.locator(actorSel(consumerPath(4))).waitFor();
    const order = await page.locator('[data-testid="actor"][data-behaviour="connection"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')));
    expect(order).to.deep.equal([connPath(1), connPath(3), connPath(4)]);
  });

  it('kills a consumer with one click, POSTing its path, and shows the restart that follows', async function () {
    await page.goto(`${web.origin}/debug`);
    const consumer = page.locator(actorSel(consumerPath(2)));
    await consumer.waitFor();
    expect(await consumer.locator('[data-testid="restarts"]').innerText()).to.equal('0');

    await consumer.locator('[data-testid="kill"]').click();
    await until('the kill request', () => fx.kills.length, (n) => n === 1);
    expect(fx.kills[0]!.path).to.equal(consumerPath(2));
    expect(fx.kills[0]!.rawQuery).to.equal(`?path=${encodeURIComponent(consumerPath(2))}`);
    await until('kill result', () => consumer.locator('[data-testid="kill-result"]').innerText(), (t) => t === 'killed');

    // the supervisor restarted it: the next poll shows restarts 1, highlighted
    await until('restarts 1', () => consumer.locator('[data-testid="restarts"]').innerText(), (t) => t === '1');
    expect(await consumer.locator('.stat:has([data-testid="restarts"])').getAttribute('class')).to.contain('flash');
    expect(await text('[data-testid="event-log"]')).to.contain(`${consumerPath(2)}: restarts 0 → 1`);
    expect(await count('[data-testid="actor"][data-behaviour="connection"]'), 'the socket stays').to.equal(3);
    const shot = await saveScreenshot(page, 'observer');
    expect(shot).to.match(/spec\/artifacts\/observer\.png$/);
  });

  it('asks for the admin token on 401 and sends it as a bearer token', async function () {
    fx.token = 's3cret';
    await page.goto(`${web.origin}/debug`);
    const form = page.locator('[data-testid="token-form"]');
    await form.waitFor({ state: 'visible' });
    expect(await count('[data-testid="actor"]')).to.equal(0);

    await page.locator('[data-testid="token-input"]').fill('wrong');
    await page.locator('[data-testid="token-submit"]').click();
    await until('the refusal', () => text('[data-testid="token-error"]'), (t) => /refused/.test(t));
    expect(await form.isVisible()).to.equal(true);

    await page.locator('[data-testid="token-input"]').fill('s3cret');
    await page.locator('[data-testid="token-submit"]').click();
    await page.locator(actorSel(consumerPath(1))).waitFor();
    expect(await form.isVisible()).to.equal(false);
    expect(fx.authHeaders.at(-1)).to.equal('Bearer s3cret');
    expect(await page.evaluate(() => sessionStorage.getItem('warren.adminToken'))).to.equal('s3cret');

    await page.locator(`${actorSel(path('relay'))} [data-testid="kill"]`).click();
    await until('the kill request', () => fx.kills.length, (n) => n === 1);
    expect(fx.kills[0]).to.include({ path: path('relay'), auth: 'Bearer s3cret' });
  });

  it('shows the nodes presence knows, one badge each, a node that is down marked', async function () {
    fx.presenceNodes = [
      { node: 'node-b', incarnation: 2, up: true, seq: 7, lastHeardAt: new Date().toISOString(), entries: 3 },
      { node: '<b>node-c</b>', incarnation: 1, up: false, seq: 0, lastHeardAt: new Date().toISOString(), entries: 0 },
    ];
    await page.goto(`${web.origin}/debug`);
    const nodes = page.locator(`${actorSel(path('presence'))} [data-key="nodes"] .node`);
    await nodes.first().waitFor();
    expect(await nodes.allInnerTexts()).to.deep.equal(['node-b up', '<b>node-c</b> down']);
    expect(await nodes.evaluateAll((els) => els.map((el) => el.getAttribute('data-tone')))).to.deep.equal(['good', 'bad']);
    expect(await page.locator(`${actorSel(path('presence'))} [data-key="nodes"]`).getAttribute('title')).to.match(/node-b: up, incarnation 2, seq 7, 3 entries/);
  });

  it('shouts when uWebSockets.js runs its JavaScript fallback', async function () {
    fx.uws = 'fallback';
    await page.goto(`${web.origin}/debug`);
    const banner = page.locator('[data-testid="uws-fallback"]');
    await banner.waitFor({ state: 'visible' });
    expect(await banner.innerText()).to.match(/fallback/);
    expect(await text('[data-testid="uws-mode"]')).to.equal('fallback');
    expect(await page.locator('[data-testid="uws-mode"]').getAttribute('data-tone')).to.equal('bad');
    await saveScreenshot(page, 'observer-uws-fallback');
    fx.uws = 'native';
    await banner.waitFor({ state: 'hidden' });
  });
});
