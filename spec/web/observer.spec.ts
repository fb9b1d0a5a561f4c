// Component spec of the observer page (web/debug.html + observer*.js) in
// headless Chromium. A tiny node:http server stands in for the daemon's
// admin port: it serves web/ and answers GET /debug/tree with fixture trees,
// POST /debug/kill by recording the path, and the observer endpoints of
// issue 16 (top, actor, trace, history: spec/support/stand_in_observer.ts)
// from the same fixture tree. The fixture is not written by
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
import { actors, connectionOf, type TreeAnswer } from '../support/admin';
import { launchBrowser, saveScreenshot, serveWeb, type LaunchedBrowser, type WebServer } from '../support/browser';
import { ChatClient } from '../support/client';
import { until } from '../support/eventually';
import type { TopKey } from '../../lib/otp/top';
import { matching, ObserverEndpoints, topOf } from '../support/stand_in_observer';

// The callbacks given to page.evaluate run in the browser. This project
// compiles without the DOM lib, so the few browser globals they use are named
// here, in this module's scope only.
declare const window: any;
declare const document: any;
declare const sessionStorage: any;

// ---- fixture: the daemon's own tree, grown -------------------------------------

/** What the application's admin port answers, with user-1..3 connected, user-3 also in #dev. */
interface LiveAnswers {
  readonly tree: TreeAnswer;
  /** /debug/top?n=5, /debug/actor of user-1's connection, /debug/history once it has a point. */
  readonly top: unknown;
  readonly actor: unknown;
  readonly history: unknown;
}

