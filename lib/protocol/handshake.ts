// The upgrade URL (PROTOCOL.md "Connecting"):
// `?name=NAME&room=ROOM[&since=POS][&client=KEY]`, checked before the
// upgrade; a refusal becomes an HTTP 400 with the one-line reason.
import { randomBytes } from 'node:crypto';
import { CLIENT_KEY_RULE, hasMoreCodePointsThan, isClientKey, isPosition, isRoomName, POSITION_RULE, ROOM_NAME_RULE } from './fields';

export const MAX_NAME_CHARS = 32;

export type Handshake =
  | {
      /** '' on an authenticated connection, whose token names it. */
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
export function parseHandshake(query: string, options: { readonly defaultRoom: string; readonly authenticated: boolean }): Handshake {
  const params = new URLSearchParams(query);
  // An authenticated connection is named by its token: `name` is not read.
  const name = options.authenticated ? '' : cleanName(params.get('name') ?? '');
  if (hasMoreCodePointsThan(name, MAX_NAME_CHARS)) return { error: `name: longer than ${MAX_NAME_CHARS} characters` };
  // A parameter with nothing after it (`room=`) counts as absent, as an empty name counts as no name.
  const room = params.get('room') || options.defaultRoom;
  if (!isRoomName(room)) return { error: `room: expected a room name (${ROOM_NAME_RULE})` };
  const since = params.get('since') || undefined;
  if (since !== undefined && !isPosition(since)) return { error: `since: expected a position (${POSITION_RULE})` };
  const client = params.get('client') || undefined;
  if (client !== undefined && !isClientKey(client)) return { error: `client: expected a client key (${CLIENT_KEY_RULE})` };
  return { name: name || (options.authenticated ? '' : anonymousName()), room, since, client };
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

export type UpgradeRefusal = { readonly status: '426 Upgrade Required' | '400 Bad Request'; readonly reason: string };

/**
 * RFC 6455 §4.2.1 and §4.2.2, checked before the upgrade: uWebSockets.js
 * upgrades whatever it is handed. undefined: fine. Otherwise the HTTP status
 * line and a one-line reason; a 426 also carries `Sec-WebSocket-Version: 13`
 * (the caller adds the header). `version` and `key` are the headers as
 * uWebSockets.js gives them: '' when missing.
 */
export function checkUpgradeHeaders(version: string, key: string): UpgradeRefusal | undefined {
  // A missing version is "not 13" too (PROTOCOL.md), and the 426 tells the
  // client which version to speak (§4.4).
  if (version !== '13') return { status: '426 Upgrade Required', reason: 'Sec-WebSocket-Version: expected 13' };
  if (key === '') return { status: '400 Bad Request', reason: 'Sec-WebSocket-Key: missing' };
  // Node's base64 decoder skips what is not base64 and takes the URL-safe
  // alphabet too: only a key that is the very encoding of 16 bytes encodes
  // back to itself (24 characters, ending in ==, no stray bits).
  const bytes = Buffer.from(key, 'base64');
  if (bytes.length !== 16 || bytes.toString('base64') !== key) return { status: '400 Bad Request', reason: 'Sec-WebSocket-Key: expected the base64 of 16 bytes' };
  return undefined;
}
