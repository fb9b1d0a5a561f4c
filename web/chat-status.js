// The connection indicator: the library's state as one line of text, with
// the close that led there and a countdown to the next attempt.

import { setText } from './dom.js';

/** Close codes of PROTOCOL.md ("Closing"), plus the browser's own 1006. */
export const CLOSE_REASONS = {
  1000: 'normal close',
  1001: 'the server is shutting down',
  1003: 'the server received a binary frame',
  1006: 'connection lost',
  1008: 'rate limit exceeded',
  1009: 'a frame was too large',
  1011: 'server error',
  1013: 'too slow: the server gave up on a full send buffer',
  4001: 'no valid token: get a new one',
  4003: 'forbidden: the token does not grant this',
};

// Whole seconds are what a reader can follow; a quarter second keeps the
// count from lagging visibly behind.
const TICK_MS = 250;

export class StatusLine {
  /** @param {HTMLElement} el the `data-testid="status"` element */
  constructor(el) {
    this.el = el;
    this.timer = 0;
  }

  /**
   * @param {import('../client/warren.d.mts').StateChange} change
   * @param {string} name the welcomed name, for `open`
   */
  show({ state, code, reason, delayMs, error }, name) {
    clearInterval(this.timer);
    // The indicator's own words: the library's `open` means welcomed.
    this.el.dataset.state = state === 'open' ? 'connected' : state;
    if (code !== undefined) this.el.dataset.closeCode = String(code);
    else delete this.el.dataset.closeCode;
    const closed = code !== undefined ? `closed ${code}${reason ? ` “${reason}”` : ''}${CLOSE_REASONS[code] ? ` (${CLOSE_REASONS[code]})` : ''}` : '';
    switch (state) {
      case 'idle': return setText(this.el, 'Not connected.');
      case 'connecting': return setText(this.el, 'Connecting…');
      case 'open': return setText(this.el, `Connected as ${name}.`);
      case 'reconnecting': return this.countDown(closed || 'connection lost', Date.now() + (delayMs ?? 0));
      // The error only repeats a close; without one it is the only reason given.
      default: return setText(this.el, `Disconnected${closed ? `: ${closed}` : error ? `: ${error.message}` : ''}.`);
    }
  }

  countDown(closed, at) {
    const render = () => setText(this.el, `Disconnected: ${closed}. Reconnecting in ${Math.max(0, Math.ceil((at - Date.now()) / 1000))} s…`);
    render();
    this.timer = setInterval(render, TICK_MS);
  }
}
