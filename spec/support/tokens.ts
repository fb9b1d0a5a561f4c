/**
 * JSON Web Tokens for specs, signed as an identity provider would sign them,
 * and the subprotocols a browser offers them in (PROTOCOL.md).
 */
import { SignJWT } from 'jose';

/** An HS256 secret of the 32 bytes the config asks for at least. */
export const TEST_SECRET = 'spec-secret-0123456789abcdef-0123456789';

/** The daemon's environment for tokens signed with TEST_SECRET. */
export const AUTH_ENV = { AUTH_MODE: 'required', AUTH_HMAC_SECRET: TEST_SECRET } as const;

export interface Claims {
  readonly sub?: string;
  readonly name?: string;
  readonly rooms?: readonly string[];
  /** Seconds from now (negative: already expired). */
  readonly expiresIn?: number;
  readonly [claim: string]: unknown;
}

/** Every token signed in this run: what a daemon must never show (its log, /debug/tree, /metrics). */
export const signedTokens: string[] = [];

/** A token for `sub` valid for an hour unless `expiresIn` says otherwise. */
export async function signToken({ expiresIn = 3600, ...claims }: Claims = {}, secret = TEST_SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(now)
    .setExpirationTime(now + expiresIn)
    .sign(new TextEncoder().encode(secret));
  signedTokens.push(token);
  return token;
}

/** What `new WebSocket(url, ['warren.v2', 'warren.bearer.' + token])` offers. */
export const bearerProtocols = (token: string) => ['warren.v2', `warren.bearer.${token}`];
