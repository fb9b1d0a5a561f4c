import { expect } from 'chai';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, helpRequested, helpText, loadConfig, type Config } from '../lib/config';
import { SETTINGS } from '../lib/config/settings';

const CONFIG_DIR = join(__dirname, '..', 'config');
type Env = Record<string, string | undefined>;

const load = (env: Env = {}, argv: string[] = [], configDir = CONFIG_DIR) => loadConfig({ env, argv, configDir });

function loadError(env: Env, argv: string[] = [], configDir = CONFIG_DIR): string {
  try {
    load(env, argv, configDir);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    // What a stack trace or a log's `err` shows as the kind of failure.
    expect((error as Error).name).to.equal('ConfigError');
    return (error as Error).message;
  }
  return expect.fail('expected a ConfigError');
}

// Config folders written for one test, named `config` like the real one.
const tempDirs: string[] = [];
function configDir(files: Record<string, unknown>): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'warren-config-')), 'config');
  mkdirSync(dir);
  tempDirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

/** Four labels of letters, the last one `lastLabel` long: 253 characters with 61, the longest host name (RFC 1123). */
const hostName = (lastLabel: number) => ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(lastLabel)].join('.');
/** The value of the setting at a dotted path. */
const settingAt = (config: Config, path: string) => path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
/** 32 bytes: the shortest HMAC secret accepted. */
const SECRET = 'a-secret-of-exactly-32-bytes-...';
const realDefaults = () => JSON.parse(readFileSync(join(CONFIG_DIR, 'default.json'), 'utf8'));
/** The real defaults with one file's worth of changes in config/production.json. */
const withProduction = (production: unknown) => configDir({ 'default.json': realDefaults(), 'production.json': production });

