/**
 * `npm start`: reads the configuration, starts the application, and drains
 * and stops it on SIGTERM or SIGINT (exit 0), within the shutdown timeout.
 */
import { ConfigError, helpRequested, helpText, loadConfig } from './config';
import { flushLog, log } from './log';
import { CONFIG_DIR } from './paths';
import { formatReason } from './otp/exit_reason';
import { uwsRuntime } from './uws';
import { type Warren, prepStop, start, stop } from './warren_app';

async function main(argv: readonly string[]): Promise<void> {
  if (helpRequested(argv)) {
    process.stdout.write(helpText(CONFIG_DIR));
    return;
  }
  const config = loadConfig({ env: process.env, argv, configDir: CONFIG_DIR });
  log.level = config.logLevel;
  if (uwsRuntime === 'fallback') {
    log.error(
      'uWebSockets.js runs its JavaScript fallback: the native binary did not load (it needs Node 20 on linux x64/arm64, darwin or win32). ' +
        'The fallback cannot open websockets, so /readyz answers 503; the admin port works for diagnosis.',
    );
  }
  log.info({ config: summary(config), uws: uwsRuntime, node: process.version }, 'warren starting');
  const warren = await start(config);
  log.info({ node: warren.nodeId }, `warren ${warren.nodeId} started`);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    void shutDown(warren, signal, config.shutdownTimeoutMs, config.shutdown.drainSeconds * 1000);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

async function shutDown(warren: Warren, signal: NodeJS.Signals, timeoutMs: number, drainMs: number): Promise<void> {
  log.info({ signal }, `${signal}: draining, then stopping`);
  const deadline = Date.now() + timeoutMs;
  const overdue = setTimeout(() => exit(1, `shutdown took longer than ${timeoutMs} ms: exiting anyway`), timeoutMs);
  // Draining may use most of the time; stopping the tree needs a little.
  await prepStop(warren, deadline - Math.min(1_000, timeoutMs / 4), drainMs);
  await stop(warren);
  clearTimeout(overdue);
  exit(0, 'warren stopped');
}

function exit(code: number, message: string): void {
  if (code === 0) log.info(message);
  else log.error(message);
  flushLog();
  process.exit(code);
}

function summary(config: Parameters<typeof start>[0]) {
  return {
    port: config.port,
    host: config.host,
    admin: `${config.admin.host}:${config.admin.port}`,
    adminToken: config.admin.token ? 'set' : 'none',
    broker: config.broker.url ? config.broker.url.map((url) => url.replace(/\/\/[^@/]*@/, '//***@')) : 'in-process',
    limits: config.limits,
    // Which key, never the key: a secret's value stays out of the logs.
    auth: config.auth.mode === 'off' ? 'off' : config.auth.hmacSecret ? 'required (HMAC secret)' : config.auth.jwksFile ? `required (JWKS ${config.auth.jwksFile})` : `required (public key ${config.auth.publicKeyFile})`,
    allowedOrigins: config.allowedOrigins,
  };
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // A bad setting or a broker that never answered: say which, exit non-zero.
  const message = error instanceof ConfigError ? error.message : formatReason(error as Error);
  process.stderr.write(`warren: ${message}\n`);
  log.fatal({ err: error }, `warren could not start: ${message}`);
  exit(1, 'warren did not start');
});
