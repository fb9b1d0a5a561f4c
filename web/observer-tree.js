// The supervision tree, drawn as nested lists and updated in place: every
// rendered actor is a DOM node keyed by its `path`, so a poll only touches
// what changed, and expanded/collapsed state, filters and scroll position
// survive connections coming and going. Only visible actors have DOM nodes:
// collapsed subtrees have none, and a supervisor with many children shows
// them a page at a time, so each poll's DOM work follows what is on screen,
// not the size of the tree.

import { h, setText, setAttr, fmtInt } from './dom.js';
import { renderInfo, infoKey } from './observer-info.js';

/** Children shown per "page" of a big supervisor. */
export const PAGE_SIZE = 50;
// An actor with at most this many siblings starts expanded: the top of the
// tree and a handful of connections unfold on their own; 5,000 do not.
const AUTO_EXPAND_MAX_SIBLINGS = 20;
// A supervisor with more children than this gets a filter box.
const FILTER_FROM = 20;
// How long a changed restarts count stays highlighted.
const FLASH_MS = 6000;

/** Aggregates over an actor's subtree ({actors, restarts, mailbox}), set by annotate(). */
export const BELOW = Symbol('below');

const childrenOf = (a) => (Array.isArray(a.children) ? a.children : []);
const num = (n) => (typeof n === 'number' && Number.isFinite(n) ? n : 0);

/** Walk the tree once: compute each actor's subtree aggregates and call visit(actor). */
export function annotate(actor, visit) {
  visit(actor);
  const below = { actors: 0, restarts: 0, mailbox: 0 };
  for (const c of childrenOf(actor)) {
    const b = annotate(c, visit);
    below.actors += 1 + b.actors;
    below.restarts += num(c.restarts) + b.restarts;
    below.mailbox += num(c.mailbox) + b.mailbox;
  }
  actor[BELOW] = below;
  return below;
}

function matches(actor, needle) {
  const info = actor.info && typeof actor.info === 'object' ? actor.info : {};
  const hay = [actor.name, actor.path, info.name, info.remote, Array.isArray(info.rooms) ? info.rooms.join(' ') : '']
    .map((s) => String(s ?? '').toLowerCase());
  return hay.some((s) => s.includes(needle));
}

export class TreeView {
  /**
   * @param {HTMLElement} root  the <ul data-testid="tree">
   * @param {{ kill(path: string): void, event(text: string, tone?: string): void, open(path: string): void }} on
   */
  constructor(root, on) {
    this.root = root;
    this.on = on;
    this.rootKids = new Map();
    /** every rendered actor: path -> view */
    this.views = new Map();
    /** the user's choices, kept across polls and across re-creation of nodes */
    this.expanded = new Map();
    this.limits = new Map();
    this.filters = new Map();
    this.flashTimers = new WeakMap();
  }

  update(tree) {
    this.reconcile(this.root, this.rootKids, tree ? [tree] : [], 1);
  }

  /** Show a kill result next to the actor's kill button (if it is on screen). */
  killResult(path, text, tone) {
    const v = this.views.get(path);
    if (!v) return;
    setText(v.killResult, text);
    v.killResult.dataset.tone = tone;
    clearTimeout(v.killTimer);
    v.killTimer = setTimeout(() => setText(v.killResult, ''), FLASH_MS);
  }

  /** Make `ul` hold one node per actor of `actors`, in order, reusing nodes by path. */
  reconcile(ul, kids, actors, siblings) {
    const want = new Set();
    for (const a of actors) want.add(a.path);
    for (const [path, v] of kids) {
      if (!want.has(path)) {
        this.destroy(v, true);
        kids.delete(path);
      }
    }
    let cursor = ul.firstElementChild;
    const seen = new Set();
    for (const a of actors) {
      if (seen.has(a.path)) continue; // a malformed tree with a duplicate path: draw it once
      seen.add(a.path);
      let v = kids.get(a.path);
      if (!v) {
        v = this.create(a);
        kids.set(a.path, v);
      }
      this.render(v, a, siblings);
      if (v.li === cursor) cursor = cursor.nextElementSibling;
      else ul.insertBefore(v.li, cursor);
    }
  }

  destroy(v, detach) {
    for (const k of v.kids.values()) this.destroy(k, false);
    v.kids.clear();
    clearTimeout(v.killTimer);
    if (this.views.get(v.path) === v) this.views.delete(v.path);
    if (detach) v.li.remove();
  }

