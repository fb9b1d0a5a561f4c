/**
 * Where the repository's data folders are, whether the code runs from
 * source (`lib/`, through tsx) or compiled (`dist/lib/`): found from the
 * package root, the nearest folder above with a package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const ROOT = packageRoot(__dirname);
export const CONFIG_DIR = join(ROOT, 'config');
export const WEB_DIR = join(ROOT, 'web');
/** The client library, served to browsers beside the pages and exported to Node as `warren/client`. */
export const CLIENT_DIR = join(ROOT, 'client');
