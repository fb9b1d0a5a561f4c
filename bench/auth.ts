/**
 * Authentication in the bench (`--auth`): the daemon runs with
 * AUTH_MODE=required and an HMAC secret, and every client offers a token of
 * its own the way a browser does (PROTOCOL.md, "Authentication and access"):
 * the subprotocols `warren.v2, warren.bearer.<JWT>` (subprotocol.ts).
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { MIN_HMAC_SECRET_BYTES } from '../lib/config/schema';
import { SUBPROTOCOL } from './subprotocol';

// Far longer than any bench run, so that no token expires while measured
// (the daemon would then send token_expiring and close with 4001).
export const TOKEN_TTL_SECONDS = 3600;

/**
 * A fresh secret per run for a daemon the bench starts. Its text is the
 * secret: the daemon, like `npm run token`, keys HMAC with the UTF-8 bytes of
 * AUTH_HMAC_SECRET, so 32 random bytes in base64url give 43 bytes of key.
 */
export function randomSecret(): string {
  return randomBytes(MIN_HMAC_SECRET_BYTES).toString('base64url');
}

/** Client i's user: the same text as its `name` in the URL, so frames keep their length. */
export function subjectOf(index: number): string {
  return `bench-${index}`;
}

/**
 * One HS256 token per client, each with its own `sub` and `exp` an hour
 * after `nowSeconds`. Signed before a run starts: signing is the issuer's
 * cost, not the server's.
 */
export async function mintTokens(secret: string, count: number, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string[]> {
  const key = new TextEncoder().encode(secret);
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push(await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(subjectOf(i)).setIssuedAt(nowSeconds).setExpirationTime(nowSeconds + TOKEN_TTL_SECONDS).sign(key));
  }
  return tokens;
}

/**
 * Whether a daemon run with --auth really refuses a client without a token
 * (close 4001 right after the upgrade): else its "auth on" figures measure no
 * verification at all. Resolves with what happened, for the report.
 */
export function probeWithoutToken(url: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}/websocket?name=bench-probe&room=bench-probe`, [SUBPROTOCOL]);
    const done = (outcome: string) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve(outcome);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
    ws.on('message', (data: Buffer) => done(data.toString().startsWith('{"type":"welcome"') ? 'welcomed' : 'answered before any close'));
    ws.on('close', (code, reason) => done(`closed ${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`));
    ws.on('error', (error) => done(`failed: ${error.message}`));
  });
}

/** The probe's outcome PROTOCOL.md asks for. */
export function refusedWithoutToken(outcome: string): boolean {
  return outcome.startsWith('closed 4001');
}
