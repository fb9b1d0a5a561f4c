// What the auth specs share: a config's auth group, a fixed now, and the
// identity a verifier gives a token it must accept.
import { expect } from 'chai';
import { loadTokenVerifier, type Identity, type TokenVerifier } from '../../lib/auth/tokens';
import type { Config } from '../../lib/config';

/** 32 bytes: the shortest HMAC secret the config accepts. */
export const SECRET = 'a-secret-of-exactly-32-bytes-...';
export const NOW = new Date('2026-06-01T12:00:00Z');
export const NOW_SECONDS = NOW.getTime() / 1000;

type Auth = Config['auth'];

/** auth.mode required with the defaults of config/default.json, and `given` over them. */
export const authConfig = (given: Partial<Auth>): Auth => ({ mode: 'required', clockToleranceSeconds: 5, refreshSeconds: 30, allowQueryToken: false, ...given });

export async function verifier(given: Partial<Auth>): Promise<TokenVerifier> {
  const loaded = await loadTokenVerifier(authConfig(given));
  if (loaded === undefined) return expect.fail('no verifier');
  return loaded;
}

export async function identityOf(verifying: TokenVerifier, token: string, now = NOW): Promise<Identity> {
  const result = await verifying.verify(token, now);
  if ('error' in result) return expect.fail(`refused: ${result.error}`);
  return result.identity;
}
