// The upgrade URL (PROTOCOL.md "Connecting"):
// `?name=NAME&room=ROOM[&since=POS][&client=KEY]`, checked before the
// upgrade; a refusal becomes an HTTP 400 with the one-line reason.
import { randomBytes } from 'node:crypto';
import { CLIENT_KEY_RULE, hasMoreCodePointsThan, isClientKey, isPosition, isRoomName, POSITION_RULE, ROOM_NAME_RULE } from './fields';

export const MAX_NAME_CHARS = 32;

export type Handshake =
  | {
      readonly name: string;
      readonly room: string;
      /** The position last seen in `room`: recover it as a `join` with `since` does. */
      readonly since?: string;
      /** The key that scopes the client's idempotent resends; never shown to anyone. */
      readonly client?: string;
    }
  | { readonly error: string };

// Unicode general category Cc: C0 controls, DEL and C1 controls.
const CONTROL_CHARACTERS = /\p{Cc}/gu;

/**
 * `query` is the raw query string without `?`. When a parameter is given more
 * than once the first one counts. Percent-decoding is URLSearchParams', which
 * never throws: a malformed sequence stays as written, and bytes that are not
 * UTF-8 become U+FFFD.
 */
export function parseHandshake(query: string, options: { readonly defaultRoom: string }): Handshake {
  const params = new URLSearchParams(query);
  const name = cleanName(params.get('name') ?? '');
  if (hasMoreCodePointsThan(name, MAX_NAME_CHARS)) return { error: `name: longer than ${MAX_NAME_CHARS} characters` };
  // A parameter with nothing after it (`room=`) counts as absent, as an empty name counts as no name.
  const room = params.get('room') || options.defaultRoom;
  if (!isRoomName(room)) return { error: `room: expected a room name (${ROOM_NAME_RULE})` };
  const since = params.get('since') || undefined;
  if (since !== undefined && !isPosition(since)) return { error: `since: expected a position (${POSITION_RULE})` };
  const client = params.get('client') || undefined;
  if (client !== undefined && !isClientKey(client)) return { error: `client: expected a client key (${CLIENT_KEY_RULE})` };
  return { name: name || anonymousName(), room, since, client };
}

/** A display name without control characters, trimmed; the URL's `name` and a token's `name` claim alike. */
export function cleanName(raw: string): string {
  // Control characters go first, so white space they hid is trimmed too.
  return raw.replace(CONTROL_CHARACTERS, '').trim();
}

/** `anon-` and 4 random hex digits. */
function anonymousName(): string {
  return `anon-${randomBytes(2).toString('hex')}`;
}
