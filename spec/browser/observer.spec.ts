/**
 * The observer page on a running daemon: the live tree with the right number
 * of connections, and a kill button that makes supervision act; the
 * processes table, an actor's detail with a live trace, and the charts.
 */
import { expect } from 'chai';
import { connectionOf, fetchTree } from '../support/admin';
import { saveScreenshot } from '../support/browser';
import { ChatClient } from '../support/client';
import { until } from '../support/eventually';
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

  it('lists the connections by mailbox, traces one of them live, and charts the connections', async () => {
    const clients = await Promise.all(['dan', 'eve', 'fay'].map((name) => ChatClient.connect(daemon().wsUrl(`name=${name}`))));
    const { page } = browser();
    await page.goto(daemon().adminUrl('/debug#processes'));
    await page.locator('[data-testid="top-filter"]').fill('connection-');
    const rows = page.locator('[data-testid="top-row"][data-behaviour="connection"]');
    await until('every connection', () => rows.count(), (n) => n >= 3);
    // sorted by mailbox, descending, ties by path
    const listed = await rows.evaluateAll((trs) => trs.map((tr) => ({
      path: tr.getAttribute('data-path')!,
      mailbox: Number(tr.querySelector('td[data-key="mailbox"]')!.textContent!.replace(/,/g, '')),
    })));
    const sorted = [...listed].sort((a, b) => b.mailbox - a.mailbox || (a.path < b.path ? -1 : 1));
    expect(listed).to.deep.equal(sorted);
    expect(await page.locator('th:has([data-testid="sort-mailbox"])').getAttribute('aria-sort')).to.equal('descending');

    // eve's connection: its detail, and a trace of 5 while she sends frames
    const eve = connectionOf((await fetchTree(daemon())).tree, 'eve')!;
    await page.locator(`[data-testid="top-row"][data-path="${eve.path}"] [data-testid="top-path"]`).click();
    await until('its detail', () => page.locator('[data-testid="detail-status"]').innerText(), (t) => t === 'running');
    expect(await page.locator('[data-testid="detail-behaviour"]').innerText()).to.equal('connection');
    await page.locator('[data-testid="trace-count"]').fill('5');
    await page.locator('[data-testid="trace-start"]').click();
    const status = page.locator('[data-testid="trace-status"]');
    await until('the trace to start', () => status.innerText(), (t) => t.startsWith(`tracing ${eve.path} (connection)`));
    const sender = setInterval(() => clients[1]!.send({ type: 'ping', id: 'p' }), 50);
    try {
      await until('the end of the trace', () => status.getAttribute('data-reason'), (r) => r === 'count');
    } finally {
      clearInterval(sender);
    }
    expect(await page.locator('[data-testid="trace-row"]').count()).to.equal(5);
    expect(await status.innerText()).to.equal('ended: count · 5 traced');
    await page.setViewportSize({ width: 1280, height: 1000 }); // the whole detail panel, trace included
    await saveScreenshot(page, 'observer-live-trace');

    // the charts: the node's connections, sampled every second
    await page.locator('[data-testid="tab-charts"]').click();
    const connections = page.locator('[data-testid="latest"][data-series="connections"]');
    await until('the sockets on the chart', async () => Number((await connections.innerText()).replace(/,/g, '')), (n) => n >= clients.length);
    expect(Number(await page.locator('[data-testid="series"][data-series="connections"]').getAttribute('data-points'))).to.be.greaterThan(0);
    await saveScreenshot(page, 'observer-live-charts');
  });
});
