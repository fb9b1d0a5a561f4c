/**
 * The observer page on a running daemon: the live tree with the right number
 * of connections, and a kill button that makes supervision act.
 */
import { expect } from 'chai';
import { saveScreenshot } from '../support/browser';
import { ChatClient } from '../support/client';
import { useBrowser, useDaemon } from '../support/lifecycle';

describe('the observer page (/debug), on a running daemon', function () {
  this.timeout(60_000);
  const daemon = useDaemon();
  const browser = useBrowser();

  it('draws the tree with one connection per socket, and shows a killed consumer restarted', async () => {
    await Promise.all(['ann', 'ben', 'cid'].map((name) => ChatClient.connect(daemon().wsUrl(`name=${name}`))));
    const { page } = browser();
    await page.goto(daemon().adminUrl('/debug'));
    await page.waitForSelector('[data-testid="connections-total"][data-value="3"]');
    expect(await page.locator('[data-testid="actor"][data-behaviour="connection"]').count()).to.equal(3);
    expect(await page.locator('[data-testid="actor"][data-behaviour="supervisor"]').count()).to.equal(2);

    const consumer = page.locator('[data-testid="actor"][data-behaviour="consumer"]').first();
    const path = await consumer.getAttribute('data-path');
    expect(path).to.match(/^\/warren_sup\/connection_sup\/connection-\d+\/consumer$/);
    const restarts = page.locator(`[data-testid="actor"][data-path="${path}"] [data-testid="restarts"]`).first();
    expect((await restarts.textContent())?.trim()).to.match(/0$/);
    await page.locator(`[data-testid="actor"][data-path="${path}"] [data-testid="kill"]`).first().click();
    await restarts.filter({ hasText: /1$/ }).waitFor();
    await saveScreenshot(page, 'observer-live');
  });
});
