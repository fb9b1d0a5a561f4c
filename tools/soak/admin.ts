/**
 * What the long runs read from a daemon's admin port: the heap after a
 * forced GC (POST /debug/gc), the event-loop lag (prom-client's, in
 * /metrics), and the actor tree with the structures that must not grow with
 * the sockets a node has seen.
 */
import type { HeapAfterGc } from '../../lib/http/heap';
import type { ActorInfo } from '../../lib/otp/sys';
import { actors } from '../../spec/support/admin';
import { type AdminPort, adminJson, adminRequest } from '../admin_port';

export async function heapAfterGc(admin: AdminPort): Promise<HeapAfterGc> {
  return (await (await adminRequest(admin, '/debug/gc', 'POST')).json()) as HeapAfterGc;
}

export async function actorTree(admin: AdminPort): Promise<ActorInfo> {
  return (await adminJson<{ tree: ActorInfo }>(admin, '/debug/tree')).tree;
}

/** Seconds; prom-client's histogram restarts after each scrape, so these cover the time since the last one. */
export async function eventLoopLag(admin: AdminPort): Promise<{ readonly p99: number; readonly max: number }> {
  const text = await (await adminRequest(admin, '/metrics')).text();
  const gauge = (name: string) => Number(new RegExp(`^(?:\\w+_)?nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { p99: gauge('p99'), max: gauge('max') };
}

/** The per-socket structures of a node, and those bounded by time and rooms instead (history, duplicate keys). */
export interface Structures {
  readonly actors: number;
  readonly connections: number;
  readonly relayMembers: number;
  readonly relayRooms: number;
  readonly presenceConnections: number;
  readonly presenceMemberships: number;
  readonly presenceRooms: number;
  /** Rooms the presence coalescer holds open for diffs. */
  readonly presenceOpenRooms: number;
  readonly historyRooms: number;
  readonly historyMessages: number;
  readonly historyBytes: number;
  readonly duplicateKeys: number;
}

/** Every structure that must be back where it was once the sockets are gone. */
export const PER_SOCKET = ['actors', 'connections', 'relayMembers', 'relayRooms', 'presenceConnections', 'presenceMemberships', 'presenceRooms', 'presenceOpenRooms'] as const;

export function structures(tree: ActorInfo): Structures {
  const all = actors(tree);
  const info = (behaviour: string) => all.find((actor) => actor.behaviour === behaviour)?.info ?? {};
  const relay = info('relay');
  const presence = info('presence');
  const count = (value: unknown) => Number(value ?? NaN);
  return {
    actors: all.length,
    connections: all.filter((actor) => actor.behaviour === 'connection').length,
    relayMembers: count(relay['members']),
    relayRooms: count(relay['rooms']),
    presenceConnections: count(presence['connections']),
    presenceMemberships: count(presence['memberships']),
    presenceRooms: count(presence['rooms']),
    presenceOpenRooms: count(presence['presenceRooms']),
    historyRooms: count(relay['historyRooms']),
    historyMessages: count(relay['historyMessages']),
    historyBytes: count(relay['historyBytes']),
    duplicateKeys: count(relay['duplicateKeys']),
  };
}

/**
 * What history and the duplicate window may have grown by, over `baseline`,
 * when at most `rooms` rooms had messages: one ring of `historySize` + 1
 * messages and one window of `historySize` keys per room, for
 * history.ttlSeconds; the number of sockets that said them does not count.
 * Returns the bounds broken.
 */
export function pastRoomBounds(baseline: Structures, after: Structures, rooms: number, historySize: number): string[] {
  const bounds: Array<[keyof Structures, number]> = [
    ['historyRooms', rooms],
    ['historyMessages', rooms * (historySize + 1)],
    ['duplicateKeys', rooms * historySize],
  ];
  return bounds.filter(([key, most]) => after[key] > baseline[key] + most).map(([key, most]) => `${key} ${after[key]} > ${baseline[key]} + ${most}`);
}
