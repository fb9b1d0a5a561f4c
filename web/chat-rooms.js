// Rooms as a list of tabs, and the message list of the selected room.
// Each room keeps its own message elements; switching rooms swaps them into
// the one visible list, so a message can be updated (acked, failed) while its
// room is not on screen.

import { h, setText } from './dom.js';

// Enough scrollback to be useful, small enough that a busy room stays cheap.
const MAX_MESSAGES_PER_ROOM = 500;

export class RoomsView {
  /**
   * @param {HTMLElement} tabs   the <ul data-testid="room-tabs">
   * @param {HTMLElement} list   the <ol data-testid="messages">
   * @param {{
   *   select(room: string): void,
   *   shown(room: string | null): void,
   *   leave(room: string): void,
   *   evicted(el: HTMLElement): void,
   * }} on select: a tab was clicked; shown: the room now on screen (null: none)
   */
  constructor(tabs, list, on) {
    this.tabs = tabs;
    this.list = list;
    this.on = on;
    /** @type {Map<string, {li: HTMLElement, button: HTMLElement, badge: HTMLElement, items: HTMLElement[], unread: number, state: string}>} */
    this.rooms = new Map();
    this.active = null;
  }

  has(room) {
    return this.rooms.has(room);
  }

  names() {
    return [...this.rooms.keys()];
  }

  stateOf(room) {
    return this.rooms.get(room)?.state ?? null;
  }

  /** Add a tab (state 'joining' until the server says `joined`). */
  add(room, state) {
    let r = this.rooms.get(room);
    if (!r) {
      const badge = h('span', { class: 'badge', 'data-testid': 'unread', hidden: true });
      const button = h('button', { type: 'button', class: 'room-tab', 'data-testid': 'room-tab', 'data-room': room,
        onclick: () => this.on.select(room) }, h('span', { class: 'room-name' }, `#${room}`), badge);
      const leave = h('button', { type: 'button', class: 'leave', 'data-testid': 'leave', 'data-room': room,
        'aria-label': `Leave #${room}`, title: `Leave #${room}`, onclick: () => this.on.leave(room) }, '×');
      const li = h('li', {}, button, leave);
      r = { li, button, badge, items: [], unread: 0, state };
      this.rooms.set(room, r);
      this.tabs.appendChild(li);
    }
    this.setState(room, state);
    if (this.active === null) this.select(room);
    return r;
  }

  setState(room, state) {
    const r = this.rooms.get(room);
    if (!r) return;
    r.state = state;
    r.li.dataset.state = state;
    r.button.title = state === 'joined' ? '' : `${state}…`;
  }

  remove(room) {
    const r = this.rooms.get(room);
    if (!r) return;
    for (const el of r.items) this.on.evicted(el);
    r.li.remove();
    this.rooms.delete(room);
    if (this.active === room) {
      this.active = null;
      const next = this.rooms.keys().next();
      if (!next.done) return this.select(next.value);
      this.list.replaceChildren();
      this.on.shown(null);
    }
  }

  select(room) {
    const r = this.rooms.get(room);
    if (!r) return;
    if (this.active !== null) this.rooms.get(this.active)?.button.removeAttribute('aria-current');
    this.active = room;
    r.button.setAttribute('aria-current', 'true');
    r.unread = 0;
    this.renderBadge(r);
    this.list.dataset.room = room;
    this.list.setAttribute('aria-label', `Messages in #${room}`);
    this.list.replaceChildren(...r.items);
    this.list.scrollTop = this.list.scrollHeight;
    this.on.shown(room);
  }

  /** Append a message element to a room; keeps the view pinned to the bottom if it was. */
  push(room, el) {
    const r = this.rooms.get(room) ?? this.add(room, 'joined');
    r.items.push(el);
    if (r.items.length > MAX_MESSAGES_PER_ROOM) {
      const old = r.items.shift();
      old.remove();
      this.on.evicted(old);
    }
    if (room === this.active) {
      const pinned = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
      this.list.appendChild(el);
      if (pinned) this.list.scrollTop = this.list.scrollHeight;
    } else if (el.classList.contains('msg') && !el.classList.contains('own')) {
      r.unread++;
      this.renderBadge(r);
    }
  }

  /** Take one element out of a room (used when a pending copy merges with its delivery). */
  drop(room, el) {
    const r = this.rooms.get(room);
    if (r) r.items = r.items.filter((x) => x !== el);
    el.remove();
  }

  renderBadge(r) {
    r.badge.hidden = r.unread === 0;
    setText(r.badge, r.unread > 99 ? '99+' : r.unread);
  }
}

/**
 * One message element. `data-msg-id` carries the server's msgId once known;
 * own messages also carry `data-client-id` (the `id` of the `say`).
 * `data-state`: pending | sent (acked) | delivered | failed.
 */
export function messageElement({ room, from, text, ts, msgId, clientId, own, state }) {
  const time = h('time', { 'data-testid': 'message-time' });
  const el = h('li', { class: 'msg', 'data-testid': 'message', 'data-room': room },
    h('div', { class: 'meta' },
      h('span', { class: 'from', 'data-testid': 'message-from' }, from),
      time,
      h('span', { class: 'state', 'data-testid': 'message-state' })),
    h('p', { class: 'text', 'data-testid': 'message-text' }, text));
  if (clientId) el.dataset.clientId = clientId;
  if (msgId) el.dataset.msgId = msgId;
  setTime(el, ts ?? Date.now());
  if (own) el.classList.add('own');
  setMessageState(el, state);
  return el;
}

/** The line a room shows where the server could not recover what the connection missed. */
export function gapElement(room) {
  return h('li', { class: 'gap', 'data-testid': 'gap', 'data-room': room, role: 'note' },
    'Some messages may be missing here: the server could not replay all that was said while this page was disconnected.');
}

export function setTime(el, ts) {
  const time = el.querySelector('time');
  const d = new Date(ts);
  time.dateTime = d.toISOString();
  time.title = d.toLocaleString();
  setText(time, d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
}

const STATE_LABELS = { pending: 'sending…', sent: 'sent', delivered: '', failed: 'failed' };

export function setMessageState(el, state, note = '') {
  el.dataset.state = state;
  const label = el.querySelector('.state');
  setText(label, note ? `${STATE_LABELS[state]}: ${note}` : STATE_LABELS[state]);
  el.querySelector('.retry')?.remove();
}
