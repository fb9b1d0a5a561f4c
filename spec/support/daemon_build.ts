/**
 * The daemon compiled as `npm start` runs it (dist/lib/main.js), built when
 * any of its sources is newer than the build: `tsc -b` compares the inputs'
 * times with the last build's, so an edit in lib/ is never run stale, and an
 * unchanged tree costs one tsc start (~1 s) instead of tsx compiling every
 * module at each daemon start (~0.5-1 s per start, some hundred a run).
 * (Run from source through tsx, every closure also carries its name, which
 * costs about 2.8 KiB per connection: not what users run, nor what a bench
 * should measure.)
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
export const DAEMON_MAIN = join(ROOT, 'dist', 'lib', 'main.js');

let built = false;

/** Builds the daemon unless it is up to date (once per process); a failed build throws with tsc's output. */
export function buildDaemon(): string {
  if (built) return DAEMON_MAIN;
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`the daemon does not build (tsc -b tsconfig.build.json), so no spec can run it:\n${stdout ?? ''}${stderr ?? ''}`);
  }
  built = true;
  return DAEMON_MAIN;
}
