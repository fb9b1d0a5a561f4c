// Field rules shared by the upgrade URL, the client frames and the config.
// "Characters" are Unicode code points, not UTF-16 units (PROTOCOL.md).

/** PROTOCOL.md: a room name. */
export const ROOM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export const ROOM_NAME_RULE = '1 to 64 of A-Z a-z 0-9 _ . : - starting with a letter or digit';

/** PROTOCOL.md: a client `id` is a string of 1–64 characters. */
export const MAX_ID_CHARS = 64;

export function isRoomName(value: string): boolean {
  return ROOM_NAME.test(value);
}

// PROTOCOL.md: a position is opaque to the client, which only sends back one
// it was given. The daemon checks no more than the alphabet and length here,
// so that a position from another deployment or an older log still parses and
// is answered with `recovered: false` rather than refused.
const POSITION = /^[A-Za-z0-9._:-]{1,64}$/;

export const POSITION_RULE = '1 to 64 of A-Z a-z 0-9 . _ : -';

export function isPosition(value: unknown): value is string {
  return typeof value === 'string' && POSITION.test(value);
}

/** PROTOCOL.md: the `client` key of the upgrade URL, which scopes idempotent resends. */
const CLIENT_KEY = /^[A-Za-z0-9_-]{16,64}$/;

export const CLIENT_KEY_RULE = '16 to 64 of A-Z a-z 0-9 _ -';

export function isClientKey(value: string): boolean {
  return CLIENT_KEY.test(value);
}

export function isClientId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && !hasMoreCodePointsThan(value, MAX_ID_CHARS);
}

/**
 * Whether `text` holds more than `limit` code points, counting only when it
 * must: n UTF-16 units hold between n/2 and n code points, so a string no
 * longer than `limit` units fits and one longer than 2 × `limit` does not.
 * In between, count, stopping as soon as the limit is passed. A lone
 * surrogate counts as one code point, as `for...of` counts it.
 */
export function hasMoreCodePointsThan(text: string, limit: number): boolean {
  const units = text.length;
  if (units <= limit) return false;
  if (units > 2 * limit) return true;
  let codePoints = 0;
  for (let i = 0; i < units; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < units) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    if (++codePoints > limit) return true;
  }
  return false;
}