  create(a) {
    const path = String(a.path);
    const v = { path, kids: new Map(), data: a, siblings: 1, prev: {}, killTimer: 0 };
    v.toggle = h('button', { type: 'button', class: 'toggle', 'data-testid': 'toggle', onclick: () => this.toggle(v) });
    v.spacer = h('span', { class: 'toggle-spacer', 'aria-hidden': 'true' });
    v.name = h('button', { type: 'button', class: 'name', 'data-testid': 'actor-name', title: `details of ${path}`,
      onclick: () => this.on.open(path) });
    v.kind = h('span', { class: 'kind', 'data-testid': 'kind' });
    v.behaviour = h('span', { class: 'behaviour', 'data-testid': 'behaviour' });
    v.strategy = h('span', { class: 'strategy', 'data-testid': 'strategy' });
    v.count = h('span', { class: 'count', 'data-testid': 'child-count' });
    v.mailbox = h('b', { 'data-testid': 'mailbox' });
    v.processed = h('b', { 'data-testid': 'processed' });
    v.restarts = h('b', { 'data-testid': 'restarts' });
    v.info = h('span', { class: 'info', 'data-testid': 'info' });
    v.killResult = h('span', { class: 'kill-result', 'data-testid': 'kill-result', role: 'status' });
    v.kill = h('button', { type: 'button', class: 'kill', 'data-testid': 'kill', title: `POST /debug/kill?path=${path}`,
      'aria-label': `Kill ${path}`, onclick: () => this.on.kill(path) }, 'kill');
    v.row = h('div', { class: 'actor', 'data-testid': 'actor', 'data-path': path },
      v.toggle, v.spacer,
      h('div', { class: 'body' }, v.name, v.kind, v.behaviour, v.strategy, v.count,
        h('span', { class: 'stats' },
          h('span', { class: 'stat', title: 'messages waiting in the mailbox' }, 'mailbox ', v.mailbox),
          h('span', { class: 'stat', title: 'messages handled since start' }, 'processed ', v.processed),
          h('span', { class: 'stat', title: 'times its supervisor restarted it' }, 'restarts ', v.restarts)),
        v.info, v.killResult, v.kill));
    v.filter = h('input', { type: 'search', class: 'filter', 'data-testid': 'child-filter', spellcheck: 'false',
      'aria-label': `Filter the children of ${path}`, oninput: () => this.setFilter(v) });
    v.tools = h('div', { class: 'child-tools', hidden: true }, v.filter);
    v.ul = h('ul', { class: 'children', hidden: true });
    v.moreButton = h('button', { type: 'button', class: 'link', 'data-testid': 'show-more', onclick: () => this.showMore(v) });
    v.moreNote = h('span', { class: 'muted' });
    v.more = h('div', { class: 'more', hidden: true }, v.moreButton, ' ', v.moreNote);
    v.li = h('li', { class: 'node' }, v.row, v.tools, v.ul, v.more);
    this.views.set(path, v);
    return v;
  }

  isOpen(v) {
    return childrenOf(v.data).length > 0 && (this.expanded.get(v.path) ?? v.siblings <= AUTO_EXPAND_MAX_SIBLINGS);
  }

  toggle(v) {
    this.expanded.set(v.path, !this.isOpen(v));
    this.render(v, v.data, v.siblings);
  }

  showMore(v) {
    this.limits.set(v.path, (this.limits.get(v.path) ?? PAGE_SIZE) + PAGE_SIZE);
    this.render(v, v.data, v.siblings);
  }

  setFilter(v) {
    const text = v.filter.value;
    if (text) this.filters.set(v.path, text);
    else this.filters.delete(v.path);
    this.limits.delete(v.path);
    this.render(v, v.data, v.siblings);
  }

