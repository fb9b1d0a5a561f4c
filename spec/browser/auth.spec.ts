/**
 * A browser's side of authentication (Debian's Chromium, the daemon on
 * RabbitMQ with AUTH_MODE=required): a browser cannot set headers on a
 * websocket, so the token travels as a subprotocol, and a browser drops a
 * socket whose server selects a protocol it did not offer, so the server
 * must select exactly `warren.v2`.
 */
import { expect } from 'chai';
import { BROKERS } from '../support/brokers';
import { connectionOf, fetchTree } from '../support/admin';
import { CONNECTED, STATUS } from '../support/chat_page';
import { until } from '../support/eventually';
import { useBrowser, useDaemon } from '../support/lifecycle';
import { AUTH_ENV, signToken } from '../support/tokens';


describe('authentication in Chromium, on RabbitMQ', function () {
  this.timeout(60_000);
  const daemon = useDaemon(BROKERS[1], { env: AUTH_ENV });
  const browser = useBrowser();

  it('opens a websocket with the token as a subprotocol: warren.v2 is selected and the socket is welcomed as the token\'s user', async () => {
    const page = await browser().context.newPage();
    await page.goto(daemon().url('/healthz'));
    const token = await signToken({ sub: 'browser-user', name: 'Browser User' });
    const outcome = await page.evaluate(
      ({ url, token }) =>
        new Promise<{ protocol: string; welcome: { user: string; name: string } }>((resolve, reject) => {
          const ws = new WebSocket(url, ['warren.v2', `warren.bearer.${token}`]);
          ws.onmessage = (event) => resolve({ protocol: ws.protocol, welcome: JSON.parse(event.data as string) });
          ws.onclose = (event) => reject(new Error(`closed ${event.code} ${event.reason}`));
        }),
      { url: daemon().wsUrl(), token },
    );
    expect(outcome.protocol).to.equal('warren.v2');
    expect(outcome.welcome).to.include({ user: 'browser-user', name: 'Browser User' });
    await page.close();
  });

  it('the chat page connects with a token from its URL fragment, and takes it out of the address bar', async () => {
    const page = await browser().context.newPage();
    const token = await signToken({ sub: 'page-user', name: 'Page User' });
    await page.goto(daemon().url(`/?room=lobby#token=${token}`));
    await page.waitForSelector(CONNECTED);
    expect(page.url()).to.not.include(token);
    expect(await page.textContent(STATUS)).to.equal('Connected as Page User.');
    const connection = await until('the page\'s connection', async () => connectionOf((await fetchTree(daemon())).tree, 'Page User'), (found) => found !== undefined);
    expect(connection!.info['user']).to.equal('page-user');
    await page.close();
  });

  it('the chat page without a token is closed with 4001 and stops, until a token is typed into its token field', async () => {
    const page = await browser().context.newPage();
    const opened: string[] = [];
    page.on('websocket', (ws) => opened.push(ws.url()));
    await page.goto(daemon().url('/?name=nobody&room=lobby'));
    await page.waitForSelector(`${STATUS}[data-state="closed"][data-close-code="4001"]`);
    expect(await page.textContent(STATUS)).to.include('token missing');

    await page.fill('[data-testid="token"]', await signToken({ sub: 'field-user', name: 'Field User' }));
    await page.press('[data-testid="token"]', 'Enter');
    await page.waitForSelector(CONNECTED);
    expect(await page.textContent(STATUS)).to.equal('Connected as Field User.');
    expect(opened, 'no retry without a token: the refused socket, then the one with the token').to.have.length(2);
    await page.close();
  });
});
