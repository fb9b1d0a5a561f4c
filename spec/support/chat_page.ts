/**
 * What the specs of the chat page (web/index.html) read and do on it, by
 * its data-testid attributes: the same for the component spec against a
 * stand-in and the browser specs against the daemon.
 */
import type { Page } from 'playwright-core';
import { until } from './eventually';

export const STATUS = '[data-testid="status"]';
export const CONNECTED = `${STATUS}[data-state="connected"]`;
/** A "messages may be missing here" mark, in what `shown` returns. */
export const GAP = '(gap)';

export const tab = (room: string): string => `[data-testid="room-tab"][data-room="${room}"]`;
export const joinedTab = (room: string): string => `.room-tabs li[data-state="joined"]:has(${tab(room)})`;

/** What the room on screen shows, in order: message texts, and GAP for a gap mark. */
export function shown(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid="messages"] > li', (items, gap) =>
    items.map((li) => (li.matches('[data-testid="gap"]') ? gap : li.querySelector('[data-testid="message-text"]')!.textContent!)), GAP);
}

/** Waits until `room` (put on screen) shows exactly `texts`. */
export async function untilShown(page: Page, room: string, texts: readonly string[], timeoutMs = 20_000): Promise<string[]> {
  return until(`#${room} to show ${JSON.stringify(texts)}`, async () => {
    if ((await page.getAttribute(tab(room), 'aria-current')) !== 'true') await page.click(tab(room));
    return shown(page);
  }, (now) => JSON.stringify(now) === JSON.stringify(texts), timeoutMs);
}

/** Types `text` into the message box and sends it with Enter. */
export async function typeAndSend(page: Page, text: string): Promise<void> {
  await page.fill('[data-testid="input"]', text);
  await page.press('[data-testid="input"]', 'Enter');
}

/** Joins `room` through the page's join form and waits until it is joined. */
export async function joinRoom(page: Page, room: string): Promise<void> {
  await page.fill('[data-testid="join-input"]', room);
  await page.press('[data-testid="join-input"]', 'Enter');
  await page.waitForSelector(joinedTab(room));
}

/** The member list of the room on screen: names, and the counts line. */
export async function presenceShown(page: Page): Promise<{ names: string[]; counts: string }> {
  return {
    names: await page.$$eval('[data-testid="member-name"]', (els) => els.map((el) => el.textContent!)),
    counts: (await page.textContent('[data-testid="presence-counts"]')) ?? '',
  };
}

export function untilPresence(page: Page, names: readonly string[], counts: string): Promise<unknown> {
  return until(`the member list ${JSON.stringify(names)} (${counts})`, () => presenceShown(page),
    (now) => JSON.stringify(now.names) === JSON.stringify(names) && now.counts === counts, 20_000);
}
