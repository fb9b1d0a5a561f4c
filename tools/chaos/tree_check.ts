/**
 * The tree of a quiet daemon, held against the sockets its clients have
 * open: after the chaos, every open socket is one connection with one
 * consumer, and nothing is left of the sockets that are gone (PROTOCOL.md,
 * "Admin port").
 *
 * The clients are anonymous, so each socket is a user of its own: presence
 * counts one membership per socket.
 */
import type { ActorInfo } from '../../lib/otp/sys';

/** One socket a client has open, in the one room it joined. */
export interface LiveSocket {
  readonly name: string;
  readonly room: string;
}

/** What does not add up, one line each; empty when the tree is as the sockets say. */
export function checkTree(tree: ActorInfo, live: readonly LiveSocket[], historySize: number): string[] {
  const problems: string[] = [];
  const expect = (what: string, actual: unknown, expected: unknown) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  };
  const child = (name: string) => tree.children.find((actor) => actor.name === name);
  const info = (name: string) => {
    const actor = child(name);
    if (!actor) problems.push(`${tree.path} has no ${name}`);
    return actor?.info ?? {};
  };
  const rooms = new Set(live.map(({ room }) => room)).size;

  const connections = (child('connection_sup')?.children ?? []).filter((actor) => actor.behaviour === 'connection');
  expect('connections', connections.length, live.length);
  expect('connections per name', countBy(connections.map((actor) => String(actor.info['name']))), countBy(live.map(({ name }) => name)));
  for (const connection of connections) {
    const room = live.find(({ name }) => name === connection.info['name'])?.room;
    if (room !== undefined) expect(`${connection.path} rooms`, connection.info['rooms'], [room]);
    expect(`${connection.path} children`, connection.children.map((actor) => actor.behaviour), ['consumer']);
    expect(`${connection.path} awaitingConfirm`, connection.info['awaitingConfirm'], 0);
  }

  const relay = info('relay');
  expect('relay members', relay['members'], live.length);
  expect('relay rooms', relay['rooms'], rooms);
  // History is kept per room, not per socket: bounded by the rooms said in.
  // The relay keeps one message more than a room serves (relay.ts).
  const perRoom = historySize + 1;
  for (const kept of ['historyMessages', 'duplicateKeys']) {
    if (Number(relay[kept]) > Number(relay['historyRooms']) * perRoom) problems.push(`relay ${kept}: ${relay[kept]} in ${relay['historyRooms']} rooms, more than ${perRoom} a room`);
  }

  const presence = info('presence');
  expect('presence connections', presence['connections'], live.length);
  expect('presence memberships', presence['memberships'], live.length);
  expect('presence rooms', presence['rooms'], rooms);

  const broker = info('broker');
  expect('broker waiting', broker['waiting'], 0);
  expect('broker inFlight', broker['inFlight'], 0);

  const listener = info('listener');
  expect('listener open', listener['open'], live.length);
  expect('listener upgrading', listener['upgrading'], 0);
  return problems;
}

function countBy(keys: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of [...keys].sort()) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}
