// Tiny DOM helpers shared by the chat page and the observer page.
// Everything that comes from the network (names, chat text, actor info) goes
// through text nodes: there is no innerHTML anywhere in web/.

/**
 * Create an element. `props` sets attributes (`class`, `data-*`, `aria-*`,
 * ...); a function value is added as an event listener (`onclick`); `true`
 * sets a boolean attribute and `false`/`null`/`undefined` omits it. Children
 * may be nodes, strings (become text nodes), or nested arrays of those.
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  return build(document.createElement(tag), props, children);
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** h() for inline SVG elements (`svg`, `path`, `line`, `g`, `title`). */
export function svg(tag, props = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), props, children);
}

function build(el, props, children) {
  for (const [key, value] of Object.entries(props)) {
    if (value === false || value === null || value === undefined) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), /** @type {EventListener} */ (value));
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Append children (nodes, strings, numbers, nested arrays) as DOM/text nodes. */
export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** An actor path as text with a line-break opportunity after each "/" (a long path wraps between its parts). */
export function pathText(path) {
  return String(path).split('/').flatMap((part, i) => (i === 0 ? [part] : [h('wbr'), `/${part}`]));
}

/** Set textContent only when it differs (avoids needless layout work). */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

/** Toggle an attribute to a string value, or remove it for null. */
export function setAttr(el, name, value) {
  if (value === null || value === undefined) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== String(value)) {
    el.setAttribute(name, String(value));
  }
}

/** Number with thousands separators (1234567 -> "1,234,567"). */
export function fmtInt(n) {
  return typeof n === 'number' && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}

/** A rate with one decimal while it is small ("0.5", "12.3"), whole above 100 ("1,234"). */
export function fmtRate(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return String(n);
  return Math.abs(n) < 100 ? n.toFixed(1) : fmtInt(n);
}

/** Local wall-clock time of an epoch ms: "14:03:07", or "14:03:07.042" with `ms`. */
export function fmtClock(epochMs, ms = false) {
  const d = new Date(epochMs);
  if (Number.isNaN(d.getTime())) return String(epochMs);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return ms ? `${hms}.${pad(d.getMilliseconds(), 3)}` : hms;
}

/** Seconds as a short human duration: "42s", "5m 03s", "2h 04m", "3d 01h". */
export function fmtDuration(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const pad = (n) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor(s / 3600) % 24)}h`;
}

/** Length in Unicode code points, as PROTOCOL.md counts characters. */
export function codePoints(s) {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
