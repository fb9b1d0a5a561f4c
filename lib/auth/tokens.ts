// JSON Web Token verification (PROTOCOL.md "Authentication and access",
// LIBRARIES.md §8): the key is read and checked once at start, then every
// token is checked against it, its algorithm against the allow-list, and its
// claims turned into the identity of a connection.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { ConfigError, type Config } from '../config';
import { HMAC_ALGORITHMS, PUBLIC_KEY_ALGORITHMS } from '../config/schema';
import { SETTINGS } from '../config/settings';
import { hasMoreCodePointsThan } from '../protocol/fields';
import { cleanName, MAX_NAME_CHARS } from '../protocol/handshake';
import { parseRoomGrants, type RoomGrants } from './room_grants';

/**
 * The token travels in a request header (`Sec-WebSocket-Protocol` or
 * `Authorization`), and proxies commonly refuse header lines over 8 KiB
 * (nginx's large_client_header_buffers), so no real token is larger. Larger
 * ones are refused before jose decodes and parses them: an attacker's
 * megabyte costs nothing.
 */
export const MAX_TOKEN_BYTES = 8192;

/** RFC 7518 3.3 asks for 2048 bits; jose refuses smaller RSA keys only when a token arrives. */
const MIN_RSA_BITS = 2048;
const MAX_SUB_CHARS = 256;

export interface Identity {
  readonly user: string;
  readonly name: string;
  readonly rooms: RoomGrants | undefined;
  /** Seconds since the epoch. */
  readonly exp: number;
}

/** error: a short reason for the close frame (4001) or the `unauthorized` error: never a part of the token or of a key. */
export type Verification = { readonly identity: Identity } | { readonly error: string };

export interface TokenVerifier {
  verify(token: string, now?: Date): Promise<Verification>;
}

type Verify = (token: string, options: JWTVerifyOptions) => Promise<{ payload: JWTPayload }>;

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

interface Key {
  readonly verify: Verify;
  /** The algorithms this key can verify: the default allow-list. */
  readonly fitting: readonly string[];
  /** For error messages: the key as the operator knows it. */
  readonly source: string;
}

function loadKey(auth: Config['auth']): Key {
  if (auth.hmacSecret !== undefined) {
    const secret = new TextEncoder().encode(auth.hmacSecret);
    return { verify: (token, options) => jwtVerify(token, secret, options), fitting: HMAC_ALGORITHMS, source: 'auth.hmacSecret' };
  }
  if (auth.publicKeyFile !== undefined) {
    const name = setting('auth.publicKeyFile');
    const key = publicKeyOf(readKeyFile(name, auth.publicKeyFile), name);
    return { verify: (token, options) => jwtVerify(token, key, options), fitting: algorithmsOf(key, name), source: 'auth.publicKeyFile' };
  }
  if (auth.jwksFile !== undefined) {
    const { jwks, fitting } = loadJwks(auth.jwksFile);
    return { verify: (token, options) => jwtVerify(token, jwks, options), fitting, source: 'auth.jwksFile' };
  }
  throw new ConfigError(`${setting('auth.mode')}: required needs a key: auth.hmacSecret, auth.publicKeyFile or auth.jwksFile`);
}

/** `auth.publicKeyFile (AUTH_PUBLIC_KEY_FILE)`, as the config's own errors name a setting. */
function setting(path: string): string {
  return `${path} (${SETTINGS.find((s) => s.path === path)!.env})`;
}

/** The file's text; `name` is the setting or flag that named it, for the ConfigError. */
export function readKeyFile(name: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name}: cannot be read (${(error as Error).message})`);
  }
}

function publicKeyOf(pem: string, name: string): KeyObject {
  // createPublicKey would derive the public key from a private one; a private
  // key has no business on the daemon, so it is refused, not used.
  if (/PRIVATE KEY-----/.test(pem)) throw new ConfigError(`${name}: holds a private key; give the public key (PEM, SPKI)`);
  try {
    return createPublicKey(pem);
  } catch (error) {
    throw new ConfigError(`${name}: not a PEM public key (${(error as Error).message})`);
  }
}

/**
 * The key itself is handed to jose, not importSPKI(pem, alg): a CryptoKey is
 * bound to one algorithm, while the same RSA key verifies RS256 and PS512
 * alike, and an issuer may use several. The key's type tells which
 * algorithms can verify with it, so the allow-list defaults to those and a
 * configured one that cannot is refused at start, not at the first token.
 */
export function algorithmsOf(key: KeyObject, name: string): readonly string[] {
  // Every asymmetric key has its details; only EC keys have a curve.
  const { modulusLength = 0, namedCurve } = key.asymmetricKeyDetails!;
  if (key.asymmetricKeyType === 'rsa') {
    if (modulusLength < MIN_RSA_BITS) throw new ConfigError(`${name}: an RSA key of ${modulusLength} bits; at least ${MIN_RSA_BITS} are needed`);
    return PUBLIC_KEY_ALGORITHMS.filter((algorithm) => algorithm.startsWith('RS') || algorithm.startsWith('PS'));
  }
  if (key.asymmetricKeyType === 'ed25519') return ['EdDSA'];
  const curve = EC_ALGORITHMS.get(namedCurve!);
  if (curve !== undefined) return [curve];
  const kind = [key.asymmetricKeyType, namedCurve].filter((part) => part !== undefined).join(' ');
  throw new ConfigError(`${name}: not a usable key (${kind}); expected RSA, EC P-256/P-384/P-521 or Ed25519`);
}

/** An EC key verifies the one algorithm of its curve (RFC 7518 3.4), by OpenSSL's curve names. */
const EC_ALGORITHMS = new Map([
  ['prime256v1', 'ES256'],
  ['secp384r1', 'ES384'],
  ['secp521r1', 'ES512'],
]);

/**
 * jose imports a member only when a token names it: each is checked now, as
 * a PEM key is, and the allow-list defaults to what the members can verify.
 */
function loadJwks(file: string): { jwks: ReturnType<typeof createLocalJWKSet>; fitting: readonly string[] } {
  const name = setting('auth.jwksFile');
  try {
    const json = JSON.parse(readKeyFile(name, file));
    const jwks = createLocalJWKSet(json);
    const members = (json as { keys: Array<Record<string, unknown>> }).keys;
    if (members.length === 0) throw new Error('no keys');
    const fitting = new Set<string>();
    for (const jwk of members) {
      if ('d' in jwk || jwk['kty'] === 'oct') throw new Error(`key ${JSON.stringify(jwk['kid'] ?? '')} is not a public key`);
      const member = `${name}: key ${JSON.stringify(jwk['kid'] ?? '')}`;
      for (const algorithm of algorithmsOf(createPublicKey({ key: jwk as never, format: 'jwk' }), member)) fitting.add(algorithm);
    }
    return { jwks, fitting: PUBLIC_KEY_ALGORITHMS.filter((algorithm) => fitting.has(algorithm)) };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${name}: not a usable JWKS (${(error as Error).message})`);
  }
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
