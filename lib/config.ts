// Configuration: config/default.json, then config/$NODE_ENV.json, then
// environment variables, then command-line flags, each overriding the one
// before; then validated by a strict zod schema and frozen. Hand-written
// rather than node-config so that the result has one exact type and a bad
// value is reported with the setting and the place it came from
// (LIBRARIES.md §6).
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { z } from 'zod';
import { ConfigSchema, type Config } from './config/schema';
import { SETTINGS, type Setting } from './config/settings';

export type { Config } from './config/schema';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const HELP_FLAGS = ['--help', '-h'];

export interface ConfigSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The arguments after the script: process.argv.slice(2). */
  readonly argv: readonly string[];
  readonly configDir: string;
}

/** One value from one place: a leaf of a config file, a variable or a flag. */
interface Entry {
  readonly path: readonly string[];
  readonly value: unknown;
  /** As written, for error messages. */
  readonly raw: unknown;
  readonly source: string;
}

export function loadConfig({ env, argv, configDir }: ConfigSources): Config {
  // NODE_ENV names a file, so it may not reach outside configDir.
  const environment = env['NODE_ENV'] || 'development';
  if (!/^[\w-]+$/.test(environment)) throw new ConfigError(`NODE_ENV: expected a name of letters, digits, _ and -, got ${JSON.stringify(environment)}`);
  const entries = [
    ...fileEntries(configDir, 'default.json', { required: true }),
    ...fileEntries(configDir, `${environment}.json`, { required: false }),
    ...envEntries(env),
    ...flagEntries(argv),
  ];
  const result = ConfigSchema.safeParse(merge(entries));
  if (!result.success) throw new ConfigError(describeIssues(result.error.issues, entries));
  return deepFreeze(result.data);
}

/** The caller prints helpText() and exits 0 instead of loading the config. */
export function helpRequested(argv: readonly string[]): boolean {
  return argv.some((arg) => HELP_FLAGS.includes(arg));
}

/** Built from SETTINGS, with the defaults of config/default.json. */
export function helpText(configDir: string): string {
  const defaults = new Map(fileEntries(configDir, 'default.json', { required: true }).map((e) => [e.path.join('.'), e.raw]));
  const lines = [
    'Usage: npm start -- [flags]',
    '',
    `Settings come from ${basename(configDir)}/default.json, then ${basename(configDir)}/$NODE_ENV.json (NODE_ENV unset: development),`,
    'then these environment variables, then these flags; each overrides the one before.',
    '',
  ];
  const namesOf = (setting: Setting) => (setting.flag === undefined ? setting.env : `${setting.flag}, ${setting.env}`);
  const width = Math.max(...SETTINGS.map((setting) => namesOf(setting).length)) + 2;
  for (const setting of SETTINGS) {
    const value = defaults.get(setting.path);
    const shown = value === undefined || (Array.isArray(value) && value.length === 0) ? 'none' : setting.secret ? '(set)' : Array.isArray(value) ? value.join(',') : String(value);
    lines.push(`  ${namesOf(setting).padEnd(width)}default ${shown}`, `      ${setting.meaning}`);
  }
  lines.push(`  ${HELP_FLAGS.join(', ')}`, '      print this help and exit');
  return lines.join('\n') + '\n';
}

function fileEntries(configDir: string, file: string, { required }: { required: boolean }): Entry[] {
  const source = `${basename(configDir)}/${file}`;
  let text: string;
  try {
    text = readFileSync(join(configDir, file), 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConfigError(`${source}: cannot be read (${(error as Error).message})`);
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(content)) throw new ConfigError(`${source}: expected a JSON object`);
  return leaves(content, [], source);
}

/** Objects are merged key by key; anything else, arrays included, replaces what was there. */
function leaves(value: unknown, path: readonly string[], source: string): Entry[] {
  if (!isPlainObject(value)) return [{ path, value, raw: value, source }];
  return Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key], source));
}

function envEntries(env: ConfigSources['env']): Entry[] {
  // An empty variable counts as unset, as container tools often pass them.
  return SETTINGS.flatMap((setting) => {
    const raw = env[setting.env];
    return raw === undefined || raw === '' ? [] : [entryOf(setting, raw, setting.env)];
  });
}

/** `--port 9000` or `--port=9000`. */
function flagEntries(argv: readonly string[]): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (HELP_FLAGS.includes(arg)) continue;
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    const setting = SETTINGS.find((s) => s.flag === flag);
    if (setting === undefined) throw new ConfigError(`${arg}: unknown argument (see --help)`);
    const raw = equals === -1 ? argv[++i] : arg.slice(equals + 1);
    if (raw === undefined) throw new ConfigError(`${flag}: missing value`);
    entries.push(entryOf(setting, raw, flag));
  }
  return entries;
}

function entryOf(setting: Setting, raw: string, source: string): Entry {
  // A text that is not an integer stays a string, for the schema to reject with its rule.
  const value =
    setting.kind === 'integer' && /^\d+$/.test(raw) ? Number(raw)
    : setting.kind === 'boolean' && (raw === 'true' || raw === 'false') ? raw === 'true'
    : setting.kind === 'list' ? raw.split(',').map((item) => item.trim())
    : raw;
  return { path: setting.path.split('.'), value, raw, source };
}

// Objects without a prototype: a "__proto__" key in a file becomes an
// ordinary key, which the strict schema then rejects as unknown.
function merge(entries: readonly Entry[]): Record<string, unknown> {
  const root: Record<string, unknown> = Object.create(null);
  for (const { path, value } of entries) {
    let node = root;
    for (const key of path.slice(0, -1)) {
      const child = node[key];
      node = isPlainObject(child) ? child : (node[key] = Object.create(null));
    }
    node[path[path.length - 1]!] = value;
  }
  return root;
}

/** One line per problem: `<setting> (<where it came from>): <problem>[, got <value>]`. */
function describeIssues(issues: readonly z.core.$ZodIssue[], entries: readonly Entry[]): string {
  const lines = issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${origin([...path, key], entries).where}: unknown setting`);
    const { where, entry, secret } = origin(path, entries);
    const given = entry === undefined ? (issue.code === 'invalid_type' ? ', not set' : '') : secret ? '' : `, got ${JSON.stringify(entry.raw)}`;
    return [`${where}: ${issue.message}${given}`];
  });
  return [...new Set(lines)].join('\n');
}

/** The setting at `path`, the value given for it and where that came from. */
function origin(path: readonly string[], entries: readonly Entry[]) {
  const name = path.join('.');
  const isAtOrAbove = (p: readonly string[]) => name === p.join('.') || name.startsWith(`${p.join('.')}.`);
  // The value at this path or above it (a list's element is reported against the list)...
  const entry = entries.findLast((e) => isAtOrAbove(e.path));
  // ...or, for an unknown object, a value inside it, of which only the source is told.
  const inside = entries.findLast((e) => e.path.join('.').startsWith(`${name}.`));
  const setting = SETTINGS.find((s) => isAtOrAbove(s.path.split('.')));
  const from = (entry ?? inside)?.source ?? setting?.env;
  return { where: from === undefined ? name : `${name} (${from})`, entry, secret: setting?.secret === true };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
