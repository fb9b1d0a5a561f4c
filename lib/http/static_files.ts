/**
 * The browser pages in `web/` and the client library in `client/`: read once
 * at start into memory and served by name (flat folders, so no path ever
 * reaches the file system from a request).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { CLIENT_DIR, WEB_DIR } from '../paths';
import type { Answer } from './respond';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export type StaticFiles = ReadonlyMap<string, Answer>;

/** `/name.ext` -> the file's answer, for every file of these folders with a known type (`.d.mts` has none). */
export function loadStaticFiles(dirs: readonly string[] = [WEB_DIR, CLIENT_DIR]): StaticFiles {
  const files = new Map<string, Answer>();
  for (const dir of dirs) {
    for (const name of readdirSync(dir)) {
      const contentType = CONTENT_TYPES[extname(name)];
      if (contentType) files.set(`/${name}`, { status: '200 OK', body: readFileSync(join(dir, name)), contentType, headers: { 'Cache-Control': 'no-cache' } });
    }
  }
  return files;
}
