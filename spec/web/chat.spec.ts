// Component spec of the chat page (web/index.html, chat*.js on the client
// library client/warren.mjs) in headless Chromium, against a stand-in
// daemon (spec/support/stand_in_daemon.ts): what the page does with what the
// library tells it, without a real daemon.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { launchBrowser, saveScreenshot, type LaunchedBrowser, type WebServer } from '../support/browser';
import { CONNECTED, GAP, STATUS, joinRoom, joinedTab, shown, tab, typeAndSend, untilPresence, untilShown } from '../support/chat_page';
import { until } from '../support/eventually';
import { serveChatPage, type StandInDaemon } from '../support/stand_in_daemon';

// page.evaluate callbacks run in the browser; no DOM lib in this project.
declare const window: any;
declare const document: any;
declare const location: any;
declare const getComputedStyle: any;

const msg = (sel = ''): string => `[data-testid="messages"] [data-testid="message"]${sel}`;

describe('chat page (web/index.html) on the client library, against a stand-in daemon', function () {
  let browser: LaunchedBrowser;
  let web: WebServer;
  let daemon: StandInDaemon;
  let pages: Page[];
  let pageErrors: string[];

  before(async function () {
    this.timeout(30_000);
    ({ web, daemon } = await serveChatPage());
    browser = await launchBrowser();
  });

  after(async function () {
    daemon?.close();
    await browser?.close();
    await web?.close();
  });

  beforeEach(() => {
    pages = [];
    pageErrors = [];
    Object.assign(daemon, { failNextSay: null, deliverBeforeAck: false, lossy: false, heldSays: null });
    daemon.forbidden.clear();
  });

  afterEach(async function () {
    for (const page of pages) await page.close();
    expect(pageErrors, 'errors in the page').to.deep.equal([]);
  });

  /** Opens the page at `path` and waits until it is connected, with no click. */
  async function open(path: string, viewport?: { width: number; height: number }): Promise<Page> {
    const page = await browser.context.newPage();
    pages.push(page);
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    if (viewport) await page.setViewportSize(viewport);
    await page.goto(`${web.origin}${path}`);
    await page.waitForSelector(CONNECTED);
    return page;
  }

  it('connects on load to the room in the hash, and the hash follows the room on screen', async () => {
    const page = await open('/?name=alice#dev');
    expect(daemon.urls.at(-1)).to.match(/^\/websocket\?name=alice&room=dev&client=[A-Za-z0-9_-]{16,64}$/);
    expect(await page.textContent(STATUS)).to.equal('Connected as alice.');
    expect(await page.getAttribute(tab('dev'), 'aria-current')).to.equal('true');

    await joinRoom(page, 'ops');
    expect(new URL(page.url()).hash).to.equal('#ops');
    await page.click(tab('dev'));
    expect(new URL(page.url()).hash).to.equal('#dev');
    await page.evaluate(() => { location.hash = 'side'; });
    await page.waitForSelector(`${joinedTab('side')} [aria-current="true"]`);

    await open('/?name=alice#room=qa');
    expect(daemon.urls.at(-1)).to.match(/[?&]room=qa&/);
  });

  it('renames at any time, keeping its rooms, and opens again under the last name and room used', async () => {
    const page = await open('/?name=first&room=lobby');
    await joinRoom(page, 'zroom');
    await page.fill('[data-testid="name"]', 'zed');
    await page.press('[data-testid="name"]', 'Enter');
    await until('the page connected as zed', () => page.textContent(STATUS), (t) => t === 'Connected as zed.');
    await until('zed back in zroom', () => daemon.clientNamed('zed')?.rooms.has('zroom'), (b) => b === true);
    await page.waitForSelector(joinedTab('zroom'));

    await open('/');
    expect(daemon.urls.at(-1)).to.match(/^\/websocket\?name=zed&room=zroom&/);
  });

  it('sends with Enter, shows own messages pending, sent, then delivered, and markup in messages as text', async () => {
    const page = await open('/?name=alice&room=markup');
    const evil = '<b>bold</b><img src=x onerror="window.pwned=1"> & ok';
    daemon.heldSays = [];
    await typeAndSend(page, evil);
    const mine = page.locator(msg('.own'));
    const state = async (): Promise<[string | null, string]> => [await mine.getAttribute('data-state'), await mine.locator('[data-testid="message-state"]').innerText()];
    await until('own message pending', state, ([s, label]) => s === 'pending' && label === 'sending…');
    await until('the say at the stand-in', () => daemon.heldSays!.length, (n) => n === 1);
    const msgId = daemon.ackHeld();
    await until('own message sent (acked)', state, ([s, label]) => s === 'sent' && label === 'sent');
    daemon.heldSays = null;
    daemon.publish('markup', 'alice', evil, msgId);
    await until('own message delivered', state, ([s, label]) => s === 'delivered' && label === '');
    expect(await mine.getAttribute('data-msg-id')).to.match(/^m-\d+$/);
    expect(await mine.locator('[data-testid="message-text"]').innerText()).to.equal(evil);
    expect(await page.inputValue('[data-testid="input"]')).to.equal('');

    daemon.publish('markup', '<i>mallory</i>', '<script>window.pwned=2</script>hello');
    const theirs = page.locator(msg(':not(.own)'));
    await theirs.waitFor();
    expect(await theirs.locator('[data-testid="message-from"]').innerText()).to.equal('<i>mallory</i>');
    expect(await theirs.locator('[data-testid="message-text"]').innerText()).to.equal('<script>window.pwned=2</script>hello');
    expect(await page.locator('[data-testid="messages"] :is(b, i, img, script)').count()).to.equal(0);
    expect(await page.evaluate(() => window.pwned)).to.equal(undefined);

    // A delivery that overtakes its ack merges into one own message.
    daemon.deliverBeforeAck = true;
    await typeAndSend(page, 'fast');
    await until('one own "fast" message', () => page.locator(msg('.own')).count(), (n) => n === 2);
    await until('no pending copy', () => page.locator(msg('[data-state="pending"]')).count(), (n) => n === 0);
    expect(await shown(page)).to.deep.equal([evil, '<script>window.pwned=2</script>hello', 'fast']);
  });

  it('shows the last 50 messages of each room it joins, and loads nothing from outside the daemon', async () => {
    const numbers = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
    for (const text of numbers(1, 60)) daemon.publish('busy', 'bob', text);
    for (const text of numbers(1, 55)) daemon.publish('busier', 'bob', text);
    const requested: string[] = [];
    const record = (request: { url(): string }): void => void requested.push(request.url());
    browser.context.on('request', record);
    const page = await open('/?name=hal&room=busy');
    await untilShown(page, 'busy', numbers(11, 60));
    await joinRoom(page, 'busier');
    await untilShown(page, 'busier', numbers(6, 55));
    browser.context.off('request', record);
    expect(requested.filter((url) => !url.startsWith(`${web.origin}/`) && !url.startsWith(web.origin.replace('http', 'ws'))), 'requests elsewhere').to.deep.equal([]);
    expect(requested).to.include(`${web.origin}/warren.mjs`);
  });

  it('marks a failed message and sends it again on Retry, under the same id', async () => {
    const page = await open('/?name=rita&room=retry');
    daemon.failNextSay = 'rate_limited';
    await typeAndSend(page, 'try me');
    const el = page.locator(msg('.own'));
    await until('failed', () => el.getAttribute('data-state'), (s) => s === 'failed');
    expect(await el.getAttribute('data-error-code')).to.equal('rate_limited');
    expect(await el.locator('[data-testid="message-state"]').innerText()).to.match(/rate_limited/);
    await el.locator('[data-testid="retry"]').click();
    await until('delivered after retry', () => el.getAttribute('data-state'), (s) => s === 'delivered');
    const says = daemon.frames.filter((f) => f['type'] === 'say' && f['text'] === 'try me');
    expect(says).to.have.length(2);
    expect(says[1]!['id'], 'a resend: the same id, delivered at most once').to.equal(says[0]!['id']);
    expect(await shown(page)).to.deep.equal(['try me']);
  });

  it('joins and leaves rooms, keeping a message list and an unread count per room', async () => {
    const page = await open('/?name=alice&room=home');
    await joinRoom(page, 'dev');
    expect(await page.getAttribute(tab('dev'), 'aria-current')).to.equal('true');
    await typeAndSend(page, 'in dev');
    await page.waitForSelector(msg('[data-room="dev"][data-state="delivered"]'));

    await page.click(tab('home'));
    expect(await shown(page)).to.deep.equal([]);
    daemon.publish('dev', 'bob', 'while you were away');
    await until('an unread badge on dev', () => page.locator(`${tab('dev')} [data-testid="unread"]`).innerText(), (t) => t === '1');

    await page.click('[data-testid="leave"][data-room="dev"]');
    await page.locator(tab('dev')).waitFor({ state: 'detached' });
    await until('the stand-in told to leave dev', () => daemon.frames.some((f) => f['type'] === 'leave' && f['room'] === 'dev'), (b) => b);
  });

  it('marks where messages may be missing after a reconnect the server could not recover, showing none twice', async () => {
    const page = await open('/?name=gil&room=gaps');
    daemon.publish('gaps', 'bob', '1');
    daemon.publish('gaps', 'bob', '2');
    await untilShown(page, 'gaps', ['1', '2']);
    daemon.lossy = true;
    daemon.clientNamed('gil')!.ws.close(1011, 'crash');
    daemon.publish('gaps', 'bob', '3'); // said while the page is away: the stand-in replays 1, 2 and 3
    await untilShown(page, 'gaps', ['1', '2', GAP, '3']);
    expect(await page.textContent('[data-testid="gap"]')).to.match(/messages may be missing here/);
    expect(daemon.urls.at(-1), 'the reconnect asked to recover').to.match(/[?&]since=/);
  });

  it('shows the close and the countdown while reconnecting, then rejoins its rooms', async () => {
    const page = await open('/?name=rex&room=home');
    await joinRoom(page, 'dev');
    await page.evaluate(() => {
      window.statusTexts = [];
      new window.MutationObserver(() => window.statusTexts.push(document.querySelector('[data-testid="status"]').textContent))
        .observe(document.querySelector('[data-testid="status"]'), { childList: true, characterData: true, subtree: true });
    });
    const before = daemon.urls.length;
    daemon.clientNamed('rex')!.ws.close(1013, 'too slow');
    await until('rex back in dev', () => daemon.clientNamed('rex')?.rooms.has('dev') && daemon.urls.length === before + 1, (b) => b === true);
    await page.waitForSelector(joinedTab('dev'));
    const texts: string[] = await page.evaluate(() => window.statusTexts);
    expect(texts.some((t) => /^Disconnected: closed 1013 “too slow” \(too slow: .*\)\. Reconnecting in \d+ s…$/.test(t)), JSON.stringify(texts)).to.equal(true);
    expect(await page.textContent(STATUS)).to.equal('Connected as rex.');
  });

  it('stops on a close it must not retry, shows why, and starts again on Reconnect', async () => {
    const page = await open('/?name=fay&room=home');
    daemon.clientNamed('fay')!.ws.close(4003, 'forbidden');
    await page.waitForSelector(`${STATUS}[data-state="closed"][data-close-code="4003"]`);
    expect(await page.textContent(STATUS)).to.contain('4003');
    expect(await page.isDisabled('[data-testid="send"]')).to.equal(true);
    await page.click('[data-testid="reconnect"]');
    await page.waitForSelector(CONNECTED);
    expect(await page.isVisible('[data-testid="reconnect"]')).to.equal(false);
  });

  it('lists the members of the room on screen with the counts, and follows joins and leaves', async () => {
    const alice = await open('/?name=alice&room=team');
    await untilPresence(alice, ['alice'], '1 user · 1 connection');
    expect(await alice.textContent('[data-testid="member"]')).to.contain('(you)');
    const bob = await open('/?name=bob&room=team');
    await untilPresence(alice, ['alice', 'bob'], '2 users · 2 connections');
    await untilPresence(bob, ['alice', 'bob'], '2 users · 2 connections');
    await bob.close();
    await untilPresence(alice, ['alice'], '1 user · 1 connection');

    await joinRoom(alice, 'solo');
    await untilPresence(alice, ['alice'], '1 user · 1 connection');
    const some = ['ann', 'ben', 'cy'].map((name, i) => ({ user: `u-${name}`, name, connections: i + 1 }));
    daemon.sendPresence('team', { type: 'presence', room: 'team', members: some, users: 150, connections: 170, truncated: true });
    await alice.click(tab('team'));
    await untilPresence(alice, ['ann', 'ben', 'cy'], '150 users · 170 connections');
    expect(await alice.textContent('[data-testid="presence-more"]')).to.equal('and 147 more');
    expect(await alice.locator('[data-testid="members"] > li').allTextContents()).to.deep.equal(['ann', 'ben ×2', 'cy ×3', 'and 147 more']);
  });

  it('lists the errors the server sends: a refused join takes its tab away, an error of no request is shown as it came', async () => {
    const page = await open('/?name=eve&room=home');
    daemon.forbidden.add('vault');
    await page.fill('[data-testid="join-input"]', 'vault');
    await page.press('[data-testid="join-input"]', 'Enter');
    await page.waitForSelector('[data-testid="error"][data-code="forbidden"] >> text=#vault: the token does not grant vault');
    await page.locator(tab('vault')).waitFor({ state: 'detached' });
    expect(await page.getAttribute(tab('home'), 'aria-current')).to.equal('true');

    daemon.clientNamed('eve')!.ws.send(JSON.stringify({ type: 'error', code: 'bad_request', message: '<b>plain</b> text frame' }));
    await page.waitForSelector('[data-testid="error"][data-code="bad_request"] >> text=<b>plain</b> text frame');
    await page.click('[data-testid="error"][data-code="bad_request"] .dismiss');
    await page.locator('[data-testid="error"][data-code="bad_request"]').waitFor({ state: 'detached' });
  });

  it('takes a token from the hash or the token field, sends it as a subprotocol and keeps it out of the address bar', async () => {
    const page = await open('/?name=tom&room=home#token=hash.token.value');
    expect(daemon.protocols.at(-1)).to.equal('warren.v2, warren.bearer.hash.token.value');
    expect(page.url()).to.not.contain('token');
    await page.fill('[data-testid="token"]', 'field.token.value');
    await page.press('[data-testid="token"]', 'Enter');
    await until('a connection with the new token', () => daemon.protocols.at(-1), (p) => p === 'warren.v2, warren.bearer.field.token.value');
    await page.waitForSelector(CONNECTED);
    expect(await page.inputValue('[data-testid="token"]')).to.equal('');
  });

  it('is used with the keyboard alone: Tab reaches every control in order with a visible focus, Enter sends', async () => {
    const page = await open('/?name=kay&room=keys');
    const visited: string[] = [];
    for (let i = 0; i < 12 && visited.at(-1) !== 'input'; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return { testid: el.getAttribute('data-testid'), outline: style.outlineStyle !== 'none' && style.outlineWidth !== '0px' };
      });
      expect(focused.outline, `a visible focus on ${focused.testid}`).to.equal(true);
      visited.push(focused.testid);
    }
    expect(visited).to.deep.equal(['name', 'rename', 'token', 'use-token', 'room-tab', 'leave', 'join-input', 'join', 'input']);
    await page.keyboard.type('by keyboard');
    await page.keyboard.press('Enter');
    await page.waitForSelector(msg('.own[data-state="delivered"]'));
    expect(await shown(page)).to.deep.equal(['by keyboard']);
  });

  it('fits a 375 px wide phone: nothing overflows sideways, the member list sits under the conversation', async () => {
    const long = 'x'.repeat(32);
    const page = await open(`/?name=${long}&room=${'r'.repeat(64)}`, { width: 375, height: 720 });
    await joinRoom(page, 'p'.repeat(64));
    await typeAndSend(page, 'y'.repeat(600));
    await page.waitForSelector(msg('.own[data-state="delivered"]'));
    await untilPresence(page, [long], '1 user · 1 connection');
    const layout = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      width: document.documentElement.clientWidth,
      // Also what a scrolling box (the room tabs) would hide past the edge.
      beyond: [...document.querySelectorAll('body *')]
        .filter((el: any) => el.getClientRects().length > 0 && el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
        .map((el: any) => el.getAttribute('data-testid') ?? el.className),
      conversationBottom: document.querySelector('.conversation').getBoundingClientRect().bottom,
      presenceTop: document.querySelector('[data-testid="presence"]').getBoundingClientRect().top,
    }));
    expect(layout.scrollWidth, 'no horizontal scrolling').to.be.at.most(layout.width);
    expect(layout.beyond, 'elements past the right edge').to.deep.equal([]);
    expect(layout.presenceTop).to.be.at.least(layout.conversationBottom - 1);
    await saveScreenshot(page, 'chat-phone');
  });
});
