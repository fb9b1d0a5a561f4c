import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import type { Identity } from '../../lib/auth/tokens';
import { ConfigError, type Config } from '../../lib/config';
import { ROOT } from '../../lib/paths';
import { parseTokenArgs, signToken, type TokenArgs } from '../../tools/token';
import { authConfig as auth, identityOf as identityFrom, NOW, NOW_SECONDS as nowSeconds, SECRET, verifier } from './fixtures';

type Auth = Config['auth'];

function args(argv: string[]): TokenArgs {
  const result = parseTokenArgs(argv);
  if ('error' in result) return expect.fail(`refused: ${result.error}`);
  return result;
}

/** The identity in `token` as a daemon configured with `verifying` sees it. */
const identityOf = async (verifying: Partial<Auth>, token: string, now = NOW): Promise<Identity> => identityFrom(await verifier(verifying), token, now);

async function signError(tokenArgs: TokenArgs, signing: Partial<Auth>): Promise<string> {
  try {
    await signToken(tokenArgs, auth(signing), NOW);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as Error).message;
  }
  return expect.fail('expected a ConfigError');
}

/** `npm run -s token -- ...argv` in a child process, with the daemon's settings from `env` only. */
async function runToken(argv: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AUTH_|NODE_ENV$)/.test(name)));
  try {
    const { stdout, stderr } = await promisify(execFile)('npm', ['run', '-s', 'token', '--', ...argv], { cwd: ROOT, env: { ...inherited, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe('tools/token', () => {
  describe('parseTokenArgs', () => {
    it('reads --flag value and --flag=value, with a ttl of 1h by default', () => {
      expect(parseTokenArgs(['--sub', 'alice'])).to.deep.equal({
        sub: 'alice', name: undefined, rooms: undefined, ttlSeconds: 3600, alg: undefined, privateKeyFile: undefined, kid: undefined,
      });
      expect(parseTokenArgs(['--sub=alice', '--name', 'Alice Liddell', '--rooms=team-*, lobby', '--ttl', '15m', '--alg=ES256', '--private-key-file', 'k.pem', '--kid', 'k1'])).to.deep.equal({
        sub: 'alice', name: 'Alice Liddell', rooms: ['team-*', 'lobby'], ttlSeconds: 900, alg: 'ES256', privateKeyFile: 'k.pem', kid: 'k1',
      });
      expect(args(['--sub', 'a', '--sub', 'b']).sub, 'the last one counts').to.equal('b');
      expect(args(['--sub', 'a', '--name=x=y']).name).to.equal('x=y');
    });

    it('takes a ttl in seconds, minutes, hours or days', () => {
      for (const [ttl, seconds] of [['30s', 30], ['15m', 900], ['1h', 3600], ['2d', 172_800], ['999999s', 999_999]] as const) {
        expect(args(['--sub', 'a', '--ttl', ttl]).ttlSeconds, ttl).to.equal(seconds);
      }
      for (const ttl of ['', '0s', '1w', '1.5h', '10', 'h', '-1h', '1H', '1h ', '1000000s', '01h']) {
        expect(parseTokenArgs(['--sub', 'a', '--ttl', ttl]), ttl).to.deep.equal({ error: '--ttl: expected a duration such as 30s, 15m, 1h or 2d' });
      }
    });

    it('requires --sub, and refuses unknown arguments and flags without a value', () => {
      for (const argv of [[], ['--name', 'Alice'], ['--sub', ''], ['--sub=']]) {
        expect(parseTokenArgs(argv), argv.join(' ')).to.deep.equal({ error: '--sub: required, the user id of the token' });
      }
      expect(parseTokenArgs(['--sub', 'a', '--user', 'b'])).to.deep.equal({ error: '--user: unknown argument' });
      expect(parseTokenArgs(['alice'])).to.deep.equal({ error: 'alice: unknown argument' });
      expect(parseTokenArgs(['--sub', 'a', '--ttl'])).to.deep.equal({ error: '--ttl: missing value' });
    });

    it('refuses rooms that are not room names or prefix* patterns', () => {
      for (const rooms of ['', 'a,,b', '-x', 'team-**', 'a b']) {
        expect(parseTokenArgs(['--sub', 'a', '--rooms', rooms]), rooms).to.have.property('error').that.matches(/^--rooms: expected room names or prefix\* patterns/);
      }
      expect(args(['--sub', 'a', '--rooms', '*']).rooms).to.deep.equal(['*']);
    });

    it('pairs HS algorithms with the secret and the others with --private-key-file', () => {
      expect(parseTokenArgs(['--sub', 'a', '--alg', 'ES256'])).to.deep.equal({ error: '--alg: ES256 needs --private-key-file; the secret signs HS256, HS384 or HS512' });
      expect(parseTokenArgs(['--sub', 'a', '--alg', 'HS256', '--private-key-file', 'k.pem'])).to.deep.equal({ error: '--alg: HS256 signs with the secret, not with --private-key-file' });
      expect(args(['--sub', 'a', '--alg', 'HS512']).alg).to.equal('HS512');
    });
  });

  describe('signToken', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'warren-token-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, content: string) => {
      writeFileSync(join(dir, name), content);
      return join(dir, name);
    };

    it('signs the claims given, with the iss and aud of the config, for the ttl', async () => {
      const configured = { hmacSecret: SECRET, issuer: 'https://id.example.com', audience: 'warren' };
      const token = await signToken(args(['--sub', 'alice', '--name', 'Alice', '--rooms', 'team-*,lobby', '--ttl', '2d']), auth(configured), NOW);
      expect(await identityOf(configured, token)).to.deep.equal({
        user: 'alice', name: 'Alice', rooms: { exact: new Set(['lobby']), prefixes: ['team-'] }, exp: nowSeconds + 172_800,
      });
      const plain = await signToken(args(['--sub', 'bob']), auth({ hmacSecret: SECRET }), NOW);
      expect(await identityOf({ hmacSecret: SECRET }, plain)).to.deep.equal({ user: 'bob', name: 'bob', rooms: undefined, exp: nowSeconds + 3600 });
    });

    it('signs HS256 unless --alg or auth.algorithms says otherwise', async () => {
      const algOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).alg;
      expect(algOf(await signToken(args(['--sub', 'a']), auth({ hmacSecret: SECRET }), NOW))).to.equal('HS256');
      expect(algOf(await signToken(args(['--sub', 'a', '--alg', 'HS384']), auth({ hmacSecret: SECRET }), NOW))).to.equal('HS384');
      expect(algOf(await signToken(args(['--sub', 'a']), auth({ hmacSecret: SECRET, algorithms: ['HS512'] }), NOW))).to.equal('HS512');
      expect(await signError(args(['--sub', 'a', '--alg', 'HS256']), { hmacSecret: SECRET, algorithms: ['HS512'] })).to.equal(
        '--alg: HS256 is not in auth.algorithms (HS512): the daemon would refuse the token',
      );
    });

    it('refuses to sign without a secret', async () => {
      expect(await signError(args(['--sub', 'a']), {})).to.equal('no secret configured: set AUTH_HMAC_SECRET, or sign with --private-key-file');
    });

    it('signs with --private-key-file, in the algorithm of the key unless --alg names another that fits', async () => {
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
      const keyFile = file('es256.key', await exportPKCS8(privateKey));
      const verifying = { publicKeyFile: file('es256.pem', await exportSPKI(publicKey)) };
      expect(await identityOf(verifying, await signToken(args(['--sub', 'alice', '--private-key-file', keyFile]), auth({}), NOW))).to.include({ user: 'alice' });
      const withKid = await signToken(args(['--sub', 'alice', '--private-key-file', keyFile, '--alg', 'ES256', '--kid', 'k7']), auth({}), NOW);
      const jwksFile = file('jwks.json', JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k7' }, { ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'k8' }] }));
      expect(await identityOf({ jwksFile }, withKid)).to.include({ user: 'alice' });
      expect(await signError(args(['--sub', 'a', '--private-key-file', keyFile, '--alg', 'ES384']), {})).to.equal('--alg: ES384 does not fit the key (it signs ES256)');
    });

    it('refuses a private key file that cannot be read or holds no private key', async () => {
      expect(await signError(args(['--sub', 'a', '--private-key-file', join(dir, 'missing.key')]), {})).to.match(/^--private-key-file: cannot be read \(ENOENT: /);
      const { publicKey } = await generateKeyPair('ES256', { extractable: true });
      expect(await signError(args(['--sub', 'a', '--private-key-file', file('public.pem', await exportSPKI(publicKey))]), {})).to.match(/^--private-key-file: not a PEM private key \(/);
    });
  });

  describe('npm run token', () => {
    it('prints one line, a token that the configured secret verifies', async () => {
      const started = Math.floor(Date.now() / 1000);
      const { code, stdout, stderr } = await runToken(['--sub', 'alice', '--name', 'Alice', '--rooms', 'team-*,lobby', '--ttl', '1h'], { AUTH_HMAC_SECRET: SECRET });
      expect({ code, stderr }).to.deep.equal({ code: 0, stderr: '' });
      expect(stdout).to.match(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      const identity = await identityOf({ hmacSecret: SECRET }, stdout.trim(), new Date());
      expect(identity).to.deep.include({ user: 'alice', name: 'Alice', rooms: { exact: new Set(['lobby']), prefixes: ['team-'] } });
      expect(identity.exp - started).to.be.within(3600, 3600 + 60);
    });

    it('exits 2 with the reason on stderr and nothing on stdout when no secret is configured', async () => {
      const { code, stdout, stderr } = await runToken(['--sub', 'alice'], {});
      expect({ code, stdout, stderr }).to.deep.equal({ code: 2, stdout: '', stderr: 'token: no secret configured: set AUTH_HMAC_SECRET, or sign with --private-key-file\n' });
    });
  });
});
