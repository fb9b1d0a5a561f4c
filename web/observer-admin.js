// The admin port as the observer's views talk to it. Every request carries
// the bearer token (kept in this tab's session storage); a 401 calls the
// page's token prompt and parks the pollers until a token is given. A Poller
// asks one endpoint again and again, one request at a time, and never while
// the tab is hidden or the page is paused: with 10,000 connections behind the
// admin port, a view nobody looks at must cost the daemon nothing.

const TOKEN_KEY = 'warren.adminToken';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  forget: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Thrown by adminFetch on a 401, after the token prompt was shown. */
export class Unauthorized extends Error {
  constructor() {
    super('401: the admin port wants a bearer token');
  }
}

let askForToken = () => {};

/** What to do on a 401 (the page shows its token form). */
export function onUnauthorized(ask) {
  askForToken = ask;
}

export function authHeaders() {
  const t = token.get();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

/** fetch() on the admin port (same origin) with the bearer token; a 401 throws Unauthorized. */
export async function adminFetch(url, init = {}) {
  const res = await fetch(url, { cache: 'no-store', ...init, headers: { ...authHeaders(), ...init.headers } });
  if (res.status === 401) {
    askForToken();
    throw new Unauthorized();
  }
  return res;
}

/** The `error` of a JSON error answer, or the status line. */
export async function errorOf(res) {
  const body = await res.json().catch(() => null);
  return `HTTP ${res.status}${body && typeof body.error === 'string' ? `: ${body.error}` : ''}`;
}

// ---- polling ------------------------------------------------------------------

const pollers = new Set();
let paused = false;

export const isPaused = () => paused;

export function setPaused(value) {
  paused = value;
  if (!paused) pollAllNow();
}

/** Poll every running poller now (a token was given, the page resumed). */
export function pollAllNow() {
  for (const p of pollers) p.now();
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) for (const p of pollers) if (p.waitingForVisible) p.now();
});

export class Poller {
  /**
   * @param {number} everyMs  time from the start of one request to the start of the next
   * @param {() => Promise<unknown>} run  one request and its rendering; an
   *   Unauthorized from it parks the poller until pollAllNow()
   * @param {(err: unknown) => void} failed  any other error (the poller goes on)
   */
  constructor(everyMs, run, failed) {
    this.everyMs = everyMs;
    this.run = run;
    this.failed = failed;
    this.timer = 0;
    this.inFlight = false;
    this.again = false;
    this.waitingForVisible = false;
  }

  get running() {
    return pollers.has(this);
  }

  start() {
    if (this.running) return;
    pollers.add(this);
    this.now();
  }

  stop() {
    pollers.delete(this);
    clearTimeout(this.timer);
  }

  /** Poll now, without overlapping a request in flight. */
  now() {
    if (!this.running) return;
    if (this.inFlight) this.again = true;
    else this.schedule(0);
  }

  schedule(ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), ms);
  }

  async tick() {
    if (!this.running || paused) return;
    this.waitingForVisible = document.hidden;
    if (document.hidden) return; // nobody is looking: poll again when the tab shows
    this.inFlight = true;
    const started = performance.now();
    let parked = false;
    try {
      await this.run();
    } catch (err) {
      if (err instanceof Unauthorized) parked = true; // until the token form is submitted
      else this.failed(err);
    } finally {
      this.inFlight = false;
    }
    if (!this.running || paused) return;
    if (this.again) {
      this.again = false;
      this.schedule(0);
    } else if (!parked) {
      this.schedule(Math.max(0, this.everyMs - (performance.now() - started)));
    }
  }
}
