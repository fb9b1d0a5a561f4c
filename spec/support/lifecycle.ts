/**
 * Mocha hooks that give a describe block one daemon (and a browser), started
 * before its specs and stopped after them.
 */
import { type LaunchedBrowser, launchBrowser } from './browser';
import type { BROKERS } from './brokers';
import { Daemon, type DaemonOptions } from './daemon';

/** The daemon of the enclosing describe block, on `broker` (default: the in-process bus). */
export function useDaemon(broker?: (typeof BROKERS)[number], options: DaemonOptions = {}): () => Daemon {
  let daemon: Daemon | undefined;
  before(async function () {
    this.timeout(120_000); // the first use of RabbitMQ starts its node
    const amqpUrl = await broker?.amqpUrl();
    daemon = await Daemon.start(amqpUrl ? { ...options, amqpUrl } : options);
  });
  after(async () => {
    await daemon?.stop();
  });
  return () => daemon!;
}

/** A fresh Chromium for the enclosing describe block. */
export function useBrowser(): () => LaunchedBrowser {
  let browser: LaunchedBrowser | undefined;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  return () => browser!;
}
