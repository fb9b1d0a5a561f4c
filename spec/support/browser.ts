// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core,
// for the browser specs. Each launch gets a fresh profile directory, removed
// again by close(); a launch is also closed by the root hooks at the end of
// the run if a spec forgot to (or failed before) closing it.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { atExit } from './hooks';
import { CHROMIUM_PACKAGE, needPackages, usesPackage } from './system_packages';

usesPackage(CHROMIUM_PACKAGE);

export const CHROMIUM = CHROMIUM_PACKAGE.path;
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
/** Screenshots and other by-products of browser specs (git-ignored). */
export const ARTIFACTS = resolve(__dirname, '..', 'artifacts');

export interface LaunchedBrowser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<LaunchedBrowser> {
  await needPackages([CHROMIUM_PACKAGE]);
  const dir = mkdtempSync(join(tmpdir(), 'warren-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      try {
        await context.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    return closed;
  };
  atExit(close);
  return { context, page, close };
}

/** Save a full-page screenshot as spec/artifacts/<name>.png and return its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

// ---- a stand-in static server for component specs of web/ ------------------

export const WEB_ROOT = resolve(__dirname, '..', '..', 'web');

/** The content types web/ needs (the daemon serves the same files the same way). */
export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

export interface WebServer {
  server: Server;
  /** http://127.0.0.1:PORT */
  origin: string;
  close(): Promise<void>;
}

/**
 * Serve web/ on 127.0.0.1 and a free port: `/` is index.html, `/debug` is
 * debug.html, any other flat file of web/ by its name. `route` sees every
 * request first and returns true when it answered it.
 */
export async function serveWeb(route: Route = () => false): Promise<WebServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    void (async () => {
      if (await route(req, res, url)) return;
      const name = url.pathname === '/' ? 'index.html' : url.pathname === '/debug' ? 'debug.html' : url.pathname.slice(1);
      const type = CONTENT_TYPES[extname(name)];
      if (req.method !== 'GET' || !/^[\w.-]+$/.test(name) || type === undefined) return notFound(res);
      let body: Buffer;
      try {
        body = await readFile(join(WEB_ROOT, name));
      } catch {
        return notFound(res);
      }
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    });
    return closed;
  };
  atExit(close);
  return { server, origin: `http://127.0.0.1:${port}`, close };
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
}