async function liveAnswers(): Promise<LiveAnswers> {
  const configDir = join(__dirname, '..', '..', 'config');
  const warren = await start(loadConfig({ env: { NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', ADMIN_PORT: '0' }, argv: [], configDir }));
  const clients: ChatClient[] = [];
  try {
    const { port, adminPort } = warren.app.describe()!.children.find((child) => child.name === 'listener')!.info;
    for (const n of [1, 2, 3]) clients.push(await ChatClient.connect(`ws://127.0.0.1:${port}/websocket?name=user-${n}`));
    clients[2]!.send({ type: 'join', room: 'dev' });
    await clients[2]!.next('joined', { room: 'dev' });
    const admin = async (url: string): Promise<any> => (await fetch(`http://127.0.0.1:${adminPort}${url}`)).json();
    const tree = (await admin('/debug/tree')) as TreeAnswer;
    const connection = connectionOf(tree.tree, 'user-1')!;
    return {
      tree,
      top: await admin('/debug/top?n=5'),
      actor: await admin(`/debug/actor?path=${encodeURIComponent(connection.path)}`),
      // the sampler takes its first point a second after the start
      history: await until('a point of history', () => admin('/debug/history'), (h) => h.series.at.length > 0),
    };
  } finally {
    for (const client of clients) client.terminate();
    await stop(warren);
  }
}

/** An answer's field names and their types, at every depth: arrays and `info` as such, not their contents. */
const fields = (v: unknown): unknown => Array.isArray(v) ? 'array'
  : v !== null && typeof v === 'object'
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, k === 'info' ? 'object' : fields((v as Record<string, unknown>)[k])]))
    : typeof v;

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
  /** Every request to /debug/..., with how it was answered. */
  requests: Array<{ method: string; pathname: string; params: URLSearchParams; auth: string | undefined; status: number }> = [];
  endpoints!: ObserverEndpoints;

  constructor(readonly live: TreeAnswer) {}

  reset(connections: number): void {
    this.endpoints = new ObserverEndpoints(this.live.node, () => this.tree(false).tree);
    // the relay and presence monitor every connection
    const watchers = [path('relay'), path('presence')];
    this.endpoints.monitorsOf = (p) => watchers.includes(p)
      ? { monitoring: this.connections.map(connPath), monitoredBy: [] }
      : { monitoring: [], monitoredBy: /connection-\d+$/.test(p) ? watchers : [] };
    this.requests = [];
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
    const request = { method: req.method ?? '', pathname: url.pathname, params: url.searchParams, auth, status: 200 };
    this.requests.push(request);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): true => {
      request.status = status;
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
      this.endpoints.restarted(killed, 'killed');
      return answer(200, { killed });
    }
    return this.endpoints.route(req, res, url, answer);
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
  let foreign: string[];
  let fx: Fixture;
  let live: LiveAnswers;

  const count = (sel: string): Promise<number> => page.locator(sel).count();
  const text = (sel: string): Promise<string> => page.locator(sel).first().innerText();
  const waitPolls = async (n: number): Promise<void> => {
    const target = fx.treeRequests + n;
    await until(`${n} more polls`, () => fx.treeRequests, (c) => c >= target);
  };

  before(async function () {
    this.timeout(30_000);
    live = await liveAnswers();
    fx = new Fixture(live.tree);
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
    // no CDN, no library, no beacon: the page asks its own origin only
    foreign = [];
    page.on('request', (r) => { if (new URL(r.url()).origin !== web.origin && !r.url().startsWith('data:')) foreign.push(r.url()); });
  });

  afterEach(async function () {
    await page.close();
    expect(pageErrors, 'errors in the page').to.deep.equal([]);
    expect(foreign, 'requests to other origins').to.deep.equal([]);
  });

  it('serves the tree the daemon serves: its actors, names, paths, order, fields and info keys', function () {
    expect(shape(fx.tree().tree)).to.deep.equal(shape(fx.live.tree));
  });

  it('answers /debug/top, /debug/actor and /debug/history with the fields the daemon gives them', async function () {
    const fake = async (url: string): Promise<any> => (await fetch(`${web.origin}${url}`)).json();
    const top = await fake('/debug/top?n=5');
    expect(fields(top)).to.deep.equal(fields(live.top));
    expect(fields(top.top[0])).to.deep.equal(fields((live.top as typeof top).top[0]));
    expect(fields(await fake(`/debug/actor?path=${encodeURIComponent(connPath(1))}`))).to.deep.equal(fields(live.actor));
    expect(fields(await fake('/debug/history'))).to.deep.equal(fields(live.history));
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
  // ---- the views of issue 16: processes, detail, trace, charts ----------------------

  const requestsTo = (pathname: string) => fx.requests.filter((r) => r.pathname === pathname);
  const lastTo = (pathname: string) => requestsTo(pathname).at(-1);
  const waitRequests = async (pathname: string, n: number): Promise<void> => {
    const target = requestsTo(pathname).length + n;
    await until(`${n} more requests to ${pathname}`, () => requestsTo(pathname).length, (c) => c >= target);
  };
  const detailPath = (): Promise<string> => text('[data-testid="detail-path"]');
  const tablePaths = (): Promise<Array<string | null>> =>
    page.locator('[data-testid="top-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path')));
  const expectedTop = (by: TopKey, n: number, filter = ''): string[] => topOf(matching(fx.endpoints.rows(), filter), by, n).map((r) => r.path);

  it('lists the actors in a table the daemon sorts (by=), filters (filter=) and cuts (n=), and polls only that view', async function () {
    fx.reset(120); // 247 actors
    for (let n = 1; n <= 120; n++) {
      fx.endpoints.mailboxes.set(connPath(n), (n * 37) % 101);
      fx.endpoints.rates.set(connPath(n), ((n * 53) % 97) / 10);
    }
    await page.goto(`${web.origin}/debug#processes`);
    await until('50 rows', () => count('[data-testid="top-row"]'), (n) => n === 50);
    const first = requestsTo('/debug/top')[0]!;
    expect([first.params.get('by'), first.params.get('n'), first.params.has('filter')]).to.deep.equal(['mailbox', '50', false]);
    expect(await tablePaths()).to.deep.equal(expectedTop('mailbox', 50));
    expect(await text('[data-testid="top-summary"]')).to.equal('showing 50 of 247 matched (of 247 actors) · msgs/s over 1.0 s');
    expect(await page.locator('th:has([data-testid="sort-mailbox"])').getAttribute('aria-sort')).to.equal('descending');
    const firstRow = await page.locator('[data-testid="top-row"]').first().locator('td').allInnerTexts();
    const biggest = topOf(fx.endpoints.rows(), 'mailbox', 1)[0]!;
    expect([firstRow[0], firstRow[1], firstRow[2]]).to.deep.equal([biggest.path, 'connection', String(biggest.mailbox)]);

    // a click on a numeric header sorts by it, in the daemon
    await page.locator('[data-testid="sort-rate"]').click();
    await until('a request by rate', () => lastTo('/debug/top')?.params.get('by'), (by) => by === 'rate');
    await until('the table by rate', tablePaths, (p) => JSON.stringify(p) === JSON.stringify(expectedTop('rate', 50)));
    expect(await page.locator('th:has([data-testid="sort-rate"])').getAttribute('aria-sort')).to.equal('descending');
    expect(await page.locator('th:has([data-testid="sort-mailbox"])').getAttribute('aria-sort')).to.equal(null);
    const top = expectedTop('rate', 1)[0]!;
    expect(await page.locator(`[data-testid="top-row"][data-path="${top}"] td[data-key="rate"]`).innerText())
      .to.equal(fx.endpoints.rates.get(top)!.toFixed(1));

    // the filter box asks the daemon, once typing pauses
    const typed = requestsTo('/debug/top').length;
    await page.locator('[data-testid="top-filter"]').pressSequentially('consumer', { delay: 20 });
    await until('a filtered request', () => lastTo('/debug/top')?.params.get('filter'), (f) => f === 'consumer');
    const filtered = requestsTo('/debug/top').slice(typed).filter((r) => r.params.has('filter'));
    expect(filtered.length, 'debounced: fewer requests than keystrokes').to.be.lessThan('consumer'.length);
    expect(filtered.at(-1)!.params.get('by')).to.equal('rate');
    await until('consumers only', () => text('[data-testid="top-summary"]'), (t) => t === 'showing 50 of 120 matched (of 247 actors) · msgs/s over 1.0 s');
    expect(await page.locator('[data-testid="top-row"]').evaluateAll((rows) => [...new Set(rows.map((r) => r.getAttribute('data-behaviour')))]))
      .to.deep.equal(['consumer']);

    // show more raises n
    await page.locator('[data-testid="top-more"]').click();
    await until('n=100', () => lastTo('/debug/top')?.params.get('n'), (n) => n === '100');
    await until('100 rows', () => count('[data-testid="top-row"]'), (n) => n === 100);
    expect(await text('[data-testid="top-summary"]')).to.equal('showing 100 of 120 matched (of 247 actors) · msgs/s over 1.0 s');
    await page.locator('[data-testid="top-more"]').click();
    await until('all 120', () => count('[data-testid="top-row"]'), (n) => n === 120);
    expect(await page.locator('[data-testid="top-more"]').isVisible(), 'nothing more to show').to.equal(false);

    // the tree is not asked while it is not shown; the table is not asked once the tree shows
    expect(requestsTo('/debug/tree').length, 'no /debug/tree for the processes view').to.equal(0);
    await page.locator('[data-testid="tab-tree"]').click();
    await page.locator(actorSel(path('relay'))).waitFor();
    const tops = requestsTo('/debug/top').length;
    await waitPolls(3);
    expect(requestsTo('/debug/top').length, 'no /debug/top for the tree view').to.equal(tops);
  });

  it('opens an actor from the tree in a detail panel: links, monitors, restart history, each path a link', async function () {
    fx.reset(120);
    fx.restarts.set(connPath(2), 2);
    fx.endpoints.restartHistory.set(connPath(2), [
      { at: '2026-05-01T10:00:00.000Z', reason: 'shutdown: socket closed' },
      { at: '2026-05-01T10:05:00.000Z', reason: 'error: Error: boom' },
    ]);
    await page.goto(`${web.origin}/debug`);
    await page.locator(`${actorSel(connPath(2))} [data-testid="actor-name"]`).click();
    const detail = page.locator('[data-testid="detail"]');
    await detail.waitFor({ state: 'visible' });
    expect(await detailPath()).to.equal(connPath(2));
    await until('the figures', () => text('[data-testid="detail-status"]'), (t) => t === 'running');
    expect(lastTo('/debug/actor')!.params.get('path')).to.equal(connPath(2));
    expect(await text('[data-testid="detail-behaviour"]')).to.equal('connection');
    expect(await text('[data-testid="detail-restarts"]')).to.equal('2');
    expect(await text('[data-testid="detail-info"] [data-key="name"]')).to.contain('user-2');

    // links: the parent and the children
    expect(await page.locator('[data-testid="detail-parent"]').getAttribute('data-path')).to.equal(path('connection_sup'));
    expect(await page.locator('[data-testid="detail-children"] [data-testid="detail-link"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-path'))))
      .to.deep.equal([consumerPath(2)]);
    // monitors, with counts
    expect(await text('[data-testid="detail-monitored-by"]')).to.match(/monitored by \(2\)/);
    expect(await page.locator('[data-testid="detail-monitored-by"] [data-testid="detail-link"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-path'))))
      .to.deep.equal([path('relay'), path('presence')]);
    expect(await text('[data-testid="detail-monitoring"]')).to.match(/monitoring \(0\)\s*none/);
    // restart history, newest first
    const restarts = await page.locator('[data-testid="restart"] .reason').allInnerTexts();
    expect(restarts).to.deep.equal(['error: Error: boom', 'shutdown: socket closed']);

    // a click on a path opens that actor: the parent, with its first 100 children and the rest counted
    await page.locator('[data-testid="detail-parent"]').click();
    await until('the parent', detailPath, (p) => p === path('connection_sup'));
    await until('its children', () => count('[data-testid="detail-children"] [data-testid="detail-link"]'), (n) => n === 100);
    expect(await text('[data-testid="detail-children"] [data-testid="more"]')).to.equal('+20 more');
    expect(await page.locator('[data-testid="detail-children"]').getAttribute('data-count')).to.equal('120');
    expect(await text('[data-testid="detail-strategy"]')).to.equal('simple_one_for_one');
    expect(await text('[data-testid="detail-restart-history"]')).to.equal('never restarted');
    expect(lastTo('/debug/actor')!.params.get('path')).to.equal(path('connection_sup'));

    // on to connection-5, and from there to the relay that monitors it
    await page.locator(`[data-testid="detail-children"] [data-path="${connPath(5)}"]`).click();
    await until('connection-5', detailPath, (p) => p === connPath(5));
    await page.locator(`[data-testid="detail-monitored-by"] [data-path="${path('relay')}"]`).click();
    await until('the relay', detailPath, (p) => p === path('relay'));
    await until('whom it monitors', () => text('[data-testid="detail-monitoring"]'), (t) => /^monitoring \(120\)/.test(t));
    expect(await text('[data-testid="detail-monitoring"] [data-testid="more"]')).to.equal('+20 more');

    // kill from the panel: the restart shows in its history
    await page.locator('[data-testid="detail-kill"]').click();
    await until('the kill', () => fx.kills.length, (n) => n === 1);
    expect(fx.kills[0]!.path).to.equal(path('relay'));
    await until('kill result', () => text('[data-testid="detail-kill-result"]'), (t) => t === 'killed');
    await until('the restart in its history', () => page.locator('[data-testid="restart"] .reason').allInnerTexts(), (r) => r.join() === 'killed');
    expect(await text('[data-testid="detail-restarts"]')).to.equal('1');

    // closed, it asks no more
    await page.locator('[data-testid="detail-close"]').click();
    expect(await detail.isVisible()).to.equal(false);
    const asked = requestsTo('/debug/actor').length;
    await waitPolls(3);
    expect(requestsTo('/debug/actor').length, 'no /debug/actor once closed').to.be.at.most(asked + 1);
  });

  it('traces an actor from its detail panel: rows stream in, the end reason shows, Stop aborts the request', async function () {
    await page.goto(`${web.origin}/debug#processes`);
    await page.locator(`[data-testid="top-row"][data-path="${connPath(1)}"] [data-testid="top-path"]`).click();
    await until('the detail', detailPath, (p) => p === connPath(1));
    await page.locator('[data-testid="trace-count"]').fill('5');
    await page.locator('[data-testid="trace-start"]').click();
    await until('5 rows', () => count('[data-testid="trace-row"]'), (n) => n === 5);
    const status = page.locator('[data-testid="trace-status"]');
    await until('the end', () => status.getAttribute('data-reason'), (r) => r === 'count');
    expect(await status.innerText()).to.equal('ended: count · 5 traced');
    const trace = requestsTo('/debug/trace')[0]!;
    expect(trace.method).to.equal('POST');
    expect(Object.fromEntries(trace.params)).to.deep.equal({ path: connPath(1), count: '5', rate: '1000' });
    expect(fx.endpoints.traces[0]).to.include({ path: connPath(1), sent: 5, closedEarly: false });
    const cells = await page.locator('[data-testid="trace-row"]').first().locator('td').allInnerTexts();
    expect([cells[0], cells[2], cells[3], cells[4], cells[5]]).to.deep.equal(['1', 'frame', '101', '1', '10']);
    expect(cells[1]).to.match(/^\d\d:\d\d:\d\d\.\d{3}$/);
    expect(await page.locator('[data-testid="trace-stop"]').isDisabled()).to.equal(true);
    await page.locator('[data-testid="detail-trace"]').scrollIntoViewIfNeeded();
    await saveScreenshot(page, 'observer-trace');

    // a long trace, stopped by hand: the page closes the request, the daemon stops sending
    fx.endpoints.traceEveryMs = 100;
    await page.locator('[data-testid="trace-count"]').fill('1000');
    await page.locator('[data-testid="trace-start"]').click();
    await until('rows of the second trace', () => count('[data-testid="trace-row"]'), (n) => n >= 3);
    await page.locator('[data-testid="trace-stop"]').click();
    await until('the request closed', () => fx.endpoints.traces[1]?.closedEarly, (closed) => closed === true);
    await until('stopped', () => status.getAttribute('data-reason'), (r) => r === 'stopped');
    const sent = fx.endpoints.traces[1]!.sent;
    expect(sent).to.be.lessThan(1000);
    await waitRequests('/debug/actor', 2);
    expect(fx.endpoints.traces[1]!.sent, 'no message after the stop').to.equal(sent);
    expect(await count('[data-testid="trace-row"]')).to.be.at.most(sent);
    expect(await page.locator('[data-testid="trace-start"]').isDisabled()).to.equal(false);
  });

  it('charts ten minutes of /debug/history in SVG: a line per series, the latest values, the marks, then since= the last point', async function () {
    const ep = fx.endpoints;
    const end = ep.historyEnd;
    ep.marks = [
      { at: end - 120_000, kind: 'broker', state: 'reconnecting' },
      { at: end - 100_000, kind: 'broker', state: 'connected' },
      { at: end - 30_000, kind: 'crash', path: path('relay'), reason: 'error: Error: boom' },
      { at: end - 29_800, kind: 'restart', path: path('relay'), reason: 'error: Error: boom' },
    ];
    await page.goto(`${web.origin}/debug#charts`);
    const latest = (series: string): Promise<string> => text(`[data-testid="latest"][data-series="${series}"]`);
    await until('the history drawn', () => latest('connections'), (t) => t === '1,600');
    expect(requestsTo('/debug/history')[0]!.params.has('since'), 'the whole history first').to.equal(false);

    // one line per series, each of the 600 points
    const lines = await page.locator('[data-testid="chart"]').evaluateAll((charts) => charts.map((c) => [
      c.getAttribute('data-chart'),
      [...c.querySelectorAll('[data-testid="series"]')].map((p) => [p.getAttribute('data-series'), p.getAttribute('data-points'), (p.getAttribute('d') ?? '').match(/[ML]/g)?.length]),
    ]));
    const drawn = (...series: string[]) => series.map((k) => [k, '600', 600]);
    expect(lines).to.deep.equal([
      ['connections', drawn('connections')],
      ['messages', drawn('messages', 'deliveries', 'actorMessages')],
      ['lag', drawn('lagMs', 'lagMaxMs')],
      ['relay', drawn('relayMailbox')],
      ['memory', drawn('rss', 'heapUsed')],
    ]);
    // the latest values, as text, and the point they were drawn at: the right edge, scaled to the chart's top
    expect(await Promise.all(['messages', 'deliveries', 'actorMessages', 'lagMs', 'lagMaxMs', 'relayMailbox', 'rss', 'heapUsed'].map(latest)))
      .to.deep.equal(['40.0', '80.0', '300', '1.0 ms', '10.0 ms', '5', '200.6 MiB', '90.0 MiB']);
    expect(await text('[data-chart="connections"] [data-testid="scale"]')).to.equal('2,000');
    const geometry = await page.locator('[data-chart="connections"]').evaluate((c) => ({
      viewBox: c.querySelector('svg')!.getAttribute('viewBox'),
      last: (c.querySelector('[data-testid="series"]')!.getAttribute('d') ?? '').split(' ').at(-1),
    }));
    const [x0, , width] = geometry.viewBox!.split(' ').map(Number);
    expect(geometry.last).to.equal(`L${(x0! + width!).toFixed(1)},${(100 - (1600 / 2000) * 96).toFixed(1)}`);
    expect(await text('[data-testid="connections-total"]'), 'the totals from the history').to.equal('1,600');

    // the marks: one rule per second on every chart, with what happened as its tooltip
    const marks = await page.locator('[data-chart="memory"] [data-testid="mark"]').evaluateAll((gs) =>
      gs.map((g) => [g.getAttribute('data-tone'), g.querySelector('title')!.textContent]));
    expect(marks.map(([tone]) => tone)).to.deep.equal(['warn', 'good', 'bad']);
    expect(marks[0]![1]).to.match(/\d\d:\d\d:\d\d broker reconnecting$/);
    expect(marks[2]![1]).to.match(/crash \/warren_sup\/relay: error: Error: boom\n.* restart \/warren_sup\/relay: error: Error: boom$/);
    expect(await count('[data-testid="chart"] [data-testid="mark"]')).to.equal(5 * 3);
    expect(await page.locator('[data-testid="mark-list"] li').allInnerTexts()).to.have.length(4);

    // then only what is new: since= the last point; the window moves on, 600 points
    await until('since= the last point', () => lastTo('/debug/history')?.params.get('since'), (s) => s === String(end));
    ep.historyEnd = end + 3000;
    await until('three more seconds', () => latest('connections'), (t) => t === '1,603');
    expect(await page.locator('[data-series="connections"][data-testid="series"]').getAttribute('data-points')).to.equal('600');
    await until('since= the new last point', () => lastTo('/debug/history')?.params.get('since'), (s) => s === String(end + 3000));
    expect(requestsTo('/debug/tree').length + requestsTo('/debug/top').length, 'only the history is asked for the charts').to.equal(0);
    await saveScreenshot(page, 'observer-charts');
  });

  it('sends the bearer token on every request of every view, and asks no other origin', async function () {
    fx.token = 's3cret';
    await page.goto(`${web.origin}/debug#processes`);
    await page.locator('[data-testid="token-form"]').waitFor({ state: 'visible' });
    await page.locator('[data-testid="token-input"]').fill('s3cret');
    await page.locator('[data-testid="token-submit"]').click();
    await page.locator(`[data-testid="top-row"][data-path="${connPath(2)}"] [data-testid="top-path"]`).click();
    await until('the detail', () => text('[data-testid="detail-status"]'), (t) => t === 'running');
    await page.locator('[data-testid="trace-count"]').fill('2');
    await page.locator('[data-testid="trace-start"]').click();
    await until('the trace', () => page.locator('[data-testid="trace-status"]').getAttribute('data-reason'), (r) => r === 'count');
    await page.locator('[data-testid="detail-kill"]').click();
    await until('the kill', () => fx.kills.length, (n) => n === 1);
    await page.locator('[data-testid="tab-charts"]').click();
    await until('the charts', () => text('[data-testid="latest"][data-series="connections"]'), (t) => t === '1,600');
    await page.locator('[data-testid="tab-tree"]').click();
    await page.locator(actorSel(consumerPath(1))).waitFor();

    const refused = fx.requests.filter((r) => r.status === 401);
    expect(refused.length, 'the requests before the token').to.be.greaterThan(0);
    expect(refused.every((r) => r.auth === undefined)).to.equal(true);
    const sent = fx.requests.filter((r) => r.status !== 401);
    expect([...new Set(sent.map((r) => `${r.method} ${r.pathname}`))].sort()).to.deep.equal([
      'GET /debug/actor', 'GET /debug/history', 'GET /debug/top', 'GET /debug/tree', 'POST /debug/kill', 'POST /debug/trace',
    ]);
    expect(sent.filter((r) => r.auth !== 'Bearer s3cret'), 'requests without the token').to.deep.equal([]);
    expect(foreign).to.deep.equal([]);
  });
});
