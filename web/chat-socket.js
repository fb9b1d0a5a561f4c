// The chat page's websocket: one JSON object per text frame (PROTOCOL.md),
// an application ping every PING_EVERY_MS, and reconnection with exponential
// backoff after any close the user did not ask for.

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

// Retrying these cannot help (PROTOCOL.md "Closing"): the same token, or the
// same flood, gets the same close again.
const FINAL_CLOSES = new Set([1008, 4001, 4003]);

// First retry after about half a second, doubling up to half a minute: quick
// after a blip, gentle on a daemon that is restarting or overloaded.
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
// A ping now and then shows the latency the user actually gets; pings count
// toward the rate limit, so not too often.
const PING_FIRST_MS = 500;
const PING_EVERY_MS = 15_000;

export class ChatSocket {
  /**
   * @param {() => string} url builds the websocket URL for the next attempt
   * @param {() => string[]} protocols the subprotocols to offer (a token travels as one)
   * @param {{
   *   frame(f: any): void,
   *   state(s: 'connecting'|'open'|'reconnecting'|'closed', detail?: any): void,
   *   latency(ms: number): void,
   * }} on
   */
  constructor(url, protocols, on) {
    this.url = url;
    this.protocols = protocols;
    this.on = on;
    this.ws = null;
    this.attempt = 0;
    this.wanted = false;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.pings = new Map();
    this.pingSeq = 0;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Start (or restart now) connecting; resets the backoff. */
  connect() {
    this.wanted = true;
    this.attempt = 0;
    this.open();
  }

  /** Close on purpose: code 1000, no reconnection. */
  disconnect() {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    this.stopPing();
    if (this.ws) this.ws.close(1000, 'bye');
    else this.on.state('closed', { code: 1000, reason: '', byUser: true });
  }

  /** Reconnect now instead of waiting out the backoff. */
  retryNow() {
    if (!this.wanted || this.ws) return;
    clearTimeout(this.retryTimer);
    this.open();
  }

  /** Send one frame as JSON text; false when the socket is not open. */
  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** The server accepted us (welcome): later drops start the backoff afresh. */
  healthy() {
    this.attempt = 0;
    this.startPing();
  }

  open() {
    clearTimeout(this.retryTimer);
    if (this.ws) this.detach(this.ws).close(1000, 'reconnecting');
    let ws;
    try {
      ws = new WebSocket(this.url(), this.protocols());
    } catch (err) {
      this.on.state('closed', { code: 0, reason: String(err), byUser: false });
      this.wanted = false;
      return;
    }
    this.ws = ws;
    this.on.state('connecting', { attempt: this.attempt });
    ws.onopen = () => this.on.state('open');
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => this.closed(ws, ev);
  }

  detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = null;
    this.ws = null;
    this.stopPing();
    return ws;
  }

  receive(data) {
    if (typeof data !== 'string') return; // the protocol only has text frames
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      frame = null;
    }
    if (frame === null || typeof frame !== 'object' || typeof frame.type !== 'string') {
      this.on.frame({ type: 'raw', text: data });
      return;
    }
    if (frame.type === 'pong' && this.pings.has(frame.id)) {
      this.on.latency(performance.now() - this.pings.get(frame.id));
      this.pings.delete(frame.id);
      return;
    }
    this.on.frame(frame);
  }

  closed(ws, ev) {
    this.detach(ws);
    const detail = { code: ev.code, reason: ev.reason, explained: CLOSE_REASONS[ev.code] ?? '' };
    if (!this.wanted) {
      this.on.state('closed', { ...detail, byUser: true });
      return;
    }
    if (FINAL_CLOSES.has(ev.code)) {
      this.wanted = false;
      this.on.state('closed', { ...detail, byUser: false });
      return;
    }
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    const delayMs = Math.round(cap * (0.8 + Math.random() * 0.4)); // jitter: no thundering herd
    this.attempt++;
    this.retryTimer = setTimeout(() => this.open(), delayMs);
    this.on.state('reconnecting', { ...detail, delayMs, attempt: this.attempt });
  }

  startPing() {
    this.stopPing();
    const ping = () => {
      const id = `ping-${++this.pingSeq}`;
      this.pings.clear(); // an unanswered older ping no longer matters
      this.pings.set(id, performance.now());
      this.send({ type: 'ping', id });
      this.pingTimer = setTimeout(ping, PING_EVERY_MS);
    };
    this.pingTimer = setTimeout(ping, PING_FIRST_MS);
  }

  stopPing() {
    clearTimeout(this.pingTimer);
    this.pings.clear();
  }
}
