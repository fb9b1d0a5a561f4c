/**
 * `npm run -s token -- --sub alice [--name Alice] [--rooms 'team-*,lobby'] [--ttl 1h]`:
 * prints a token for trying warren out, signed with the configured
 * AUTH_HMAC_SECRET (the configuration is loaded as `npm start` loads it),
 * with the configured issuer and audience. `--private-key-file FILE [--alg ES256]
 * [--kid KEY]` signs with a private key instead, for RS/PS/ES/EdDSA deployments.
 * Only the token goes to stdout, so `TOKEN=$(npm run -s token -- ...)` works.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { algorithmsOf, readKeyFile } from '../lib/auth/keys';
import { parseRoomGrants } from '../lib/auth/room_grants';
import { ConfigError, loadConfig, type Config } from '../lib/config';
import { HMAC_ALGORITHMS } from '../lib/config/schema';
import { CONFIG_DIR } from '../lib/paths';

export const USAGE =
  "usage: npm run -s token -- --sub USER [--name NAME] [--rooms 'team-*,lobby'] [--ttl 30s|15m|1h|2d] [--alg HS256] [--private-key-file FILE] [--kid KEY]";

export interface TokenArgs {
  readonly sub: string;
  readonly name?: string;
  readonly rooms?: readonly string[];
  readonly ttlSeconds: number;
  readonly alg?: string;
  readonly privateKeyFile?: string;
  readonly kid?: string;
}

const FLAGS = ['--sub', '--name', '--rooms', '--ttl', '--alg', '--private-key-file', '--kid'] as const;
type Flag = (typeof FLAGS)[number];
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };
const DEFAULT_TTL = '1h';

/** `--flag value` or `--flag=value`, as the daemon's own flags. */
export function parseTokenArgs(argv: readonly string[]): TokenArgs | { readonly error: string } {
  const given = new Map<Flag, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const equals = arg.indexOf('=');
    const flag = FLAGS.find((f) => f === (equals === -1 ? arg : arg.slice(0, equals)));
    if (flag === undefined) return { error: `${arg}: unknown argument` };
    const value = equals === -1 ? argv[++i] : arg.slice(equals + 1);
    if (value === undefined) return { error: `${flag}: missing value` };
    given.set(flag, value);
  }
  const sub = given.get('--sub');
  if (!sub) return { error: '--sub: required, the user id of the token' };
  const ttl = /^([1-9]\d{0,5})([smhd])$/.exec(given.get('--ttl') ?? DEFAULT_TTL);
  if (ttl === null) return { error: '--ttl: expected a duration such as 30s, 15m, 1h or 2d' };
  const roomList = given.get('--rooms')?.split(',').map((room) => room.trim());
  const rooms = parseRoomGrants(roomList);
  if (rooms !== undefined && 'error' in rooms) return { error: "--rooms: expected room names or prefix* patterns separated by commas, such as 'team-*,lobby'" };
  const alg = given.get('--alg');
  const privateKeyFile = given.get('--private-key-file');
  const hmac = alg !== undefined && (HMAC_ALGORITHMS as readonly string[]).includes(alg);
  if (privateKeyFile === undefined && alg !== undefined && !hmac) return { error: `--alg: ${alg} needs --private-key-file; the secret signs HS256, HS384 or HS512` };
  if (privateKeyFile !== undefined && hmac) return { error: `--alg: ${alg} signs with the secret, not with --private-key-file` };
  return { sub, name: given.get('--name'), rooms: roomList, ttlSeconds: Number(ttl[1]) * UNIT_SECONDS[ttl[2]!]!, alg, privateKeyFile, kid: given.get('--kid') };
}

/** The key and the algorithms it can sign with, the ones auth.algorithms allows first. */
function signingKey(args: TokenArgs, auth: Config['auth']): { key: KeyObject | Uint8Array; algorithms: readonly string[] } {
  if (args.privateKeyFile === undefined) {
    if (auth.hmacSecret === undefined) throw new ConfigError('no secret configured: set AUTH_HMAC_SECRET, or sign with --private-key-file');
    return { key: new TextEncoder().encode(auth.hmacSecret), algorithms: HMAC_ALGORITHMS };
  }
  const pem = readKeyFile('--private-key-file', args.privateKeyFile);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new ConfigError(`--private-key-file: not a PEM private key (${(error as Error).message})`);
  }
  return { key, algorithms: algorithmsOf(key, '--private-key-file') };
}

export async function signToken(args: TokenArgs, auth: Config['auth'], now = new Date()): Promise<string> {
  const { key, algorithms } = signingKey(args, auth);
  const allowed = algorithms.filter((algorithm) => auth.algorithms?.includes(algorithm as never) ?? true);
  const alg = args.alg ?? allowed[0] ?? algorithms[0]!;
  if (!algorithms.includes(alg)) throw new ConfigError(`--alg: ${alg} does not fit the key (it signs ${algorithms.join(', ')})`);
  // Said, not printed: the daemon would refuse such a token.
  if (!allowed.includes(alg)) throw new ConfigError(`--alg: ${alg} is not in auth.algorithms (${auth.algorithms?.join(', ')}): the daemon would refuse the token`);
  const issuedAt = Math.floor(now.getTime() / 1000);
  const jwt = new SignJWT({ ...(args.name === undefined ? {} : { name: args.name }), ...(args.rooms === undefined ? {} : { rooms: [...args.rooms] }) })
    .setProtectedHeader({ alg, typ: 'JWT', ...(args.kid === undefined ? {} : { kid: args.kid }) })
    .setSubject(args.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + args.ttlSeconds);
  if (auth.issuer !== undefined) jwt.setIssuer(auth.issuer);
  if (auth.audience !== undefined) jwt.setAudience(auth.audience);
  return jwt.sign(key);
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseTokenArgs(argv);
  if ('error' in args) {
    process.stderr.write(`token: ${args.error}\n${USAGE}\n`);
    return 2;
  }
  try {
    // No flags reach loadConfig: these are the tool's, not the daemon's.
    const config = loadConfig({ env: process.env, argv: [], configDir: CONFIG_DIR });
    process.stdout.write(`${await signToken(args, config.auth)}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`token: ${error.message}\n`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`token: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(2);
    },
  );
}
