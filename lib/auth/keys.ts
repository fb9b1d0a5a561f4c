// The key tokens are verified with (PROTOCOL.md "Authentication and
// access"): an HMAC secret, a PEM public key or a local JWKS file, read and
// checked once at start. A key that cannot be used is a ConfigError naming
// the setting, as the config's own errors do, and never a surprise at the
// first token.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { ConfigError, type Config } from '../config';
import { HMAC_ALGORITHMS, PUBLIC_KEY_ALGORITHMS } from '../config/schema';
import { SETTINGS } from '../config/settings';

/** RFC 7518 3.3 asks for 2048 bits; jose refuses smaller RSA keys only when a token arrives. */
const MIN_RSA_BITS = 2048;

export type Verify = (token: string, options: JWTVerifyOptions) => Promise<{ payload: JWTPayload }>;

export interface Key {
  readonly verify: Verify;
  /** The algorithms this key can verify: the default allow-list. */
  readonly fitting: readonly string[];
  /** For error messages: the key as the operator knows it. */
  readonly source: string;
}

/** auth.hmacSecret, auth.publicKeyFile or auth.jwksFile, whichever is set (the config allows one). */
export function loadKey(auth: Config['auth']): Key {
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
export function setting(path: string): string {
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
      const member = `key ${JSON.stringify(jwk['kid'] ?? '')}`;
      if ('d' in jwk || jwk['kty'] === 'oct') throw new Error(`${member} is not a public key`);
      for (const algorithm of algorithmsOf(createPublicKey({ key: jwk as never, format: 'jwk' }), `${name}: ${member}`)) fitting.add(algorithm);
    }
    return { jwks, fitting: PUBLIC_KEY_ALGORITHMS.filter((algorithm) => fitting.has(algorithm)) };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${name}: not a usable JWKS (${(error as Error).message})`);
  }
}
