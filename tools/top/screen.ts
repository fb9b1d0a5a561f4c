/**
 * The full-screen view of `npm run top`: the alternate screen, redrawn in
 * place after every poll and on every resize, keys read in raw mode
 * (m r s p sort, q or Ctrl-C quits), and the terminal given back as it was
 * however the view ends.
 */
import type { TopKey } from './answers';
import type { TopOptions } from './options';
import type { Observed, Observer } from './poll';
import { type Line, renderFrame, tableRows } from './render';

const ENTER = '\x1b[?1049h\x1b[?25l'; // the alternate screen, the cursor hidden
const LEAVE = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_LINE = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';
const STYLES: Readonly<Record<NonNullable<Line['style']>, string>> = { title: '\x1b[1m', heading: '\x1b[7m', alert: '\x1b[31m' };
const RESET = '\x1b[0m';
const CTRL_C = '\u0003';
const SORT_KEYS_BY_KEY: Readonly<Record<string, TopKey>> = { m: 'mailbox', r: 'rate', s: 'restarts', p: 'processed' };

/** Runs until q, Ctrl-C or a signal (0), or a problem asking again cannot mend (1, said on stderr). */
export function runScreen(options: TopOptions, observer: Observer): Promise<number> {
  const { stdin, stdout } = process;
  const size = () => ({ columns: stdout.columns, rows: stdout.rows });
  let by = options.by;
  let last: Observed = {};
  let problem: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let pollAgain = false;
  let finished = false;

  const draw = () => {
    const lines = renderFrame({ admin: options.admin, by, intervalSeconds: options.intervalSeconds, now: new Date(), figures: observer.figures, ...last, problem }, size());
    const styled = lines.map(({ text, style }) => (style === undefined ? text : `${STYLES[style]}${style === 'heading' ? text.padEnd(stdout.columns) : text}${RESET}`));
    stdout.write(`${HOME}${styled.map((line) => `${line}${CLEAR_LINE}`).join('\r\n')}${CLEAR_BELOW}`);
  };
  const restore = () => {
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    stdout.write(LEAVE);
  };

  return new Promise((resolve) => {
    const finish = (code: number, message?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      restore();
      process.removeListener('exit', restore);
      if (message !== undefined) process.stderr.write(`top: ${message}\n`);
      resolve(code);
    };
    const refresh = async (): Promise<void> => {
      if (polling) {
        pollAgain = true; // a key changed the sort meanwhile: ask again once this answer is in
        return;
      }
      clearTimeout(timer);
      polling = true;
      const observed = await observer.poll(by, options.n ?? tableRows(size()));
      polling = false;
      if (finished) return;
      if (observed.problem?.fatal) return finish(1, observed.problem.message);
      // What went wrong shows above the last figures that came.
      if (observed.problem) problem = observed.problem.message;
      else [last, problem] = [observed, undefined];
      draw();
      if (pollAgain) {
        pollAgain = false;
        return refresh();
      }
      timer = setTimeout(() => void refresh(), options.intervalSeconds * 1000);
    };
    const key = (typed: string) => {
      for (const char of typed) {
        if (char === 'q' || char === CTRL_C) return finish(0);
        const sort = SORT_KEYS_BY_KEY[char];
        if (sort !== undefined && sort !== by) {
          by = sort;
          draw();
          void refresh();
        }
      }
    };

    // However this process ends (an uncaught error too), the terminal is given back.
    process.once('exit', restore);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => finish(0));
    stdout.write(ENTER);
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      stdin.setEncoding('utf8');
      stdin.on('data', key);
      stdin.resume();
    }
    stdout.on('resize', draw);
    draw();
    void refresh();
  });
}