describe('config', () => {
  after(() => tempDirs.forEach((dir) => rmSync(join(dir, '..'), { recursive: true, force: true })));

  describe('defaults', () => {
    it('are those of PROTOCOL.md', () => {
      const config = load();
      expect(config).to.deep.include({ port: 8081, host: '0.0.0.0', admin: { port: 8082, host: '127.0.0.1' }, logLevel: 'info', defaultRoom: 'lobby', publishTimeoutMs: 5000 });
      expect(config.limits).to.deep.include({
        maxPayloadBytes: 65536, maxTextChars: 4000, maxRooms: 32, maxBufferedBytes: 1024 * 1024,
        rate: { perSecond: 50, burst: 200 }, ratePolicy: { maxDropped: 100, windowMs: 10_000 },
      });
      expect(config.broker.url).to.equal(undefined);
      expect(config.admin.token).to.equal(undefined);
      expect(config.nodeId).to.equal(undefined);
    });

    it('load for every NODE_ENV, with a file of its own or without', () => {
      for (const NODE_ENV of ['test', 'production', 'development', 'staging']) expect(() => load({ NODE_ENV }), NODE_ENV).to.not.throw();
      expect(load({ NODE_ENV: 'test' }).logLevel).to.equal('warn');
      expect(load({ NODE_ENV: 'production' }).shutdownTimeoutMs).to.equal(25_000);
      expect(load({ NODE_ENV: 'test' }).shutdown.drainSeconds, 'specs drain at once unless they ask').to.equal(0);
    });

    it('take a drain window that leaves exactly the leeway, and no window with no shutdown time', () => {
      expect(load({ SHUTDOWN_DRAIN_SECONDS: '13', SHUTDOWN_TIMEOUT_MS: '15000' }).shutdown.drainSeconds).to.equal(13);
      expect(load({ SHUTDOWN_DRAIN_SECONDS: '0', SHUTDOWN_TIMEOUT_MS: '0' }).shutdownTimeoutMs).to.equal(0);
    });

    it('take a presence heartbeat of exactly a third of the down bound', () => {
      expect(load({ PRESENCE_HEARTBEAT_MS: '5000', PRESENCE_DOWN_AFTER_SECONDS: '15' }).presence.heartbeatMs).to.equal(5000);
    });

    it('are frozen, deeply', () => {
      const config = load({ AMQP_URL: 'amqp://a' });
      for (const value of [config, config.admin, config.limits, config.limits.rate, config.broker, config.broker.url]) {
        expect(Object.isFrozen(value)).to.equal(true);
      }
      expect(() => { (config as { port: number }).port = 1; }).to.throw(TypeError);
    });
  });

  describe('sources', () => {
    const dir = () => configDir({ 'default.json': { ...realDefaults(), port: 1 }, 'staging.json': { port: 2 } });

    it('override in the order default.json < $NODE_ENV.json < variables < flags', () => {
      const d = dir();
      expect(load({}, [], d).port, 'default.json').to.equal(1);
      expect(load({ NODE_ENV: 'staging' }, [], d).port, 'staging.json').to.equal(2);
      expect(load({ NODE_ENV: 'staging', PORT: '3' }, [], d).port, 'PORT').to.equal(3);
      expect(load({ NODE_ENV: 'staging', PORT: '3' }, ['--port', '4'], d).port, '--port').to.equal(4);
      expect(load({ NODE_ENV: 'staging', PORT: '3' }, ['--port=5'], d).port, '--port=').to.equal(5);
      expect(load({ PORT: '3' }, ['--port=5', '--port', '6'], d).port, 'last flag').to.equal(6);
    });

    it('reads NODE_ENV unset as development', () => {
      const d = configDir({ 'default.json': realDefaults(), 'development.json': { logLevel: 'debug' } });
      expect(load({}, [], d).logLevel).to.equal('debug');
      expect(load({ NODE_ENV: '' }, [], d).logLevel).to.equal('debug');
      expect(load({ NODE_ENV: 'production' }, [], d).logLevel).to.equal('info');
    });

    it('merges objects key by key and replaces lists whole', () => {
      const d = configDir({
        'default.json': { ...realDefaults(), broker: { ...realDefaults().broker, url: ['amqp://a', 'amqp://b'] } },
        'production.json': { limits: { rate: { burst: 500 } }, broker: { url: ['amqp://c'] } },
      });
      const config = load({ NODE_ENV: 'production' }, [], d);
      expect(config.limits.rate).to.deep.equal({ perSecond: 50, burst: 500 });
      expect(config.limits.maxRooms).to.equal(32);
      expect(config.broker.url).to.deep.equal(['amqp://c']);
    });

    it('sets each setting from its variable and its flag', () => {
      const values: Record<string, [string, unknown]> = {
        PORT: ['9001', 9001], HOST: ['::', '::'], ADMIN_PORT: ['0', 0], ADMIN_HOST: ['localhost', 'localhost'],
        AMQP_URL: ['amqp://a:5672, amqps://b/vhost', ['amqp://a:5672', 'amqps://b/vhost']],
        LOG_LEVEL: ['debug', 'debug'], SHUTDOWN_TIMEOUT_MS: ['2500', 2500], SHUTDOWN_DRAIN_SECONDS: ['5', 5], ADMIN_TOKEN: ['s3cr3t', 's3cr3t'],
        HISTORY_SIZE: ['20', 20], HISTORY_TTL_SECONDS: ['60', 60], HISTORY_MAX_RECOVER: ['50', 50],
        AUTH_MODE: ['required', 'required'], AUTH_HMAC_SECRET: [SECRET, SECRET], AUTH_PUBLIC_KEY_FILE: ['/etc/warren/key.pem', '/etc/warren/key.pem'],
        AUTH_JWKS_FILE: ['/etc/warren/jwks.json', '/etc/warren/jwks.json'], AUTH_ALGORITHMS: ['HS256, HS512', ['HS256', 'HS512']],
        AUTH_ISSUER: ['https://id.example.com', 'https://id.example.com'], AUTH_AUDIENCE: ['warren', 'warren'], AUTH_ALLOW_QUERY_TOKEN: ['true', true],
        AUTH_CLOCK_TOLERANCE_SECONDS: ['0', 0], AUTH_REFRESH_SECONDS: ['60', 60],
        ALLOWED_ORIGINS: ['https://a.example, https://*.b.example:8443', ['https://a.example', 'https://*.b.example:8443']],
        MAX_CONNECTIONS: ['5000', 5000], CONNECT_RATE: ['20', 20], FRAME_RATE: ['2000', 2000], FRAME_BURST: ['4000', 4000],
        PRESENCE_MAX_LISTED: ['10', 10], PRESENCE_DOWN_AFTER_SECONDS: ['60', 60], PRESENCE_HEARTBEAT_MS: ['500', 500],
      };
      // AUTH_MODE=required needs a key, and a key one source: each variable is tried with the key it needs.
      const companions: Record<string, Record<string, string>> = {
        AUTH_MODE: { AUTH_HMAC_SECRET: SECRET }, AUTH_ALGORITHMS: { AUTH_HMAC_SECRET: SECRET },
        // A drain window must fit in the shutdown's time with room to spare.
        SHUTDOWN_TIMEOUT_MS: { SHUTDOWN_DRAIN_SECONDS: '0' },
      };
      expect(Object.keys(values)).to.have.members(SETTINGS.map((s) => s.env));
      for (const setting of SETTINGS) {
        const [text, value] = values[setting.env]!;
        const companion = companions[setting.env] ?? {};
        expect(settingAt(load({ ...companion, [setting.env]: text }), setting.path), setting.env).to.deep.equal(value);
        if (setting.flag !== undefined) expect(settingAt(load(companion, [setting.flag, text]), setting.path), setting.flag).to.deep.equal(value);
      }
    });

    it('takes an empty variable as unset', () => {
      expect(load({ PORT: '', AMQP_URL: '', ADMIN_TOKEN: '' })).to.deep.equal(load());
    });
  });

  describe('a value at the edge of its rule', () => {
    it('is accepted as it is', () => {
      const cases: Array<[string, unknown]> = [
        ['host', 'h'], ['host', 'a.b.c'], ['host', hostName(61)],
        ['nodeId', 'node-1.eu_2'], ['nodeId', 'n'.repeat(64)],
        ['limits.idleTimeoutSeconds', 0], ['limits.idleTimeoutSeconds', 8], ['limits.idleTimeoutSeconds', 960],
        ['broker.reconnect.minMs', realDefaults().broker.reconnect.maxMs],
        ['limits.maxPayloadBytes', 12 * realDefaults().limits.maxTextChars + 1024],
      ];
      for (const [path, value] of cases) {
        const production = path.split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
        expect(settingAt(load({ NODE_ENV: 'production' }, [], withProduction(production)), path), path).to.equal(value);
      }
    });
  });

  describe('a bad value', () => {
    it('is refused with the setting, where it came from and what was given', () => {
      const cases: Array<[Env, string[], string]> = [
        [{ PORT: 'abc' }, [], 'port (PORT): expected an integer from 0 to 65535, got "abc"'],
        [{ PORT: '65536' }, [], 'port (PORT): expected an integer from 0 to 65535, got "65536"'],
        [{ PORT: '-1' }, [], 'port (PORT): expected an integer from 0 to 65535, got "-1"'],
        [{ PORT: '80.5' }, [], 'port (PORT): expected an integer from 0 to 65535, got "80.5"'],
        [{}, ['--port', 'x'], 'port (--port): expected an integer from 0 to 65535, got "x"'],
        [{ ADMIN_PORT: '1e3' }, [], 'admin.port (ADMIN_PORT): expected an integer from 0 to 65535, got "1e3"'],
        [{ HOST: 'my host' }, [], 'host (HOST): expected an IP address or a host name, got "my host"'],
        [{}, ['--admin-host=-x'], 'admin.host (--admin-host): expected an IP address or a host name, got "-x"'],
        [{ LOG_LEVEL: 'verbose' }, [], 'logLevel (LOG_LEVEL): expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
        [{ SHUTDOWN_TIMEOUT_MS: 'soon' }, [], 'shutdownTimeoutMs (SHUTDOWN_TIMEOUT_MS): expected an integer from 0 to 600000, got "soon"'],
      ];
      for (const [env, argv, message] of cases) expect(loadError(env, argv), JSON.stringify([env, argv])).to.equal(message);
    });

    it('in a config file is reported against that file', () => {
      // A string is the file's text as is.
      const cases: Array<[unknown, string]> = [
        [{ limits: { idleTimeoutSeconds: 7 } }, 'limits.idleTimeoutSeconds (config/production.json): expected 0 or an integer from 8 to 960, got 7'],
        [{ limits: { idleTimeoutSeconds: 961 } }, 'limits.idleTimeoutSeconds (config/production.json): expected 0 or an integer from 8 to 960, got 961'],
        [{ limits: { idleTimeoutSeconds: '60' } }, 'limits.idleTimeoutSeconds (config/production.json): expected 0 or an integer from 8 to 960, got "60"'],
        [{ limits: { maxRooms: 0 } }, 'limits.maxRooms (config/production.json): expected an integer from 1 to 10000, got 0'],
        [{ limits: { rate: { perSecond: 2.5 } } }, 'limits.rate.perSecond (config/production.json): expected an integer from 1 to 100000, got 2.5'],
        [{ limits: { maxRoom: 5 } }, 'limits.maxRoom (config/production.json): unknown setting'],
        [{ limits: { extra: { deep: 1 } } }, 'limits.extra (config/production.json): unknown setting'],
        ['{"__proto__": {"port": 1}}', '__proto__ (config/production.json): unknown setting'],
        [{ limits: 5 }, 'limits (config/production.json): expected an object, got 5'],
        [{ limits: null }, 'limits (config/production.json): expected an object, got null'],
        [{ limits: { maxBufferedBytes: 65_535 } }, 'limits.maxBufferedBytes (config/production.json): expected an integer from 65536 to 1073741824, got 65535'],
        [{ defaultRoom: 5 }, 'defaultRoom (config/production.json): expected a room name (1 to 64 of A-Z a-z 0-9 _ . : - starting with a letter or digit), got 5'],
        [{ host: hostName(62) }, `host (config/production.json): expected an IP address or a host name, got "${hostName(62)}"`],
        [{ defaultRoom: 'the lobby' }, 'defaultRoom (config/production.json): expected a room name (1 to 64 of A-Z a-z 0-9 _ . : - starting with a letter or digit), got "the lobby"'],
        [{ nodeId: 'node 1' }, 'nodeId (config/production.json): expected 1 to 64 of A-Z a-z 0-9 _ . - starting with a letter or digit, got "node 1"'],
        [{ presence: { heartbeatMs: 5001 } }, 'presence.heartbeatMs (config/production.json): must be at most a third of presence.downAfterSeconds: a live node would be declared down after a few late heartbeats, got 5001'],
        [{ presence: { maxListed: 0 } }, 'presence.maxListed (config/production.json): expected an integer from 1 to 10000, got 0'],
        [{ shutdown: { drainSeconds: 14 } }, 'shutdown.drainSeconds (config/production.json): must leave 2000 ms of shutdownTimeoutMs (15000) after the drain window, got 14'],
        [{ broker: { reconnect: { minMs: 5000, maxMs: 1000 } } }, 'broker.reconnect.minMs (config/production.json): must not exceed broker.reconnect.maxMs, got 5000'],
        [{ limits: { maxPayloadBytes: 40_000 } }, 'limits.maxPayloadBytes (config/production.json): must be at least 12 × limits.maxTextChars + 1024 = 49024, the largest valid say, got 40000'],
        [{ broker: { url: [] } }, 'broker.url (config/production.json): expected at least one URL'],
        [{ broker: { url: 'amqp://a' } }, 'broker.url (config/production.json): expected a list of amqp:// or amqps:// URLs'],
      ];
      for (const [production, message] of cases) {
        expect(loadError({ NODE_ENV: 'production' }, [], withProduction(production)), JSON.stringify(production)).to.equal(message);
      }
    });

    it('says when a required setting is not set at all', () => {
      const { limits, ...withoutLimits } = realDefaults();
      const { maxRooms, ...withoutMaxRooms } = limits;
      expect(loadError({}, [], configDir({ 'default.json': { ...withoutLimits, limits: withoutMaxRooms } }))).to.equal(
        'limits.maxRooms: expected an integer from 1 to 10000, not set',
      );
      expect(loadError({}, [], configDir({ 'default.json': withoutLimits }))).to.equal('limits: expected an object, not set');
    });

    it('lists every problem, one per line', () => {
      expect(loadError({ PORT: 'abc', LOG_LEVEL: 'loud' }).split('\n')).to.deep.equal([
        'port (PORT): expected an integer from 0 to 65535, got "abc"',
        'logLevel (LOG_LEVEL): expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      ]);
      expect(loadError({}, ['--port', '1e300'])).to.not.include('\n');
    });

    it('in AMQP_URL is refused without echoing it, since a URL may hold a password', () => {
      for (const url of ['http://user:hunter2@host', 'amqp://user:hunter2@host,', 'hunter2', 'amqp://user:hunter2@host,ftp://x']) {
        const message = loadError({ AMQP_URL: url });
        expect(message, url).to.match(/^broker\.url\.\d \(AMQP_URL\): expected an amqp:\/\/ or amqps:\/\/ URL$/);
        expect(message).to.not.include('hunter2');
      }
    });

    it('accepts any port number and refuses anything else, naming PORT', () => {
      fc.assert(
        fc.property(fc.oneof(fc.integer({ min: -10, max: 70_000 }).map(String), fc.string()), (text) => {
          const valid = /^\d+$/.test(text) && Number(text) <= 65535;
          if (valid) expect(load({ PORT: text }).port).to.equal(Number(text));
          else if (text !== '') expect(loadError({ PORT: text })).to.equal(`port (PORT): expected an integer from 0 to 65535, got ${JSON.stringify(text)}`);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('authentication', () => {
    it('is off by default, with no key, the query token refused, and a refresh warning 30 s before exp', () => {
      expect(load().auth).to.deep.equal({ mode: 'off', clockToleranceSeconds: 5, refreshSeconds: 30, allowQueryToken: false });
      expect(load().allowedOrigins).to.deep.equal([]);
      expect(load().limits).to.deep.include({ maxConnections: 100_000, connectRate: 1000 });
    });

    it('required needs a key, and says which settings give one', () => {
      expect(loadError({ AUTH_MODE: 'required' })).to.equal(
        'auth.mode (AUTH_MODE): required needs a key: auth.hmacSecret (AUTH_HMAC_SECRET), auth.publicKeyFile (AUTH_PUBLIC_KEY_FILE) or auth.jwksFile (AUTH_JWKS_FILE), got "required"',
      );
      for (const key of [{ AUTH_HMAC_SECRET: SECRET }, { AUTH_PUBLIC_KEY_FILE: 'key.pem' }, { AUTH_JWKS_FILE: 'jwks.json' }]) {
        expect(load({ AUTH_MODE: 'required', ...key }).auth.mode, Object.keys(key)[0]).to.equal('required');
      }
    });

    it('refuses an HMAC secret under 32 bytes, counted in UTF-8, without echoing it', () => {
      expect(loadError({ AUTH_HMAC_SECRET: SECRET.slice(1) })).to.equal('auth.hmacSecret (AUTH_HMAC_SECRET): expected a secret of at least 32 bytes');
      // 16 two-byte characters are 32 bytes.
      expect(load({ AUTH_HMAC_SECRET: 'é'.repeat(16) }).auth.hmacSecret).to.equal('é'.repeat(16));
      expect(loadError({ AUTH_HMAC_SECRET: 'é'.repeat(15) })).to.not.include('é');
    });

    it('takes one key source only', () => {
      expect(loadError({ AUTH_HMAC_SECRET: SECRET, AUTH_PUBLIC_KEY_FILE: 'key.pem' })).to.equal(
        'auth.hmacSecret (AUTH_HMAC_SECRET): must not be set together with auth.publicKeyFile: give one key source',
      );
      expect(loadError({ AUTH_PUBLIC_KEY_FILE: 'key.pem', AUTH_JWKS_FILE: 'jwks.json' })).to.equal(
        'auth.jwksFile (AUTH_JWKS_FILE): must not be set together with auth.publicKeyFile: give one key source, got "jwks.json"',
      );
    });

    it('refuses HS algorithms next to a public key (key confusion), and public-key algorithms next to a secret', () => {
      expect(loadError({ AUTH_PUBLIC_KEY_FILE: 'key.pem', AUTH_ALGORITHMS: 'RS256,HS256' })).to.equal(
        'auth.algorithms (AUTH_ALGORITHMS): HS256 must not be allowed with a public key (key confusion), got "RS256,HS256"',
      );
      expect(loadError({ AUTH_JWKS_FILE: 'jwks.json', AUTH_ALGORITHMS: 'HS512' })).to.match(/^auth\.algorithms \(AUTH_ALGORITHMS\): HS512 must not be allowed/);
      expect(loadError({ AUTH_HMAC_SECRET: SECRET, AUTH_ALGORITHMS: 'HS256,ES256' })).to.equal(
        'auth.algorithms (AUTH_ALGORITHMS): ES256 need a public key, not auth.hmacSecret, got "HS256,ES256"',
      );
      expect(load({ AUTH_JWKS_FILE: 'jwks.json', AUTH_ALGORITHMS: 'ES256,EdDSA' }).auth.algorithms).to.deep.equal(['ES256', 'EdDSA']);
    });

    it('never allows alg none', () => {
      expect(loadError({ AUTH_HMAC_SECRET: SECRET, AUTH_ALGORITHMS: 'none' })).to.match(/^auth\.algorithms\.0 \(AUTH_ALGORITHMS\): expected one of HS256, /);
    });

    it('names what each auth setting expects, in a config file too', () => {
      expect(loadError({ AUTH_MODE: 'on' })).to.equal('auth.mode (AUTH_MODE): expected off or required, got "on"');
      for (const [setting, expected] of [['publicKeyFile', 'a file path'], ['jwksFile', 'a file path'], ['issuer', 'an issuer'], ['audience', 'an audience']] as const) {
        expect(loadError({ NODE_ENV: 'production' }, [], withProduction({ auth: { [setting]: '' } }))).to.equal(`auth.${setting} (config/production.json): expected ${expected}, got ""`);
      }
      expect(loadError({ NODE_ENV: 'production' }, [], withProduction({ auth: { algorithms: [] } }))).to.equal('auth.algorithms (config/production.json): expected at least one algorithm, got []');
      expect(loadError({ NODE_ENV: 'production' }, [], withProduction({ auth: { algorithms: 'HS256' } }))).to.equal('auth.algorithms (config/production.json): expected a list of algorithms, got "HS256"');
      expect(loadError({ NODE_ENV: 'production' }, [], withProduction({ allowedOrigins: 'https://a.example' }))).to.equal('allowedOrigins (config/production.json): expected a list of origins, got "https://a.example"');
      for (const [setting, max] of [['clockToleranceSeconds', 300], ['refreshSeconds', 3600]] as const) {
        expect(loadError({ NODE_ENV: 'production' }, [], withProduction({ auth: { [setting]: max + 1 } }))).to.match(new RegExp(`^auth\\.${setting} \\(config/production\\.json\\): expected an integer from \\d+ to ${max}`));
      }
    });

    it('reads true and false as booleans only for a boolean setting: an issuer may be called true', () => {
      expect(load({ AUTH_ISSUER: 'true', AUTH_AUDIENCE: 'false' }).auth).to.include({ issuer: 'true', audience: 'false' });
    });

    it('reads AUTH_ALLOW_QUERY_TOKEN as true or false only', () => {
      expect(load({ AUTH_ALLOW_QUERY_TOKEN: 'false' }).auth.allowQueryToken).to.equal(false);
      expect(loadError({ AUTH_ALLOW_QUERY_TOKEN: 'yes' })).to.equal('auth.allowQueryToken (AUTH_ALLOW_QUERY_TOKEN): expected true or false, got "yes"');
    });

    it('takes origins with a scheme, a host and a port at most, and *. only in front', () => {
      const origins = ['http://localhost:8081', 'https://chat.example.com', 'https://*.example.com', 'http://127.0.0.1:3000'];
      expect(load({ ALLOWED_ORIGINS: origins.join(',') }).allowedOrigins).to.deep.equal(origins);
      for (const bad of ['example.com', 'https://example.com:99999', 'http://a.123', 'https://example.com/', 'https://example.com/chat', 'ftp://example.com', 'https://a.*.example.com', 'https://*', 'null', 'https://ex ample.com']) {
        expect(loadError({ ALLOWED_ORIGINS: bad }), bad).to.match(/^allowedOrigins\.0 \(ALLOWED_ORIGINS\): expected an origin: http\(s\):\/\/host\[:port\]/);
      }
    });
  });

  describe('ADMIN_TOKEN', () => {
    it('is not needed when the admin port is bound to loopback', () => {
      for (const host of ['127.0.0.1', '127.8.9.10', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LocalHost']) {
        expect(load({ ADMIN_HOST: host }).admin.host, host).to.equal(host);
      }
    });

    it('is required when it is bound anywhere else', () => {
      for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::2', 'admin.example.com']) {
        expect(loadError({ ADMIN_HOST: host }), host).to.equal(
          `admin.token (ADMIN_TOKEN): required because admin.host ${JSON.stringify(host)} is not loopback (127.0.0.0/8, ::1, localhost)`,
        );
        expect(load({ ADMIN_HOST: host, ADMIN_TOKEN: 'tok' }).admin.token).to.equal('tok');
      }
      expect(loadError({}, ['--admin-host', '0.0.0.0'])).to.match(/^admin\.token \(ADMIN_TOKEN\): required/);
    });

    it('may be all digits: only a setting that is a number is read as one', () => {
      expect(load({ ADMIN_TOKEN: '0123456789' }).admin.token).to.equal('0123456789');
    });

    it('must be usable in an Authorization header, and is never echoed', () => {
      expect(loadError({ ADMIN_TOKEN: 'two words' })).to.equal('admin.token (ADMIN_TOKEN): expected a token of visible ASCII characters');
    });
  });

  describe('files and flags that cannot be used', () => {
    it('are refused with a message naming them', () => {
      expect(loadError({}, ['--prot', '1'])).to.equal('--prot: unknown argument (see --help)');
      expect(loadError({}, ['8081'])).to.equal('8081: unknown argument (see --help)');
      expect(loadError({}, ['--admin-token', 'x'])).to.equal('--admin-token: unknown argument (see --help)');
      expect(loadError({}, ['--port'])).to.equal('--port: missing value');
      expect(loadError({ NODE_ENV: '../etc' })).to.equal('NODE_ENV: expected a name of letters, digits, _ and -, got "../etc"');
      expect(loadError({ NODE_ENV: 'test/../../etc' })).to.equal('NODE_ENV: expected a name of letters, digits, _ and -, got "test/../../etc"');
      expect(loadError({ NODE_ENV: 'production' }, [], withProduction('{"port": 1,}'))).to.match(/^config\/production\.json: not valid JSON \(/);
      expect(loadError({ NODE_ENV: 'production' }, [], withProduction([1]))).to.equal('config/production.json: expected a JSON object');
      expect(loadError({}, [], configDir({}))).to.match(/^config\/default\.json: cannot be read \(/);
    });

    it('include a $NODE_ENV.json that exists but cannot be read: only a missing one is skipped', () => {
      const d = configDir({ 'default.json': realDefaults() });
      mkdirSync(join(d, 'staging.json'));
      expect(loadError({ NODE_ENV: 'staging' }, [], d)).to.match(/^config\/staging\.json: cannot be read \(EISDIR/);
    });
  });

  describe('--help', () => {
    it('is recognised, and ignored by loadConfig', () => {
      expect(helpRequested(['--port', '1', '--help'])).to.equal(true);
      expect(helpRequested(['-h'])).to.equal(true);
      expect(helpRequested(['--port', '1'])).to.equal(false);
      expect(load({}, ['--help']).port).to.equal(8081);
    });

    it('lists every variable and flag with its default from config/default.json', () => {
      const text = helpText(CONFIG_DIR);
      const lineOf = (name: string) => text.split('\n').find((line) => line.trimStart().startsWith(name)) ?? expect.fail(`no line for ${name}`);
      const expected: Record<string, string> = {
        PORT: '8081', HOST: '0.0.0.0', ADMIN_PORT: '8082', ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: 'none', AMQP_URL: 'none', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '15000', SHUTDOWN_DRAIN_SECONDS: '10',
        HISTORY_SIZE: '100', HISTORY_TTL_SECONDS: '3600', HISTORY_MAX_RECOVER: '300',
        AUTH_MODE: 'off', AUTH_HMAC_SECRET: 'none', AUTH_PUBLIC_KEY_FILE: 'none', AUTH_JWKS_FILE: 'none', AUTH_ALGORITHMS: 'none', AUTH_ISSUER: 'none',
        AUTH_AUDIENCE: 'none', AUTH_ALLOW_QUERY_TOKEN: 'false', AUTH_CLOCK_TOLERANCE_SECONDS: '5', AUTH_REFRESH_SECONDS: '30', ALLOWED_ORIGINS: 'none', MAX_CONNECTIONS: '100000', CONNECT_RATE: '1000', FRAME_RATE: '50', FRAME_BURST: '200',
        PRESENCE_MAX_LISTED: '100', PRESENCE_DOWN_AFTER_SECONDS: '15', PRESENCE_HEARTBEAT_MS: '1000',
      };
      for (const setting of SETTINGS) {
        const line = lineOf(setting.flag ?? setting.env);
        expect(line).to.include(setting.env).and.match(new RegExp(`default ${expected[setting.env]}$`));
      }
      expect(text).to.include('--help, -h').and.include('NODE_ENV');
      expect(text, 'the levels LOG_LEVEL takes').to.include('fatal, error, warn, info, debug, trace, silent');
    });

    it('opens with the usage and the order in which the sources override each other, and ends its last line', () => {
      const text = helpText(CONFIG_DIR);
      const [usage, blank, ...rest] = text.split('\n');
      expect(usage).to.equal('Usage: npm start -- [flags]');
      expect(blank).to.equal('');
      expect(rest.indexOf(''), 'a blank line after the sources').to.equal(2);
      const sources = rest.slice(0, 2).join(' ');
      expect(sources).to.match(/default\.json.*\$NODE_ENV\.json.*environment variables.*flags.*each overrides the one before/);
      expect(text).to.match(/\n {2}--help, -h\n {6}print this help and exit\n$/);
    });

    it("puts the defaults in one column, and each setting's meaning on the line below it", () => {
      const lines = helpText(CONFIG_DIR).split('\n');
      const columns = SETTINGS.map((setting) => {
        const at = lines.findIndex((line) => line.trimStart().startsWith(setting.flag ?? setting.env));
        expect(lines[at], setting.env).to.match(/\S {2,}default \S/);
        expect(lines[at + 1], setting.env).to.equal(`      ${setting.meaning}`).and.match(/^ {6}\S/);
        return lines[at]!.indexOf(' default ');
      });
      expect(new Set(columns).size).to.equal(1);
    });

    it('cannot be written without the defaults: a folder without default.json is named', () => {
      expect(() => helpText(configDir({}))).to.throw(ConfigError, /^config\/default\.json: cannot be read \(/);
    });

    it('shows the defaults of the folder it is given, a secret one only as (set)', () => {
      const d = configDir({ 'default.json': { ...realDefaults(), port: 7000, broker: { ...realDefaults().broker, url: ['amqp://x:pw@h'] } } });
      expect(helpText(d)).to.match(/--port, PORT +default 7000\n/).and.match(/--amqp-url, AMQP_URL +default \(set\)\n/).and.not.include('pw@h');
    });
  });
});
