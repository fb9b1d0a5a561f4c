/**
 * One refresh of `npm run top`: GET /debug/top, /debug/history (since the
 * last point held) and the broker's /debug/actor at once, or what kept
 * them from coming, said as the view shows it.
 */
import { AdminError, type AdminPort, adminJson } from '../admin_port';
import type { ActorAnswer, HistoryAnswer, TopKey, TopAnswer } from './answers';
import { RecentFigures } from './recent';

const BROKER = '/warren_sup/broker';
/** A daemon that answers nothing within this is reported as not answering, and asked again. */
const REQUEST_TIMEOUT_MS = 5_000;

export interface Problem {
  readonly message: string;
  /** Asking again cannot help (a wrong token): the tool stops. */
  readonly fatal: boolean;
}

export interface Observed {
  readonly top?: TopAnswer;
  /** The broker's state from its formatStatus; undefined while it restarts. */
  readonly broker?: string;
  readonly problem?: Problem;
}

export class Observer {
  readonly figures = new RecentFigures();

  constructor(private readonly admin: AdminPort) {}

  async poll(by: TopKey, n: number): Promise<Observed> {
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    const since = this.figures.since;
    try {
      const [top, history, broker] = await Promise.all([
        adminJson<TopAnswer>(this.admin, `/debug/top?by=${by}&n=${n}`, signal),
        adminJson<HistoryAnswer>(this.admin, `/debug/history${since === undefined ? '' : `?since=${since}`}`, signal),
        // A broker between two lives (404) is no failure of the poll.
        adminJson<ActorAnswer>(this.admin, `/debug/actor?path=${encodeURIComponent(BROKER)}`, signal).catch((error: unknown) => {
          if (error instanceof AdminError && error.status === 404) return undefined;
          throw error;
        }),
      ]);
      this.figures.add(history);
      const state = broker?.actor.info['state'];
      return { top, ...(typeof state === 'string' && { broker: state }) };
    } catch (error) {
      return { problem: this.problem(error) };
    }
  }

  private problem(error: unknown): Problem {
    const { url, token } = this.admin;
    if (error instanceof AdminError && error.status === 401) {
      return { message: `${url} answered 401: the admin token is ${token ? 'wrong' : 'missing'} (give --token, or set ADMIN_TOKEN)`, fatal: true };
    }
    // A daemon from before issue 16 has no observer endpoints: asking again will not give it them.
    if (error instanceof AdminError && error.status === 404) return { message: `${error.message} (a daemon without the observer endpoints of issue 16?)`, fatal: true };
    if (error instanceof AdminError) return { message: error.message, fatal: false };
    if (error instanceof DOMException && error.name === 'TimeoutError') return { message: `${url} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`, fatal: false };
    // fetch() fails with a TypeError whose cause is the socket's error (ECONNREFUSED, ENOTFOUND...).
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { message: `cannot reach ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, fatal: false };
  }
}
