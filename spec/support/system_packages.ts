// The Debian packages the specs need: installed through apt-get when they
// are missing and we are root, else the run stops with one line saying what
// to install (a failed spec per browser or broker hook would bury it).
//
// npm test checks them all before mocha starts (tools/preflight.ts). For a
// spec file run on its own, the support module that uses one declares it
// (usesPackage: installed before the first spec) and checks it again when
// it launches it (needPackages: the line, and the run ends).
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { beforeSpecs, cleanUp } from './hooks';
import { RABBITMQ_SERVER } from './rabbitmq_node';

export interface SystemPackage {
  /** Debian's name for it. */
  name: string;
  /** The file that is there once it is installed. */
  path: string;
  /** What needs it, for the line. */
  neededBy: string;
}

export const RABBITMQ_PACKAGE: SystemPackage = {
  name: 'rabbitmq-server',
  // The overrides (here, SPEC_CHROMIUM_PATH below) exist for the preflight
  // specs: a package that is missing.
  path: process.env.SPEC_RABBITMQ_SERVER_PATH ?? RABBITMQ_SERVER,
  // AMQP_URL serves the specs that want a broker, not those that stop,
  // restart or fail over a node of their own.
  neededBy: 'the integration specs, AMQP_URL or not',
};

export const CHROMIUM_PACKAGE: SystemPackage = {
  name: 'chromium',
  path: process.env.SPEC_CHROMIUM_PATH ?? '/usr/bin/chromium',
  neededBy: 'the browser specs',
};

/** What a whole run needs. */
export const SPEC_PACKAGES = [RABBITMQ_PACKAGE, CHROMIUM_PACKAGE];

export interface Machine {
  root: boolean;
  aptGet: boolean;
}

export type Plan =
  | { action: 'none' }
  | { action: 'install'; packages: SystemPackage[] }
  | { action: 'stop'; line: string };

/** What to do about the packages that are missing, on this machine. */
export function plan(missing: SystemPackage[], machine: Machine): Plan {
  if (missing.length === 0) return { action: 'none' };
  if (machine.root && machine.aptGet) return { action: 'install', packages: missing };
  const why = machine.root ? 'apt-get is not on PATH' : 'not root';
  const names = missing.map((p) => p.name).join(' ');
  const what = missing.map((p) => `${p.name} (${p.path} is missing, for ${p.neededBy})`).join(' and ');
  const them = missing.length > 1 ? 'them' : 'it';
  return {
    action: 'stop',
    line: `warren's specs need Debian's ${what}, and cannot install ${them} here (${why}): as root, apt-get install ${names}`,
  };
}

export class PackagesMissing extends Error {}

const attempts = new Map<string, Promise<void>>();
let installing: Promise<unknown> = Promise.resolve();

/** Install what is missing of `packages`, or throw PackagesMissing with the line. */
export function ensurePackages(packages: SystemPackage[]): Promise<void> {
  const key = packages.map((p) => p.name).join(' ');
  let attempt = attempts.get(key);
  if (attempt === undefined) {
    // Memoized, failure included: a failed apt-get is not run again for
    // every spec. One apt-get at a time, as dpkg takes a lock.
    attempt = installing.then(() => installMissing(packages));
    installing = attempt.catch(() => undefined);
    attempts.set(key, attempt);
  }
  return attempt;
}

/**
 * ensurePackages inside a spec run: the line, and the run ends at once, with
 * what it started stopped (the root hooks will not run).
 */
export async function needPackages(packages: SystemPackage[]): Promise<void> {
  try {
    await ensurePackages(packages);
  } catch (error) {
    if (!(error instanceof PackagesMissing)) throw error;
    process.stderr.write(`\n${error.message}\n`);
    try {
      await cleanUp();
    } finally {
      process.exit(1);
    }
  }
}

/**
 * Called by a support module that uses `pkg` when it loads: as root, a
 * missing one is installed before the first spec, outside any hook's
 * timeout. The line waits for needPackages(): a module loaded is not yet a
 * spec of this run that needs the package.
 */
export function usesPackage(pkg: SystemPackage): void {
  beforeSpecs(async () => {
    if (plan(missingOf([pkg]), thisMachine()).action === 'install') await ensurePackages([pkg]);
  });
}

function missingOf(packages: SystemPackage[]): SystemPackage[] {
  return packages.filter((p) => !existsSync(p.path));
}

function thisMachine(): Machine {
  return { root: process.getuid?.() === 0, aptGet: onPath('apt-get') };
}

async function installMissing(packages: SystemPackage[]): Promise<void> {
  const next = plan(missingOf(packages), thisMachine());
  if (next.action === 'stop') throw new PackagesMissing(next.line);
  if (next.action === 'none') return;
  const names = next.packages.map((p) => p.name);
  console.log(`Installing Debian's ${names.join(' and ')}, which ${next.packages.map((p) => p.neededBy).join(' and ')} need...`);
  await withServiceStartsDenied(async () => {
    if (!hasPackageLists()) await aptGet('update');
    await aptGet('install', '-y', ...names);
  });
}

function onPath(command: string): boolean {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  return dirs.some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export const POLICY_RC_D = '/usr/sbin/policy-rc.d';

// rabbitmq-server would start a system-wide broker on 0.0.0.0:5672; the
// specs run private nodes instead. invoke-rc.d asks policy-rc.d, and 101
// means no.
async function withServiceStartsDenied(install: () => Promise<void>): Promise<void> {
  const previous = await readFile(POLICY_RC_D).catch(() => undefined);
  await writeFile(POLICY_RC_D, '#!/bin/sh\n# warren specs: installing packages, start no services\nexit 101\n', {
    mode: 0o755,
  });
  try {
    await install();
  } finally {
    if (previous) await writeFile(POLICY_RC_D, previous);
    else await rm(POLICY_RC_D, { force: true });
  }
}

function hasPackageLists(): boolean {
  try {
    return readdirSync('/var/lib/apt/lists').some((name) => name.includes('_Packages'));
  } catch {
    return false;
  }
}

function aptGet(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const apt = spawn('apt-get', args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    apt.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    apt.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    apt.on('error', reject);
    apt.on('close', (code) => {
      if (code === 0) return resolve();
      const tail = output.trimEnd().split('\n').slice(-20).join('\n');
      reject(new Error(`apt-get ${args.join(' ')} failed (exit code ${code}):\n${tail}`));
    });
  });
}
