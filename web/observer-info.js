// Compact rendering of an actor's `info` object (PROTOCOL.md, /debug/tree):
// generic key/value chips, with special formatting for the keys the protocol
// names (connection: name, user, rooms, remote; consumer: delivered, dropped,
// buffered; broker: kind, state; listener: uws; presence: nodes).

import { h, fmtInt } from './dom.js';

// Known keys first, in this order; any other key after them, as sent.
const ORDER = ['name', 'user', 'kind', 'state', 'uws', 'rooms', 'remote', 'delivered', 'dropped', 'buffered'];
const MAX_ROOMS_SHOWN = 6;
const MAX_VALUE_CHARS = 60;

/** Words in a broker/connection state that mean "fine" or "in between". */
const GOOD_STATES = /^(connected|up|ready|open|ok|running|native|subscribed)$/i;
const WARN_STATES = /^(connecting|reconnecting|starting|blocked|draining|closing|recovering)$/i;

/** 'good' | 'warn' | 'bad' for a state word (anything unknown counts as bad: it is not "up"). */
export function stateTone(state) {
  const s = String(state ?? '');
  if (GOOD_STATES.test(s)) return 'good';
  if (WARN_STATES.test(s)) return 'warn';
  return 'bad';
}

/** A cheap identity for "did this info change since the last poll?". */
export function infoKey(info) {
  return info === undefined || info === null ? '' : JSON.stringify(info);
}

/** Replace `el`'s children with one chip per key of `info`. */
export function renderInfo(el, info) {
  el.replaceChildren();
  if (info === null || typeof info !== 'object' || Array.isArray(info)) return;
  const rank = (k) => {
    const i = ORDER.indexOf(k);
    return i === -1 ? ORDER.length : i;
  };
  const keys = Object.keys(info).sort((a, b) => rank(a) - rank(b));
  for (const key of keys) el.appendChild(chip(key, info[key]));
}

function chip(key, value) {
  const { parts, title, tone } = format(key, value);
  const el = h('span', { class: 'chip', 'data-key': key, title: `${key}: ${title}` },
    h('span', { class: 'k' }, key), h('span', { class: 'v' }, parts));
  if (tone) el.dataset.tone = tone;
  return el;
}

function format(key, value) {
  if (key === 'rooms' && Array.isArray(value)) {
    const shown = value.slice(0, MAX_ROOMS_SHOWN).map((r) => h('span', { class: 'room' }, `#${r}`));
    const more = value.length > MAX_ROOMS_SHOWN ? [h('span', { class: 'more' }, `+${value.length - MAX_ROOMS_SHOWN}`)] : [];
    return { parts: value.length ? [...shown, ...more] : ['none'], title: value.join(', ') || 'none' };
  }
  if (key === 'nodes' && Array.isArray(value)) {
    // The other nodes presence knows: one badge each, down ones marked.
    const shown = value.map((n) => h('span', { class: 'node', 'data-tone': n.up ? 'good' : 'bad' }, `${n.node} ${n.up ? 'up' : 'down'}`));
    const title = value.map((n) => `${n.node}: ${n.up ? 'up' : 'down'}, incarnation ${n.incarnation}, seq ${n.seq}, ${n.entries} entries, last heard ${n.lastHeardAt}`).join('; ');
    return { parts: shown.length ? shown : ['none'], title: title || 'none' };
  }
  if ((key === 'state' || key === 'uws') && typeof value === 'string') {
    return { parts: [value], title: value, tone: key === 'uws' && value === 'fallback' ? 'bad' : stateTone(value) };
  }
  if (typeof value === 'number') {
    const tone = key === 'dropped' && value > 0 ? 'warn' : undefined;
    const text = /bytes$/i.test(key) ? fmtBytes(value) : fmtInt(value);
    return { parts: [text], title: String(value), tone };
  }
  if (typeof value === 'boolean') return { parts: [value ? 'yes' : 'no'], title: String(value) };
  if (value === null || value === undefined) return { parts: ['–'], title: 'null' };
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value) && !Number.isNaN(Date.parse(value))) {
    return { parts: [new Date(value).toLocaleTimeString()], title: value };
  }
  const full = typeof value === 'string' ? value
    : Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null) ? value.join(', ')
      : JSON.stringify(value);
  return { parts: [truncate(full)], title: full };
}

function truncate(s) {
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS - 1)}…` : s;
}

export function fmtBytes(n) {
  if (!Number.isFinite(n)) return String(n);
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}
