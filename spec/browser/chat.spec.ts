/**
 * What a new user does: open the chat page of a running daemon in two tabs
 * and chat (Debian's Chromium through playwright-core); and what the page
 * recovers when its connection drops.
 */
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { connectionOf, fetchTree, killActor } from '../support/admin';
import { saveScreenshot } from '../support/browser';
import { ChatClient } from '../support/client';
import { until } from '../support/eventually';
import { useBrowser, useDaemon } from '../support/lifecycle';

const STATUS = '[data-testid="status"]';
const RECONNECT_NOW = '[data-testid="reconnect-now"]';
const GAP = '(gap)';

describe('the chat page, on a running daemon', function () {
  this.timeout(60_000);
  // A recovery of at most 3 messages: a page that misses 4 gets recovered: false.
  const daemon = useDaemon(undefined, { env: { HISTORY_MAX_RECOVER: '3' } });
  const browser = useBrowser();

  async function openAs(page: Page, name: string, room = 'lobby'): Promise<void> {
    await page.goto(daemon().url(`/?name=${name}&room=${room}&autoconnect=1`));
    await page.waitForSelector(`${STATUS}[data-state="connected"]`);
  }

  /** What a room of the page shows, in order: message texts, and GAP for a missing-messages line. */
  async function shown(page: Page, room: string): Promise<string[]> {
    await page.click(`[data-testid="room-tab"][data-room="${room}"]`);
    return page.$$eval('[data-testid="messages"] > li', (items, gap) =>
      items.map((li) => (li.matches('[data-testid="gap"]') ? gap : li.querySelector('[data-testid="message-text"]')!.textContent!)), GAP);
  }

  function untilShown(page: Page, room: string, texts: string[]): Promise<string[]> {
    return until(`#${room} to show ${JSON.stringify(texts)}`, () => shown(page, room), (now) => JSON.stringify(now) === JSON.stringify(texts), 20_000);
  }

  /** A page connected to the first room, having joined the others too. */
  async function pageIn(name: string, [first, ...more]: string[]): Promise<Page> {
    const page = await browser().context.newPage();
    await openAs(page, name, first);
    for (const room of more) {
      await page.fill('[data-testid="join-input"]', room);
      await page.click('[data-testid="join"]');
      await untilJoined(page, room);
    }
    return page;
  }

  function untilJoined(page: Page, room: string): Promise<unknown> {
    return page.waitForSelector(`.room-tabs li[data-state="joined"]:has([data-room="${room}"])`);
  }

  /** Another user, in all these rooms. */
  async function clientIn(name: string, [first, ...more]: string[]): Promise<ChatClient> {
    const client = await ChatClient.connect(daemon().wsUrl(`name=${name}&room=${first}`));
    for (const room of more) {
      client.send({ type: 'join', room, id: `join-${room}` });
      await client.next('joined', { id: `join-${room}` });
    }
    return client;
  }

  /** The page reconnects after this: its socket closes with 1011. */
  async function crashConnectionOf(name: string): Promise<void> {
    const connection = connectionOf((await fetchTree(daemon())).tree, name);
    expect((await killActor(daemon(), connection!.path)).status).to.equal(200);
  }

  /**
   * Crashes the connection actor of the page's socket (close 1011) with the
   * page offline, so that it stays away until the returned function brings
   * it back and waits for its welcome.
   */
  async function dropPage(page: Page, name: string): Promise<() => Promise<void>> {
    await page.context().setOffline(true);
    await crashConnectionOf(name);
    await page.waitForSelector(`${STATUS}[data-state="reconnecting"]`);
    return async () => {
      await page.context().setOffline(false);
      await until('the page to be welcomed again', async () => {
        if (await page.isVisible(RECONNECT_NOW)) await page.click(RECONNECT_NOW, { timeout: 1_000 }).catch(() => undefined);
        return page.getAttribute(STATUS, 'data-state');
      }, (state) => state === 'connected', 20_000);
    };
  }

  async function sayAll(client: ChatClient, room: string, texts: string[]): Promise<void> {
    for (const text of texts) {
      const id = `${room}-${text}`;
      client.send({ type: 'say', room, text, id });
      await client.next('ack', { id });
    }
  }

  it('lets two tabs chat, each message shown as text in both', async () => {
    const alice = browser().page;
    const bob = await browser().context.newPage();
    await openAs(alice, 'alice');
    await openAs(bob, 'bob');

    await alice.fill('[data-testid="input"]', 'hello <b>bob</b>');
    await alice.press('[data-testid="input"]', 'Enter');
    for (const page of [alice, bob]) {
      await page.waitForSelector('[data-testid="message"] >> text=hello <b>bob</b>');
    }
    expect(await bob.locator('[data-testid="message"] b').count(), 'markup is shown as text').to.equal(0);
    await alice.waitForSelector('[data-testid="message"][data-state="delivered"]');

    await bob.fill('[data-testid="input"]', 'hi alice');
    await bob.press('[data-testid="input"]', 'Enter');
    await alice.waitForSelector('[data-testid="message"] >> text=hi alice');
    const from = await alice.locator('[data-testid="message"]', { hasText: 'hi alice' }).locator('[data-testid="message-from"]').textContent();
    expect(from).to.equal('bob');
    await saveScreenshot(alice, 'chat-two-tabs');
  });

  it('shows every message of every room exactly once, in order, after its socket dropped and came back under the same client key', async () => {
    const page = await pageIn('pam', ['rec-a', 'rec-b']);
    const carol = await clientIn('carol', ['rec-a', 'rec-b']);

    await sayAll(carol, 'rec-a', ['a1']);
    await sayAll(carol, 'rec-b', ['b1']);
    await untilShown(page, 'rec-a', ['a1']);
    await untilShown(page, 'rec-b', ['b1']);
    const opened: URL[] = [];
    page.on('websocket', (ws) => opened.push(new URL(ws.url())));
    const back = await dropPage(page, 'pam');
    await sayAll(carol, 'rec-a', ['a2', 'a3']);
    await sayAll(carol, 'rec-b', ['b2', 'b3']);
    await back();
    await untilJoined(page, 'rec-b');
    await sayAll(carol, 'rec-a', ['a4']);
    await sayAll(carol, 'rec-b', ['b4']);

    await untilShown(page, 'rec-a', ['a1', 'a2', 'a3', 'a4']);
    await untilShown(page, 'rec-b', ['b1', 'b2', 'b3', 'b4']);

    const client = opened.at(-1)!.searchParams.get('client');
    expect(client, 'the key that scopes resends').to.match(/^[A-Za-z0-9_-]{16,64}$/);
    await page.reload();
    await page.waitForSelector(`${STATUS}[data-state="connected"]`);
    expect(opened.at(-1)!.searchParams.get('client'), 'the same key after a reload of the tab').to.equal(client);
    await page.close();
  });

  it('marks where messages may be missing in every room the server cannot recover, without showing any twice', async () => {
    const rooms = ['gap-a', 'gap-b']; // recovered on connect, and by a join after welcome
    const page = await pageIn('gil', rooms);
    const carol = await clientIn('carol', rooms);
    for (const room of rooms) {
      await sayAll(carol, room, ['1', '2']);
      await untilShown(page, room, ['1', '2']);
    }
    const back = await dropPage(page, 'gil');
    for (const room of rooms) await sayAll(carol, room, ['3', '4', '5', '6']); // one more than a recovery sends
    await back();
    await untilJoined(page, 'gap-b');
    for (const room of rooms) {
      await sayAll(carol, room, ['7']);
      // Instead the server replays the room's history, 1 and 2 included.
      await untilShown(page, room, ['1', '2', GAP, '3', '4', '5', '6', '7']);
    }
    expect(await page.locator('[data-testid="gap"]').textContent()).to.match(/missing/);
    await saveScreenshot(page, 'chat-gap');
    await page.close();
  });

  it('retries a say that the drop left unconfirmed under its first id, so that it is delivered once', async () => {
    const page = await browser().context.newPage();
    let sockets = 0;
    await page.routeWebSocket(/\/websocket/, (ws) => {
      const acksLost = ++sockets === 1; // on the first socket only
      const server = ws.connectToServer();
      server.onMessage((frame) => {
        if (!(acksLost && typeof frame === 'string' && (JSON.parse(frame) as { type: string }).type === 'ack')) ws.send(frame);
      });
    });
    await openAs(page, 'rey', 'retry');
    const carol = await clientIn('carol', ['retry']);
    await page.fill('[data-testid="input"]', 'once only');
    await page.press('[data-testid="input"]', 'Enter');
    await carol.next('message', { text: 'once only' }); // published; its ack never reaches the page
    await crashConnectionOf('rey');
    await page.waitForSelector('[data-testid="message"][data-state="failed"]');
    await page.waitForSelector(`${STATUS}[data-state="connected"]`);
    await page.click('[data-testid="retry"]');
    await page.waitForSelector('[data-testid="message"].own[data-state="delivered"]');

    await sayAll(carol, 'retry', ['after']);
    await untilShown(page, 'retry', ['once only', 'after']);
    expect(carol.frames.filter((f) => f.type === 'message' && f.text === 'once only')).to.have.length(1);
    await page.close();
  });
});