  render(v, a, siblings) {
    v.data = a;
    v.siblings = siblings;
    this.renderRow(v, a);
    const kids = childrenOf(a);
    const open = this.isOpen(v);
    v.toggle.hidden = kids.length === 0;
    v.spacer.hidden = kids.length > 0;
    setAttr(v.toggle, 'aria-expanded', kids.length ? String(open) : null);
    setAttr(v.toggle, 'aria-label', `${open ? 'Collapse' : 'Expand'} ${a.name}`);
    setText(v.toggle, open ? '▾' : '▸');
    const below = a[BELOW] ?? { actors: 0, restarts: 0 };
    if (!open) {
      if (v.kids.size) {
        for (const k of v.kids.values()) this.destroy(k, false);
        v.kids.clear();
        v.ul.replaceChildren();
      }
      v.ul.hidden = v.tools.hidden = v.more.hidden = true;
      this.renderCount(v, kids.length, null, below);
      return;
    }
    const needle = (this.filters.get(v.path) ?? '').trim().toLowerCase();
    const matched = needle ? kids.filter((c) => matches(c, needle)) : kids;
    const limit = this.limits.get(v.path) ?? PAGE_SIZE;
    const shown = matched.length > limit ? matched.slice(0, limit) : matched;
    this.reconcile(v.ul, v.kids, shown, kids.length);
    v.ul.hidden = false;
    v.tools.hidden = kids.length <= FILTER_FROM && !needle;
    v.filter.placeholder = `filter ${fmtInt(kids.length)} children by name or path`;
    const hidden = matched.length - shown.length;
    v.more.hidden = hidden === 0;
    setText(v.moreButton, `Show ${fmtInt(Math.min(PAGE_SIZE, hidden))} more`);
    setText(v.moreNote, `(showing ${fmtInt(shown.length)} of ${fmtInt(matched.length)})`);
    this.renderCount(v, kids.length, needle ? matched.length : null, below);
  }

  renderRow(v, a) {
    const behaviour = String(a.behaviour ?? '');
    const kind = String(a.kind ?? '');
    setAttr(v.row, 'data-behaviour', behaviour);
    setAttr(v.row, 'data-kind', kind);
    setText(v.name, a.name ?? v.path);
    setText(v.kind, kind);
    v.kind.dataset.kind = kind;
    setText(v.behaviour, behaviour);
    v.behaviour.hidden = behaviour === '' || behaviour === a.name || behaviour === kind;
    setText(v.strategy, a.strategy ?? '');
    v.strategy.hidden = !a.strategy;
    setText(v.mailbox, fmtInt(num(a.mailbox)));
    setAttr(v.mailbox.parentElement, 'data-tone', num(a.mailbox) > 1000 ? 'bad' : num(a.mailbox) > 100 ? 'warn' : null);
    setText(v.processed, fmtInt(num(a.processed)));
    setText(v.restarts, fmtInt(num(a.restarts)));
    const restarts = num(a.restarts);
    if (v.prev.restarts !== undefined && restarts !== v.prev.restarts) {
      this.flash(v.restarts.parentElement);
      this.on.event(`${v.path}: restarts ${v.prev.restarts} → ${restarts}`, 'warn');
    }
    v.prev.restarts = restarts;
    setAttr(v.restarts.parentElement, 'data-nonzero', restarts > 0 ? 'true' : null);
    const key = infoKey(a.info);
    if (key !== v.prev.infoKey) {
      renderInfo(v.info, a.info);
      v.prev.infoKey = key;
    }
  }

  /** "N children", plus while collapsed a summary of what is below (restarts flash when they change). */
  renderCount(v, n, matched, below) {
    if (n === 0) {
      v.count.hidden = true;
      return;
    }
    v.count.hidden = false;
    let text = matched === null ? `${fmtInt(n)} ${n === 1 ? 'child' : 'children'}` : `${fmtInt(matched)} of ${fmtInt(n)} match`;
    const open = !v.ul.hidden;
    if (!open && below.actors > n) text += ` · ${fmtInt(below.actors)} actors below`;
    if (!open && below.restarts > 0) text += ` · Σ restarts ${fmtInt(below.restarts)}`;
    setText(v.count, text);
    if (!open && v.prev.belowRestarts !== undefined && below.restarts > v.prev.belowRestarts) {
      this.flash(v.count);
      this.on.event(`${v.data.name}: restarts below ${v.prev.belowRestarts} → ${below.restarts}`, 'warn');
    }
    v.prev.belowRestarts = open ? undefined : below.restarts;
  }

  flash(el) {
    el.classList.remove('flash');
    void el.offsetWidth; // restart the CSS animation
    el.classList.add('flash');
    clearTimeout(this.flashTimers.get(el));
    this.flashTimers.set(el, setTimeout(() => el.classList.remove('flash'), FLASH_MS));
  }
}
