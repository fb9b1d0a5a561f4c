import pino from 'pino';

/**
 * The daemon's one logger. One line per lifecycle event, never one per chat
 * message at info level ("count, don't log" on the hot path).
 *
 * The destination sits behind a small indirection so that specs can capture
 * what a module logs (see `captureLogs` in spec/support) without a second
 * logger instance that could drift from the real one.
 */
export interface LogSink {
  write(line: string): void;
}

const stdout = pino.destination({ dest: 1, sync: false });
let sink: LogSink = stdout;

// The validated level is applied by main once the config is loaded; until
// then an unknown LOG_LEVEL must not throw here, before config can name it.
const requested = process.env.LOG_LEVEL;
const initialLevel = requested !== undefined && (requested in pino.levels.values || requested === 'silent') ? requested : 'info';

export const log = pino(
  {
    level: initialLevel,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // A safety net: the start-up summary says only whether a token is set.
    redact: ['config.admin.token'],
  },
  { write: (line: string) => sink.write(line) },
);

/** Sends log lines to `to` until the returned function is called. */
export function redirectLog(to: LogSink): () => void {
  sink = to;
  return () => {
    sink = stdout;
  };
}

/** Writes out buffered lines; call before `process.exit`. */
export function flushLog(): void {
  stdout.flushSync();
}
