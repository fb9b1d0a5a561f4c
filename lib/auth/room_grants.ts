// The `rooms` claim of a token (PROTOCOL.md "Authentication and access"):
// the rooms a user may join and say in, as exact room names and `prefix*`
// patterns. It is parsed once per token and asked on every join and say of
// the connection, so asking is a set lookup and a short scan.
import { isRoomName } from '../protocol/fields';

export interface RoomGrants {
  readonly exact: ReadonlySet<string>;
  /** Without their `*`; `''` (from `*` alone) grants every room. None is a prefix of another. */
  readonly prefixes: readonly string[];
}

// One reason for every bad claim: naming the bad entry would echo a part of
// the token into a close frame or a log.
const INVALID = { error: 'rooms: expected a list of room names or prefix* patterns' } as const;

/** undefined claim → undefined (every room). Anything not an array of valid entries → { error }. */
export function parseRoomGrants(claim: unknown): RoomGrants | undefined | { readonly error: string } {
  if (claim === undefined) return undefined;
  if (!Array.isArray(claim)) return INVALID;
  const exact = new Set<string>();
  const patterns = new Set<string>();
  for (const entry of claim) {
    if (typeof entry !== 'string') return INVALID;
    if (entry.endsWith('*')) {
      // Every start of a room name is itself a room name, so the prefix
      // follows the same rule; `*` alone leaves the empty prefix.
      const prefix = entry.slice(0, -1);
      if (prefix !== '' && !isRoomName(prefix)) return INVALID;
      patterns.add(prefix);
    } else {
      if (!isRoomName(entry)) return INVALID;
      exact.add(entry);
    }
  }
  return { exact, prefixes: withoutCovered([...patterns]) };
}

/**
 * Drops each prefix that a shorter one already covers (`team-a` under
 * `team-`), so that `grants` scans no more prefixes than it must. Sorted,
 * a prefix comes right before every string it is a prefix of.
 */
function withoutCovered(prefixes: string[]): string[] {
  const kept: string[] = [];
  for (const prefix of prefixes.sort()) {
    const last = kept[kept.length - 1];
    if (last === undefined || !prefix.startsWith(last)) kept.push(prefix);
  }
  return kept;
}

/** undefined grants → true. */
export function grants(rooms: RoomGrants | undefined, room: string): boolean {
  if (rooms === undefined || rooms.exact.has(room)) return true;
  for (const prefix of rooms.prefixes) if (room.startsWith(prefix)) return true;
  return false;
}
