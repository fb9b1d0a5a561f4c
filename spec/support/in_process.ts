/**
 * The application in the spec's own process (lib/warren_app.ts), for specs
 * that change its config or reach into it; on free loopback ports.
 */
import { join } from 'node:path';
import { type Config, loadConfig } from '../../lib/config';
import type { ActorInfo } from '../../lib/otp/sys';
import { start, type StartOptions, type Warren } from '../../lib/warren_app';

/** config/test.json with free loopback ports and the in-process broker, and these settings (lib/config/settings.ts). */
export function testConfig(env: Readonly<Record<string, string>> = {}): Config {
  return loadConfig({ env: { NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', ADMIN_PORT: '0', ...env }, argv: [], configDir: join(__dirname, '..', '..', 'config') });
}

/** Starts the application; stop it with lib/warren_app.ts `stop`. */
export async function startWarren(config = testConfig(), options: StartOptions = {}): Promise<{ warren: Warren; port: number }> {
  const warren = await start(config, options);
  return { warren, port: childOf(warren, 'listener').info['port'] as number };
}

/** A child of warren_sup as /debug/tree shows it. */
export function childOf(warren: Warren, name: string): ActorInfo {
  return warren.app.describe()!.children.find((child) => child.name === name)!;
}
