/**
 * What a new user does: open the chat page of a running daemon in two tabs
 * and chat (Debian's Chromium through playwright-core).
 */
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { saveScreenshot } from '../support/browser';
import { useBrowser, useDaemon } from '../support/lifecycle';

describe('the chat page, on a running daemon', function () {
  this.timeout(60_000);
  const daemon = useDaemon();
  const browser = useBrowser();

  async function openAs(page: Page, name: string): Promise<void> {
    await page.goto(daemon().url(`/?name=${name}&room=lobby&autoconnect=1`));
    await page.waitForSelector('[data-testid="status"][data-state="connected"]');
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
});
