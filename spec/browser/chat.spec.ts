/**
 * What a user of the chat page sees (Debian's Chromium through
 * playwright-core, the daemon on RabbitMQ): two pages chat, and they come
 * through a restart of their daemon and dropped sockets by themselves, with
 * every message shown once.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { connectionOf, fetchTree, killActor } from '../support/admin';
import { BROKERS } from '../support/brokers';
import { saveScreenshot } from '../support/browser';
import { CONNECTED, GAP, STATUS, joinRoom, joinedTab, shown, typeAndSend, untilPresence, untilShown } from '../support/chat_page';
import { ChatClient, type Frame } from '../support/client';
import { Daemon } from '../support/daemon';
import { until } from '../support/eventually';
import { useBrowser, useDaemon } from '../support/lifecycle';
import { TcpRelay } from '../support/tcp_relay';

// A recovery of at most 3 messages: a page that misses 4 gets recovered: false.
const ENV = { HISTORY_MAX_RECOVER: '3' };
// Rooms of this run: RabbitMQ keeps every room's history for the whole run, across spec files.
const run = randomUUID().slice(0, 8);
const room = (name: string): string => `${name}-${run}`;

describe('the chat page, on daemons on RabbitMQ', function () {
  this.timeout(60_000);
  const browser = useBrowser();
  const daemon = useDaemon(BROKERS[1], { env: ENV });

  async function pageAs(name: string, rooms: readonly string[], at: Pick<Daemon, 'url'> = daemon()): Promise<Page> {
    const page = await browser().context.newPage();
    await page.goto(at.url(`/?name=${name}&room=${rooms[0]}`));
    await page.waitForSelector(CONNECTED);
    for (const more of rooms.slice(1)) await joinRoom(page, more);
    return page;
  }

  /** Another user, on `node`, in all these rooms. */
  async function clientIn(name: string, [first, ...more]: readonly string[]): Promise<ChatClient> {
    const client = await ChatClient.connect(daemon().wsUrl(`name=${name}&room=${first}`));
    for (const joined of more) {
      client.send({ type: 'join', room: joined, id: `join-${joined}` });
      await client.next('joined', { id: `join-${joined}` });
    }
    return client;
  }

  async function sayAll(client: ChatClient, room: string, texts: readonly string[]): Promise<void> {
    for (const text of texts) {
      const id = `${room}-${text}`;
      client.send({ type: 'say', room, text, id });
      await client.next('ack', { id });
    }
  }

  const messagesOf = (client: ChatClient, text: string): Frame[] => client.frames.filter((f) => f.type === 'message' && f['text'] === text);

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
      await page.waitForSelector(CONNECTED, { timeout: 40_000 });
    };
  }

  it('lets two pages chat, shows markup as text, and lists both in the room, until one closes', async () => {
    // A plain room name (no other spec uses it) for the README's screenshot, at docs/chat.png's size.
    const alice = await pageAs('alice', ['general']);
    await alice.setViewportSize({ width: 1000, height: 640 });
    const bob = await pageAs('bob', ['general']);
    for (const page of [alice, bob]) await untilPresence(page, ['alice', 'bob'], '2 users · 2 connections');

    await typeAndSend(alice, 'hello <b>bob</b>');
    await untilShown(bob, 'general', ['hello <b>bob</b>']);
    await typeAndSend(bob, 'hi alice: the tags came through as text');
    for (const page of [alice, bob]) await untilShown(page, 'general', ['hello <b>bob</b>', 'hi alice: the tags came through as text']);
    expect(await bob.locator('[data-testid="messages"] b').count(), 'markup is shown as text').to.equal(0);
    await alice.waitForSelector('[data-testid="message"].own[data-state="delivered"]');
    const from = await alice.locator('[data-testid="message"]', { hasText: 'hi alice' }).locator('[data-testid="message-from"]').textContent();
    expect(from).to.equal('bob');
    await saveScreenshot(alice, 'chat-two-pages');

    await bob.close();
    await untilPresence(alice, ['alice'], '1 user · 1 connection');
    await alice.close();
  });

  it('comes back by itself in both pages when their daemon restarts: what was typed or said meanwhile shows once', async () => {
    const amqpUrl = (await BROKERS[1].amqpUrl())!;
    let current = await Daemon.start({ amqpUrl, env: ENV });
    const relay = await TcpRelay.start(current.port);
    try {
      const rooms = [room('restart')];
      const alice = await pageAs('ann', rooms, relay);
      const bob = await pageAs('ben', rooms, relay);
      // On the spec's other daemon, attached to the same RabbitMQ: it talks while the pages' daemon is down.
      const carol = await clientIn('carol', rooms);
      await sayAll(carol, room('restart'), ['before']);
      for (const page of [alice, bob]) await untilShown(page, room('restart'), ['before']);
      for (const page of [alice, bob]) await untilPresence(page, ['ann', 'ben', 'carol'], '3 users · 3 connections');

      relay.target = undefined;
      await current.stop();
      for (const page of [alice, bob]) await page.waitForSelector(`${STATUS}[data-state="reconnecting"]`);
      await typeAndSend(alice, 'typed offline');
      await sayAll(carol, room('restart'), ['said 1', 'said 2']);
      expect(await alice.getAttribute('[data-testid="message"].own', 'data-state')).to.equal('pending');
      current = await Daemon.start({ amqpUrl, env: ENV });
      relay.target = current.port;

      for (const page of [alice, bob]) await page.waitForSelector(CONNECTED, { timeout: 40_000 });
      await alice.waitForSelector('[data-testid="message"].own[data-state="delivered"]');
      await sayAll(carol, room('restart'), ['after']);
      const inOrder = ['before', 'said 1', 'said 2', 'typed offline', 'after'];
      await untilShown(bob, room('restart'), inOrder);
      // Alice's own line stays where she typed it, unless its delivery overtook its ack: the same lines, each once.
      await until('alice to show every line once', () => shown(alice), (now) => JSON.stringify([...now].sort()) === JSON.stringify([...inOrder].sort()));
      expect(messagesOf(carol, 'typed offline'), 'delivered once').to.have.length(1);
      for (const page of [alice, bob]) await untilPresence(page, ['ann', 'ben', 'carol'], '3 users · 3 connections');
      await alice.close();
      await bob.close();
    } finally {
      await current.stop();
      await relay.close();
    }
  });

  it('shows every message of every room once, in order, after its socket dropped, and keeps its client key across a reload', async () => {
    const page = await pageAs('pam', [room('rec-a'), room('rec-b')]);
    const carol = await clientIn('carol', [room('rec-a'), room('rec-b')]);
    await sayAll(carol, room('rec-a'), ['a1']);
    await sayAll(carol, room('rec-b'), ['b1']);
    await untilShown(page, room('rec-a'), ['a1']);
    await untilShown(page, room('rec-b'), ['b1']);
    const opened: URL[] = [];
    page.on('websocket', (ws) => opened.push(new URL(ws.url())));
    const back = await dropPage(page, 'pam');
    await sayAll(carol, room('rec-a'), ['a2', 'a3']);
    await sayAll(carol, room('rec-b'), ['b2', 'b3']);
    await back();
    await page.waitForSelector(joinedTab(room('rec-b')));
    await sayAll(carol, room('rec-a'), ['a4']);
    await sayAll(carol, room('rec-b'), ['b4']);
    await untilShown(page, room('rec-a'), ['a1', 'a2', 'a3', 'a4']);
    await untilShown(page, room('rec-b'), ['b1', 'b2', 'b3', 'b4']);

    const key = opened.at(-1)!.searchParams.get('client');
    expect(key, 'the key that scopes resends').to.match(/^[A-Za-z0-9_-]{16,64}$/);
    await page.reload();
    await page.waitForSelector(CONNECTED);
    expect(opened.at(-1)!.searchParams.get('client'), 'the same key after a reload of the tab').to.equal(key);
    await page.close();
  });

  it('marks where messages may be missing in every room the server cannot recover, showing none twice', async () => {
    const rooms = [room('gap-a'), room('gap-b')]; // recovered on connect, and by a join after welcome
    const page = await pageAs('gil', rooms);
    const carol = await clientIn('carol', rooms);
    for (const r of rooms) {
      await sayAll(carol, r, ['1', '2']);
      await untilShown(page, r, ['1', '2']);
    }
    const back = await dropPage(page, 'gil');
    for (const r of rooms) await sayAll(carol, r, ['3', '4', '5', '6']); // one more than a recovery sends
    await back();
    await page.waitForSelector(joinedTab(room('gap-b')));
    for (const r of rooms) {
      await sayAll(carol, r, ['7']);
      // Instead the server replays the room's history, 1 and 2 included.
      await untilShown(page, r, ['1', '2', GAP, '3', '4', '5', '6', '7']);
    }
    expect(await page.textContent('[data-testid="gap"]')).to.match(/messages may be missing here/);
    await saveScreenshot(page, 'chat-gap');
    await page.close();
  });

  it('resends a say whose ack the drop lost under its first id, by itself, so that it shows once', async () => {
    const page = await browser().context.newPage();
    let sockets = 0;
    await page.routeWebSocket(/\/websocket/, (ws) => {
      const acksLost = ++sockets === 1; // on the first socket only
      const server = ws.connectToServer();
      server.onMessage((frame) => {
        if (!(acksLost && typeof frame === 'string' && (JSON.parse(frame) as { type: string }).type === 'ack')) ws.send(frame);
      });
    });
    await page.goto(daemon().url(`/?name=rey&room=${room('resend')}`));
    await page.waitForSelector(CONNECTED);
    const carol = await clientIn('carol', [room('resend')]);
    await typeAndSend(page, 'once only');
    await carol.next('message', { text: 'once only' }); // published; its ack never reaches the page
    await crashConnectionOf('rey');
    await page.waitForSelector('[data-testid="message"].own[data-state="delivered"]', { timeout: 30_000 });

    await sayAll(carol, room('resend'), ['after']);
    await untilShown(page, room('resend'), ['once only', 'after']);
    expect(messagesOf(carol, 'once only')).to.have.length(1);
    expect(sockets, 'the page reconnected').to.equal(2);
    await page.close();
  });
});
