/**
 * The command line of `npm run top` (a pure function, so it is specced).
 */
import { parseArgs } from 'node:util';
import { TOP_KEYS, type TopKey } from './answers';

/** /debug/top's bound on n. */
export const MAX_N = 1000;

export const USAGE = `usage: npm run top -- --admin URL [options]
  --admin URL       the daemon's admin port, e.g. http://127.0.0.1:8082 (required)
  --token T         its ADMIN_TOKEN, sent as Authorization: Bearer (default: $ADMIN_TOKEN)
  --by KEY          sort the actors by ${TOP_KEYS.join(' | ')} (default mailbox)
  --n N             how many actors, 1..${MAX_N} (default: as many as fit the terminal)
  --interval S      seconds between refreshes (default 2)
  --once            print one frame, without clearing the screen, and exit
keys while it runs: m r s p sort by mailbox, rate, restarts, processed; q or Ctrl-C quits
`;

export interface TopOptions {
  /** The admin port's origin, without a trailing slash. */
  readonly admin: string;
  readonly token?: string;
  readonly by: TopKey;
  /** Absent: as many as fit the terminal, frame by frame. */
  readonly n?: number;
  readonly intervalSeconds: number;
  readonly once: boolean;
}

export function parseTopArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): TopOptions | { readonly help: true } | { readonly error: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        admin: { type: 'string' },
        token: { type: 'string' },
        by: { type: 'string', default: 'mailbox' },
        n: { type: 'string' },
        interval: { type: 'string', default: '2' },
        once: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    return { error: (error as Error).message };
  }
  if (values.help) return { help: true };
  if (values.admin === undefined) return { error: '--admin: required, the admin port such as http://127.0.0.1:8082' };
  const admin = adminOrigin(values.admin);
  if (admin === undefined) return { error: `--admin: expected http://host:port, not ${values.admin}` };
  const by = TOP_KEYS.find((key) => key === values.by);
  if (by === undefined) return { error: `--by: expected one of ${TOP_KEYS.join(', ')}, not ${values.by}` };
  const n = values.n === undefined ? undefined : Number(values.n);
  if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= MAX_N)) return { error: `--n: expected an integer from 1 to ${MAX_N}, not ${values.n}` };
  const intervalSeconds = Number(values.interval);
  if (!(Number.isFinite(intervalSeconds) && intervalSeconds > 0)) return { error: `--interval: expected seconds above 0, not ${values.interval}` };
  const token = values.token ?? (env['ADMIN_TOKEN'] || undefined);
  return { admin, ...(token !== undefined && { token }), by, ...(n !== undefined && { n }), intervalSeconds, once: values.once };
}

/** `http://host:port` of an http(s) URL with nothing after its origin; undefined for anything else. */
function adminOrigin(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const bare = (url.pathname === '/' || url.pathname === '') && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  return (url.protocol === 'http:' || url.protocol === 'https:') && bare ? url.origin : undefined;
}
