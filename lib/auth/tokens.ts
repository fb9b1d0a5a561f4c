// JSON Web Token verification (PROTOCOL.md "Authentication and access",
// LIBRARIES.md §8): with the key that keys.ts read and checked at start,
// every token is checked, its algorithm against the allow-list, and its
// claims turned into the identity of a connection.
import type { JWTPayload, JWTVerifyOptions } from 'jose';
import { ConfigError, type Config } from '../config';
import { hasMoreCodePointsThan } from '../protocol/fields';
import { cleanName, MAX_NAME_CHARS } from '../protocol/handshake';
import { loadKey, setting } from './keys';
import { parseRoomGrants, type RoomGrants } from './room_grants';

/**
 * The token travels in a request header (`Sec-WebSocket-Protocol` or
 * `Authorization`), and proxies commonly refuse header lines over 8 KiB
 * (nginx's large_client_header_buffers), so no real token is larger. Larger
 * ones are refused before jose decodes and parses them: an attacker's
 * megabyte costs nothing.
 */
export const MAX_TOKEN_BYTES = 8192;

const MAX_SUB_CHARS = 256;

export interface Identity {
  /** The `sub` claim: 1-256 characters, no control characters, never `anon:...`. */
  readonly user: string;
  /** The `name` claim cleaned as the URL's name is, cut to 32 characters; else the sub, cut. */
  readonly name: string;
  /** The `rooms` claim; undefined: every room. */
  readonly rooms: RoomGrants | undefined;
  /** The `exp` claim, in seconds since the epoch. */
  readonly exp: number;
}

/** error: a short reason for the close frame (4001) or the `unauthorized` error: never a part of the token or of a key. */
export type Verification = { readonly identity: Identity } | { readonly error: string };

export interface TokenVerifier {
  verify(token: string, now?: Date): Promise<Verification>;
}

/** Reads and checks the key once at start; a key that cannot be used throws ConfigError. mode 'off' → undefined. */
export async function loadTokenVerifier(auth: Config['auth']): Promise<TokenVerifier | undefined> {
  if (auth.mode === 'off') return undefined;
  const { verify, fitting, source } = loadKey(auth);
  const algorithms = auth.algorithms ?? fitting;
  const misfits = algorithms.filter((algorithm) => !fitting.includes(algorithm));
  if (misfits.length > 0) throw new ConfigError(`${setting('auth.algorithms')}: ${misfits.join(', ')} cannot be verified with ${source}`);
  const options: JWTVerifyOptions = {
    algorithms: [...algorithms],
    requiredClaims: ['exp', 'sub'],
    clockTolerance: auth.clockToleranceSeconds,
    issuer: auth.issuer,
    audience: auth.audience,
  };
  return {
    async verify(token, now = new Date()) {
      if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) return { error: 'token too large' };
      let payload: JWTPayload;
      try {
        ({ payload } = await verify(token, { ...options, currentDate: now }));
      } catch (error) {
        return { error: reasonOf(error) };
      }
      return identityOf(payload);
    },
  };
}

// jose's messages are not passed on (they may quote a header): stable
// reasons are, from its error codes. Anything else, such as a `crit` header
// naming an unknown extension, is 'token invalid'.
const REASONS = new Map<unknown, string>([
  ['ERR_JWT_EXPIRED', 'token expired'],
  ['ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'token signature invalid'],
  ['ERR_JOSE_ALG_NOT_ALLOWED', 'token algorithm not allowed'],
  ['ERR_JWKS_NO_MATCHING_KEY', 'token key unknown'],
  // Several keys fit a token without `kid`: the issuer must name its key.
  ['ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'token key ambiguous'],
  ['ERR_JWS_INVALID', 'token malformed'],
  ['ERR_JWT_INVALID', 'token malformed'],
]);

function reasonOf(error: unknown): string {
  const { code, claim, reason } = error as { code?: unknown; claim?: unknown; reason?: unknown };
  // jose takes the claim's name from its own code and our requiredClaims, never from the token.
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    if (claim === 'nbf' && reason === 'check_failed') return 'token not yet valid';
    return `token claim ${String(claim)} ${reason === 'missing' ? 'missing' : 'invalid'}`;
  }
  return REASONS.get(code) ?? 'token invalid';
}

// Control characters anywhere, unlike the name's global pattern in handshake.ts.
const CONTROL_CHARACTER = /\p{Cc}/u;

function identityOf(payload: JWTPayload): Verification {
  const { sub, exp } = payload;
  // `anon:` is how an unauthenticated connection's `user` reads
  // (`anon:<session>`): a token may not claim to be one of those.
  if (typeof sub !== 'string' || sub === '' || hasMoreCodePointsThan(sub, MAX_SUB_CHARS) || CONTROL_CHARACTER.test(sub) || sub.startsWith('anon:')) {
    return { error: 'token claim sub invalid' };
  }
  // JSON reads 1e999 as Infinity: a token that never expires, and a timer that fires at once.
  if (!Number.isFinite(exp)) return { error: 'token claim exp invalid' };
  const rooms = parseRoomGrants(payload['rooms']);
  if (rooms !== undefined && 'error' in rooms) return { error: 'token rooms invalid' };
  const claimed = typeof payload['name'] === 'string' ? firstCodePoints(cleanName(payload['name']), MAX_NAME_CHARS) : '';
  return { identity: { user: sub, name: claimed || firstCodePoints(sub, MAX_NAME_CHARS), rooms, exp: exp! } };
}

/** A token's name is cut, not refused as the URL's is: the issuer, not the user, chose it. */
function firstCodePoints(text: string, limit: number): string {
  return hasMoreCodePointsThan(text, limit) ? Array.from(text).slice(0, limit).join('').trimEnd() : text;
}
