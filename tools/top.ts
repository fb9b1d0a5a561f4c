/**
 * `npm run top -- --admin http://127.0.0.1:8082 [--token T] [--by mailbox|rate|restarts|processed] [--n N] [--interval S] [--once]`
 * (issue 16): Erlang's observer_cli for a warren node. A terminal view,
 * refreshed every few seconds, of the node's figures (GET /debug/history:
 * connections, chat messages and deliveries per second, actor messages per
 * second, event-loop lag, the relay's mailbox, memory; the broker's state)
 * with a sparkline of their last minute, and its top actors (GET /debug/top)
 * by mailbox, rate, restarts or messages processed. `--once` prints one
 * frame, without clearing the screen, for scripts.
 *
 * Exit codes: 0 quit (or a frame printed), 1 the daemon could not be read
 * (with --once: unreachable, or any answer but 200; else a wrong token),
 * 2 a bad command line.
 */
import { parseTopArgs, type TopOptions, USAGE } from './top/options';
import { Observer } from './top/poll';
import { renderFrame, tableRows } from './top/render';
import { runScreen } from './top/screen';

/** A pipe has no size: wide enough for every path of the tree, and a screenful of actors. */
const PIPE_SIZE = { columns: 160, rows: 50 };

async function printOnce(options: TopOptions, observer: Observer): Promise<number> {
  const columns = process.stdout.columns ?? PIPE_SIZE.columns;
  const observed = await observer.poll(options.by, options.n ?? tableRows({ columns, rows: process.stdout.rows ?? PIPE_SIZE.rows }));
  if (observed.problem) {
    process.stderr.write(`top: ${observed.problem.message}\n`);
    return 1;
  }
  const view = { admin: options.admin, by: options.by, intervalSeconds: options.intervalSeconds, now: new Date(), figures: observer.figures, top: observed.top, broker: observed.broker };
  // Every row asked for: a frame printed once scrolls, it is not cut to the screen.
  process.stdout.write(`${renderFrame(view, { columns }).map((line) => line.text).join('\n')}\n`);
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parseTopArgs(argv, process.env);
  if ('help' in options) {
    process.stdout.write(USAGE);
    return 0;
  }
  if ('error' in options) return usage(options.error);
  if (!options.once && !process.stdout.isTTY) return usage('stdout is not a terminal: give --once for one frame');
  const observer = new Observer({ url: options.admin, ...(options.token !== undefined && { token: options.token }) });
  return options.once ? printOnce(options, observer) : runScreen(options, observer);
}

function usage(error: string): number {
  process.stderr.write(`top: ${error}\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`top: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
