// Who is in the room on screen: the library's member list of that room,
// with the room's counts (the whole room, also when the list is cut short).

import { h, setText } from './dom.js';

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/**
 * @param {{counts: HTMLElement, list: HTMLElement}} els
 * @param {import('../client/warren.d.mts').Presence | undefined} presence undefined: not known (yet)
 * @param {string | undefined} me this connection's `user`, marked in the list
 */
export function renderPresence({ counts, list }, presence, me) {
  if (presence === undefined) {
    setText(counts, '');
    list.replaceChildren();
    return;
  }
  const { members, users, connections, truncated } = presence;
  setText(counts, `${plural(users, 'user', 'users')} · ${plural(connections, 'connection', 'connections')}`);
  const items = members.map((m) => h('li', { class: 'member', 'data-testid': 'member', 'data-user': m.user },
    h('span', { class: 'member-name', 'data-testid': 'member-name' }, m.name),
    m.user === me ? h('span', { class: 'muted' }, ' (you)') : null,
    m.connections > 1 ? h('span', { class: 'muted', title: `${m.connections} connections` }, ` ×${m.connections}`) : null));
  if (truncated && users > members.length) {
    items.push(h('li', { class: 'member muted', 'data-testid': 'presence-more' }, `and ${users - members.length} more`));
  }
  list.replaceChildren(...items);
}
