import { expect } from 'chai';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import { ConfigError, type Config } from '../../lib/config';
import { loadTokenVerifier, MAX_TOKEN_BYTES, type TokenVerifier } from '../../lib/auth/tokens';
import { authConfig as auth, identityOf, NOW, NOW_SECONDS as nowSeconds, SECRET, verifier } from './fixtures';

const HOUR = 3600;
type Auth = Config['auth'];

const base64url = (text: string) => Buffer.from(text).toString('base64url');

/** A compact JWS assembled by hand: for what jose refuses to sign (alg none, exp 1e999). */
function handBuilt(header: object, payloadJson: string, hmacSecret?: string): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(payloadJson)}`;
  const signature = hmacSecret === undefined ? '' : createHmac('sha256', hmacSecret).update(input).digest('base64url');
  return `${input}.${signature}`;
}

/** The claims of a valid token at NOW, with `claims` over them (undefined removes one). */
function claimsOf(claims: Record<string, unknown> = {}): JWTPayload {
  const all: Record<string, unknown> = { sub: 'alice', exp: nowSeconds + HOUR, ...claims };
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
}

function sign(key: CryptoKey | Uint8Array, alg: string, claims: Record<string, unknown> = {}, header: { kid?: string } = {}): Promise<string> {
  return new SignJWT(claimsOf(claims)).setProtectedHeader({ alg, ...header }).sign(key);
}
const secretKey = (secret: string) => new TextEncoder().encode(secret);
const signHs = (claims: Record<string, unknown> = {}, alg = 'HS256') => sign(secretKey(SECRET), alg, claims);

/** The reason a token is refused for, checked to be short and to quote no part of the token. */
async function errorOf(verifier: TokenVerifier, token: string, now = NOW): Promise<string> {
  const result = await verifier.verify(token, now);
  if (!('error' in result)) return expect.fail(`accepted: ${JSON.stringify(result.identity)}`);
  expect(Buffer.byteLength(result.error), result.error).to.be.at.most(100);
  for (const part of token.split('.').filter((p) => p.length >= 4)) expect(result.error).not.to.include(part);
  return result.error;
}

async function loadError(given: Partial<Auth>): Promise<string> {
  try {
    await loadTokenVerifier(auth(given));
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as Error).message;
  }
  return expect.fail('expected a ConfigError');
}

interface KeyPair {
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly pemFile: string;
  readonly pemText: string;
  readonly jwk: JWK;
}

describe('auth/tokens', () => {
  let dir: string;
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const jwksFile = (keys: object[]) => file(`jwks-${Math.random().toString(36).slice(2)}.json`, JSON.stringify({ keys }));
  const pairs: Record<string, KeyPair> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warren-auth-'));
    for (const alg of ['RS256', 'ES256', 'EdDSA']) {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const pemText = await exportSPKI(publicKey);
      pairs[alg] = { alg, privateKey, pemText, pemFile: file(`${alg}.pem`, pemText), jwk: await exportJWK(publicKey) };
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const pair = (alg: string) => pairs[alg]!;
  /** The RSA private key for another algorithm: a CryptoKey signs with one only. */
  const rsaAs = async (alg: string) => importPKCS8(await exportPKCS8(pair('RS256').privateKey), alg);

  it('is off (undefined) when auth.mode is off, whatever keys are configured', async () => {
    expect(await loadTokenVerifier(auth({ mode: 'off' }))).to.equal(undefined);
    expect(await loadTokenVerifier(auth({ mode: 'off', publicKeyFile: join(dir, 'missing.pem') }))).to.equal(undefined);
  });

  describe('with an HMAC secret', () => {
    it('accepts HS256, HS384 and HS512 tokens and gives the identity of their claims', async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        const token = await signHs({ sub: 'alice', name: 'Alice', rooms: ['lobby', 'team-*'] }, alg);
        expect(await identityOf(hs, token), alg).to.deep.equal({
          user: 'alice', name: 'Alice', rooms: { exact: new Set(['lobby']), prefixes: ['team-'] }, exp: nowSeconds + HOUR,
        });
      }
      expect((await identityOf(hs, await signHs())).rooms, 'no rooms claim: every room').to.equal(undefined);
    });

    it('refuses a token signed with another secret', async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      const token = await sign(secretKey(`${SECRET}!`), 'HS256');
      expect(await errorOf(hs, token)).to.equal('token signature invalid');
    });

    it('refuses alg none, a token without a signature', async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      const token = handBuilt({ alg: 'none', typ: 'JWT' }, JSON.stringify(claimsOf()));
      expect(await errorOf(hs, token)).to.equal('token algorithm not allowed');
      expect(await errorOf(await verifier({ publicKeyFile: pair('ES256').pemFile }), token)).to.equal('token algorithm not allowed');
    });

    it('refuses what is not a JWS, as malformed', async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      expect(await errorOf(hs, '')).to.equal('token malformed');
      expect(await errorOf(hs, 'not-a-token')).to.equal('token malformed');
      expect(await errorOf(hs, 'e30.e30.e30.e30')).to.equal('token malformed');
      expect(await errorOf(hs, handBuilt({ alg: 'HS256' }, '[1,2]', SECRET))).to.equal('token malformed');
      expect(await errorOf(hs, handBuilt({ typ: 'JWT' }, JSON.stringify(claimsOf()), SECRET))).to.equal('token malformed');
    });

    it('refuses a token with a critical header extension it does not know, without quoting it', async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      expect(await errorOf(hs, handBuilt({ alg: 'HS256', crit: ['x-warren'], 'x-warren': 1 }, JSON.stringify(claimsOf()), SECRET))).to.equal('token invalid');
    });

    it('keeps to auth.algorithms', async () => {
      const only512 = await verifier({ hmacSecret: SECRET, algorithms: ['HS512'] });
      expect(await errorOf(only512, await signHs({}, 'HS256'))).to.equal('token algorithm not allowed');
      expect(await identityOf(only512, await signHs({}, 'HS512'))).to.include({ user: 'alice' });
    });

    it('refuses a public-key algorithm next to a secret at start', async () => {
      expect(await loadError({ hmacSecret: SECRET, algorithms: ['HS256', 'RS256'] })).to.equal(
        'auth.algorithms (AUTH_ALGORITHMS): RS256 cannot be verified with auth.hmacSecret',
      );
    });
  });

  describe('expiry', () => {
    it('refuses an expired token, and accepts one expired within the clock tolerance', async () => {
      const hs = await verifier({ hmacSecret: SECRET, clockToleranceSeconds: 5 });
      expect(await errorOf(hs, await signHs({ exp: nowSeconds - 6 }))).to.equal('token expired');
      expect(await identityOf(hs, await signHs({ exp: nowSeconds - 4 }))).to.include({ exp: nowSeconds - 4 });
      const strict = await verifier({ hmacSecret: SECRET, clockToleranceSeconds: 0 });
      expect(await errorOf(strict, await signHs({ exp: nowSeconds }))).to.equal('token expired');
      expect(await identityOf(strict, await signHs({ exp: nowSeconds + 1 }))).to.include({ exp: nowSeconds + 1 });
    });

    it('checks against the time it is given', async () => {
      const hs = await verifier({ hmacSecret: SECRET, clockToleranceSeconds: 0 });
      const token = await signHs({ exp: nowSeconds + 60 });
      expect(await identityOf(hs, token, new Date(NOW.getTime() + 59_000))).to.include({ user: 'alice' });
      expect(await errorOf(hs, token, new Date(NOW.getTime() + 60_000))).to.equal('token expired');
    });

    it('refuses a token whose nbf is in the future beyond the tolerance', async () => {
      const hs = await verifier({ hmacSecret: SECRET, clockToleranceSeconds: 5 });
      expect(await errorOf(hs, await signHs({ nbf: nowSeconds + 60 }))).to.equal('token not yet valid');
      expect(await identityOf(hs, await signHs({ nbf: nowSeconds + 4 }))).to.include({ user: 'alice' });
    });

    it('refuses a token without exp, or with an exp that is no finite number', async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      expect(await errorOf(hs, await signHs({ exp: undefined }))).to.equal('token claim exp missing');
      expect(await errorOf(hs, await signHs({ exp: 'tomorrow' }))).to.equal('token claim exp invalid');
      expect(await errorOf(hs, handBuilt({ alg: 'HS256' }, '{"sub":"alice","exp":1e999}', SECRET))).to.equal('token claim exp invalid');
      expect(await errorOf(hs, await signHs({ nbf: 'now' }))).to.equal('token claim nbf invalid');
      expect(await errorOf(hs, await signHs({ iat: 'yesterday' }))).to.equal('token claim iat invalid');
    });
  });

  describe('issuer and audience', () => {
    const expecting = { hmacSecret: SECRET, issuer: 'https://id.example.com', audience: 'warren' };

    it('accepts the configured iss and aud (aud alone or in a list)', async () => {
      const hs = await verifier(expecting);
      expect(await identityOf(hs, await signHs({ iss: 'https://id.example.com', aud: 'warren' }))).to.include({ user: 'alice' });
      expect(await identityOf(hs, await signHs({ iss: 'https://id.example.com', aud: ['other', 'warren'] }))).to.include({ user: 'alice' });
    });

    it('refuses a wrong or missing iss', async () => {
      const hs = await verifier(expecting);
      expect(await errorOf(hs, await signHs({ iss: 'https://evil.example.com', aud: 'warren' }))).to.equal('token claim iss invalid');
      expect(await errorOf(hs, await signHs({ aud: 'warren' }))).to.equal('token claim iss missing');
    });

    it('refuses a wrong or missing aud', async () => {
      const hs = await verifier(expecting);
      expect(await errorOf(hs, await signHs({ iss: 'https://id.example.com', aud: 'other' }))).to.equal('token claim aud invalid');
      expect(await errorOf(hs, await signHs({ iss: 'https://id.example.com' }))).to.equal('token claim aud missing');
    });

    it('ignores iss and aud when none is configured', async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      expect(await identityOf(hs, await signHs({ iss: 'anyone', aud: 'anything' }))).to.include({ user: 'alice' });
    });
  });

  describe('claims', () => {
    it('takes sub as the user: 1 to 256 characters, no control characters, not anon:', async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      for (const sub of ['u', 'x'.repeat(256), '😀'.repeat(256), 'user@example.com', 'anon', 'x-anon:1', ' spaced ']) {
        expect((await identityOf(hs, await signHs({ sub }))).user, sub).to.equal(sub);
      }
      expect(await errorOf(hs, await signHs({ sub: undefined }))).to.equal('token claim sub missing');
      for (const sub of ['', 'x'.repeat(257), '😀'.repeat(257), 'anon:x', 'anon:', 'al\u0007ice', 'bob\n', 'c\u0085', 42, null, ['alice']]) {
        expect(await errorOf(hs, await signHs({ sub })), JSON.stringify(sub)).to.equal('token claim sub invalid');
      }
    });

    it('cleans the name as the URL name is cleaned, cut to 32 characters', async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      const nameOf = async (name: unknown, sub = 'alice') => (await identityOf(hs, await signHs({ sub, name }))).name;
      expect(await nameOf('  Al\u0000i\u0007ce \u0085')).to.equal('Alice');
      expect(await nameOf('\u0001 Bob \u001b')).to.equal('Bob');
      expect(await nameOf('a  b')).to.equal('a  b');
      expect(await nameOf('x'.repeat(40))).to.equal('x'.repeat(32));
      expect(await nameOf('😀'.repeat(40))).to.equal('😀'.repeat(32));
      expect(await nameOf(`${'x'.repeat(31)} tail`), 'no white space left at the cut').to.equal('x'.repeat(31));
    });

    it('names the user by the sub, cut to 32 characters, when the name is absent, empty or not a string', async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      const nameOf = async (name: unknown, sub = 'alice') => (await identityOf(hs, await signHs({ sub, name }))).name;
      for (const name of [undefined, '', ' \t ', '\u0000\u0007', 42, ['Alice'], null]) expect(await nameOf(name), JSON.stringify(name)).to.equal('alice');
      expect(await nameOf(undefined, 'y'.repeat(40))).to.equal('y'.repeat(32));
    });

    it('refuses a bad rooms claim', async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      for (const rooms of ['lobby', ['lobby', 7], ['-dev'], ['team-**'], {}, null]) {
        expect(await errorOf(hs, await signHs({ rooms })), JSON.stringify(rooms)).to.equal('token rooms invalid');
      }
      expect((await identityOf(hs, await signHs({ rooms: [] }))).rooms).to.deep.equal({ exact: new Set(), prefixes: [] });
    });
  });

  describe('size', () => {
    /** A signed token exactly `bytes` long, padded with a claim. */
    async function tokenOfLength(bytes: number): Promise<string> {
      for (let pad = Math.floor((bytes * 3) / 4) - 200; ; pad++) {
        for (const sub of ['alice', 'alice2']) {
          const token = await signHs({ sub, pad: 'p'.repeat(pad) });
          if (token.length === bytes) return token;
          if (token.length > bytes + 4) return expect.fail(`no token of ${bytes} bytes`);
        }
      }
    }

    it(`refuses a token over ${MAX_TOKEN_BYTES} bytes, validly signed or not, and accepts one of exactly that size`, async () => {
      const hs = await verifier({ hmacSecret: SECRET });
      expect(await identityOf(hs, await tokenOfLength(MAX_TOKEN_BYTES))).to.have.property('user');
      expect(await errorOf(hs, await tokenOfLength(MAX_TOKEN_BYTES + 1))).to.equal('token too large');
      expect(await errorOf(hs, 'x'.repeat(1_000_000))).to.equal('token too large');
      // Counted in bytes: 4097 two-byte characters are 8194 bytes in 4097 UTF-16 units.
      expect(await errorOf(hs, 'é'.repeat(4097))).to.equal('token too large');
    });
  });

  describe('with a public key', () => {
    for (const alg of ['RS256', 'ES256', 'EdDSA']) {
      it(`accepts ${alg} tokens with the key as a PEM file and in a JWKS`, async () => {
        const { privateKey, pemFile, jwk } = pair(alg);
        const pem = await verifier({ publicKeyFile: pemFile });
        expect(await identityOf(pem, await sign(privateKey, alg, { name: 'Alice' }))).to.include({ user: 'alice', name: 'Alice' });
        const jwks = await verifier({ jwksFile: jwksFile([{ ...jwk, kid: 'k1' }]) });
        expect(await identityOf(jwks, await sign(privateKey, alg, {}, { kid: 'k1' }))).to.include({ user: 'alice' });
        const other = await generateKeyPair(alg);
        expect(await errorOf(pem, await sign(other.privateKey, alg))).to.equal('token signature invalid');
      });
    }

    it('refuses an HS256 token signed with the public key text as its secret (key confusion)', async () => {
      const { pemText, pemFile, jwk } = pair('RS256');
      const forged = await sign(secretKey(pemText), 'HS256');
      expect(await errorOf(await verifier({ publicKeyFile: pemFile }), forged)).to.equal('token algorithm not allowed');
      expect(await errorOf(await verifier({ jwksFile: jwksFile([jwk]) }), forged)).to.equal('token algorithm not allowed');
      expect(await loadError({ publicKeyFile: pemFile, algorithms: ['HS256', 'RS256'] })).to.equal(
        'auth.algorithms (AUTH_ALGORITHMS): HS256 cannot be verified with auth.publicKeyFile',
      );
      expect(await loadError({ jwksFile: jwksFile([jwk]), algorithms: ['HS512'] })).to.equal(
        'auth.algorithms (AUTH_ALGORITHMS): HS512 cannot be verified with auth.jwksFile',
      );
    });

    it("defaults the allow-list to the algorithms of the PEM key's type, and keeps to auth.algorithms", async () => {
      const rsa = pair('RS256');
      const pem = await verifier({ publicKeyFile: rsa.pemFile });
      for (const alg of ['PS256', 'PS512', 'RS512']) expect(await identityOf(pem, await sign(await rsaAs(alg), alg)), alg).to.include({ user: 'alice' });
      const onlyPs = await verifier({ publicKeyFile: rsa.pemFile, algorithms: ['PS256'] });
      expect(await errorOf(onlyPs, await sign(rsa.privateKey, 'RS256'))).to.equal('token algorithm not allowed');
      const p384 = await generateKeyPair('ES384');
      expect(await errorOf(await verifier({ publicKeyFile: pair('ES256').pemFile }), await sign(p384.privateKey, 'ES384'))).to.equal('token algorithm not allowed');
      const ecOnly = await verifier({ publicKeyFile: file('p384.pem', await exportSPKI(p384.publicKey)) });
      expect(await identityOf(ecOnly, await sign(p384.privateKey, 'ES384'))).to.include({ user: 'alice' });
      const p521 = await generateKeyPair('ES512', { extractable: true });
      const es512 = await verifier({ publicKeyFile: file('p521.pem', await exportSPKI(p521.publicKey)) });
      expect(await identityOf(es512, await sign(p521.privateKey, 'ES512'))).to.include({ user: 'alice' });
      expect(await errorOf(es512, await sign(p384.privateKey, 'ES384'))).to.equal('token algorithm not allowed');
      const jwks = await verifier({ jwksFile: jwksFile([{ ...rsa.jwk, kid: 'r' }]), algorithms: ['RS256'] });
      expect(await errorOf(jwks, await sign(await rsaAs('PS256'), 'PS256', {}, { kid: 'r' }))).to.equal('token algorithm not allowed');
    });

    it('refuses at start auth.algorithms that the PEM key cannot verify', async () => {
      expect(await loadError({ publicKeyFile: pair('ES256').pemFile, algorithms: ['ES256', 'RS256', 'ES384'] })).to.equal(
        'auth.algorithms (AUTH_ALGORITHMS): RS256, ES384 cannot be verified with auth.publicKeyFile',
      );
      expect(await loadError({ publicKeyFile: pair('EdDSA').pemFile, algorithms: ['ES256'] })).to.match(/^auth\.algorithms \(AUTH_ALGORITHMS\): ES256 cannot/);
      expect(await loadError({ publicKeyFile: pair('RS256').pemFile, algorithms: ['PS384', 'ES256', 'EdDSA'] })).to.equal(
        'auth.algorithms (AUTH_ALGORITHMS): ES256, EdDSA cannot be verified with auth.publicKeyFile',
      );
    });

    it('defaults the allow-list of a JWKS to what its members verify', async () => {
      const rsa = pair('RS256');
      const ec = pair('ES256');
      const jwks = await verifier({ jwksFile: jwksFile([{ ...rsa.jwk, kid: 'r' }, { ...ec.jwk, kid: 'e' }]) });
      expect(await identityOf(jwks, await sign(await rsaAs('PS384'), 'PS384', {}, { kid: 'r' }))).to.include({ user: 'alice' });
      expect(await identityOf(jwks, await sign(ec.privateKey, 'ES256', {}, { kid: 'e' }))).to.include({ user: 'alice' });
      expect(await errorOf(jwks, await sign(pair('EdDSA').privateKey, 'EdDSA', {}, { kid: 'e' }))).to.equal('token algorithm not allowed');
      expect(await loadError({ jwksFile: jwksFile([ec.jwk, pair('EdDSA').jwk]), algorithms: ['EdDSA', 'RS256'] })).to.equal(
        'auth.algorithms (AUTH_ALGORITHMS): RS256 cannot be verified with auth.jwksFile',
      );
    });

    it("refuses a token whose kid is not in the JWKS, or that fits several keys without one", async () => {
      const { privateKey, jwk } = pair('ES256');
      const jwks = await verifier({ jwksFile: jwksFile([{ ...jwk, kid: 'k1' }]) });
      expect(await errorOf(jwks, await sign(privateKey, 'ES256', {}, { kid: 'k2' }))).to.equal('token key unknown');
      const mixed = await verifier({ jwksFile: jwksFile([{ ...jwk, kid: 'k1' }, { ...pair('RS256').jwk, kid: 'r1' }]) });
      expect(await errorOf(mixed, await sign(pair('RS256').privateKey, 'RS256', {}, { kid: 'k1' })), 'the kid of a key of another type').to.equal('token key unknown');
      expect(await identityOf(mixed, await sign(pair('RS256').privateKey, 'RS256', {}, { kid: 'r1' }))).to.include({ user: 'alice' });
      const other = await exportJWK((await generateKeyPair('ES256')).publicKey);
      const two = await verifier({ jwksFile: jwksFile([jwk, other]) });
      expect(await errorOf(two, await sign(privateKey, 'ES256'))).to.equal('token key ambiguous');
    });
  });

  describe('key files', () => {
    it('refuses a key file that cannot be read', async () => {
      const missing = join(dir, 'missing.pem');
      expect(await loadError({ publicKeyFile: missing })).to.match(/^auth\.publicKeyFile \(AUTH_PUBLIC_KEY_FILE\): cannot be read \(ENOENT: .*missing\.pem'?\)$/);
      expect(await loadError({ jwksFile: missing })).to.match(/^auth\.jwksFile \(AUTH_JWKS_FILE\): cannot be read \(ENOENT: /);
      expect(await loadError({ publicKeyFile: dir })).to.match(/^auth\.publicKeyFile \(AUTH_PUBLIC_KEY_FILE\): cannot be read \(EISDIR: /);
    });

    it('refuses a PEM file that holds no usable public key', async () => {
      const name = 'auth.publicKeyFile (AUTH_PUBLIC_KEY_FILE)';
      expect(await loadError({ publicKeyFile: file('garbage.pem', 'not a key\n') })).to.match(new RegExp(`^${escape(name)}: not a PEM public key \\(.+\\)$`));
      const truncated = pair('RS256').pemText.slice(0, 200) + '\n-----END PUBLIC KEY-----\n';
      expect(await loadError({ publicKeyFile: file('truncated.pem', truncated) })).to.match(/: not a PEM public key \(/);
      const privatePem = await exportPKCS8(pair('ES256').privateKey);
      expect(await loadError({ publicKeyFile: file('private.pem', privatePem) })).to.equal(`${name}: holds a private key; give the public key (PEM, SPKI)`);
      const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(await loadError({ publicKeyFile: file('rsa1024.pem', weak) })).to.equal(`${name}: an RSA key of 1024 bits; at least 2048 are needed`);
      const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(await loadError({ publicKeyFile: file('k1.pem', k1) })).to.equal(`${name}: not a usable key (ec secp256k1); expected RSA, EC P-256/P-384/P-521 or Ed25519`);
      const x25519 = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(await loadError({ publicKeyFile: file('x25519.pem', x25519) })).to.equal(`${name}: not a usable key (x25519); expected RSA, EC P-256/P-384/P-521 or Ed25519`);
    });

    it('refuses a JWKS file that is not a set of usable public keys', async () => {
      const name = 'auth.jwksFile (AUTH_JWKS_FILE): not a usable JWKS';
      const { jwk } = pair('ES256');
      const privateJwk = await exportJWK(pair('EdDSA').privateKey);
      const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
      const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'jwk' });
      const cases: Array<[string, string | RegExp]> = [
        ['{"keys": [', /^auth\.jwksFile \(AUTH_JWKS_FILE\): not a usable JWKS \(.*JSON.*\)$/],
        ['[]', `${name} (JSON Web Key Set malformed)`],
        ['{"keys": {}}', `${name} (JSON Web Key Set malformed)`],
        ['{"keys": []}', `${name} (no keys)`],
        [JSON.stringify({ keys: [jwk, { ...privateJwk, kid: 'signing' }] }), `${name} (key "signing" is not a public key)`],
        [JSON.stringify({ keys: [{ kty: 'oct', k: base64url(SECRET) }] }), `${name} (key "" is not a public key)`],
        [JSON.stringify({ keys: [{ ...jwk, x: 'AAAA' }] }), /^auth\.jwksFile \(AUTH_JWKS_FILE\): not a usable JWKS \(.+\)$/],
        [JSON.stringify({ keys: [jwk, { ...weakRsa, kid: 'weak' }] }), 'auth.jwksFile (AUTH_JWKS_FILE): key "weak": an RSA key of 1024 bits; at least 2048 are needed'],
        [JSON.stringify({ keys: [secp256k1] }), 'auth.jwksFile (AUTH_JWKS_FILE): key "": not a usable key (ec secp256k1); expected RSA, EC P-256/P-384/P-521 or Ed25519'],
      ];
      for (const [content, expected] of cases) {
        const message = await loadError({ jwksFile: file('bad.json', content) });
        if (typeof expected === 'string') expect(message, content).to.equal(expected);
        else expect(message, content).to.match(expected);
      }
    });

    it('refuses auth.mode required without a key', async () => {
      expect(await loadError({})).to.equal('auth.mode (AUTH_MODE): required needs a key: auth.hmacSecret, auth.publicKeyFile or auth.jwksFile');
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
