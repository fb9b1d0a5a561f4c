/**
 * What `npm test` (tools/preflight.ts) and a spec file run on its own do on
 * a machine without Chromium or RabbitMQ, in child processes told that the
 * package's file is where nothing is (SPEC_CHROMIUM_PATH,
 * SPEC_RABBITMQ_SERVER_PATH) and given a PATH of our choosing: one with no
 * apt-get, or one with a stand-in apt-get.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../lib/paths';
import { CHROMIUM } from './browser';
import { POLICY_RC_D } from './system_packages';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function node(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as Run;
    return { code, stdout, stderr };
  }
}

const PREFLIGHT = ['--import', 'tsx', join(ROOT, 'tools', 'preflight.ts')];
const MOCHA = join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');

const LINE = (name: string, path: string, neededBy: string): string =>
  `warren's specs need Debian's ${name} (${path} is missing, for ${neededBy}), ` +
  `and cannot install it here (apt-get is not on PATH): as root, apt-get install ${name}`;

/** A mocha run that ended with `line` alone, before a spec could pass or fail. */
function expectStopped(run: Run, line: string): void {
  expect(run.code).to.equal(1);
  expect(run.stderr).to.equal(`\n${line}\n`);
  expect(run.stdout).to.not.match(/passing|failing|failed|Error/);
}

describe('a machine without the Debian packages the specs need', function () {
  this.timeout(60_000);
  let dir: string;
  let chromium: string;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'warren-preflight-'));
    chromium = join(dir, 'chromium');
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('a RabbitMQ spec file run on its own stops at its first node with one line saying what to install', async function () {
    const rabbitmqServer = join(dir, 'rabbitmq-server');
    const run = await node([MOCHA, join('spec', 'support', 'rabbitmq.spec.ts')], { PATH: dir, SPEC_RABBITMQ_SERVER_PATH: rabbitmqServer });
    expectStopped(run, LINE('rabbitmq-server', rabbitmqServer, 'the integration specs, AMQP_URL or not'));
  });

  describe('without Chromium', function () {
    const withoutAptGet = (): NodeJS.ProcessEnv => ({ PATH: dir, SPEC_CHROMIUM_PATH: chromium });
    const chromiumLine = (): string => LINE('chromium', chromium, 'the browser specs');

    it('npm test stops before any spec with one line saying what to install, exit code 1', async function () {
      const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
      expect(scripts['test']).to.match(/^tsx tools\/preflight\.ts && /);
      const run = await node(PREFLIGHT, withoutAptGet());
      expect(run).to.deep.equal({ code: 1, stdout: '', stderr: `${chromiumLine()}\n` });
    });

    it('a browser spec file run on its own stops at its first launch with the same line, and no failed spec', async function () {
      const run = await node([MOCHA, join('spec', 'browser', 'observer.spec.ts')], withoutAptGet());
      expectStopped(run, chromiumLine());
    });

    /**
     * A stand-in apt-get, first on PATH: it records its arguments and what
     * policy-rc.d answers (101: start no service), and its `install` runs
     * `install` (as /bin/sh, with no PATH of its own to rely on).
     */
    function standInAptGet(install: string): { calls(): string[] } {
      const log = join(dir, 'apt-get.log');
      writeFileSync(
        join(dir, 'apt-get'),
        `#!/bin/sh\n${POLICY_RC_D}; echo "$* policy:$?" >> ${log}\n[ "$1" = install ] && ${install}\nexit 0\n`,
        { mode: 0o755 },
      );
      // apt-get update comes first only on a machine without package lists.
      return { calls: () => readFileSync(log, 'utf8').trimEnd().split('\n').filter((call) => !call.startsWith('update ')) };
    }

    // As root, as the specs run: their RabbitMQ nodes need it too.
    it('npm test installs it as root through apt-get, with service starts denied, and then goes on', async function () {
      const apt = standInAptGet(`: > ${chromium}`);
      const policyBefore = readIfThere(POLICY_RC_D);
      const run = await node(PREFLIGHT, { PATH: dir, SPEC_CHROMIUM_PATH: chromium });
      expect(run).to.deep.include({ code: 0, stderr: '' });
      expect(apt.calls()).to.deep.equal(['install -y chromium policy:101']);
      expect(existsSync(chromium), 'installed').to.equal(true);
      expect(readIfThere(POLICY_RC_D), 'policy-rc.d as it was').to.equal(policyBefore);
    });

    it('a browser spec file run on its own as root installs it before its first spec, which then passes', async function () {
      // Installing takes minutes, longer than a browser spec's hook may wait.
      // This run's Chromium, "installed" by a link.
      const apt = standInAptGet(`/bin/ln -s ${CHROMIUM} ${chromium}`);
      const spec = [MOCHA, join('spec', 'web', 'chat.spec.ts'), '--grep', 'connects on load to the room in the hash'];
      const run = await node(spec, { PATH: `${dir}${delimiter}${process.env.PATH}`, SPEC_CHROMIUM_PATH: chromium });
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(apt.calls()).to.deep.equal(['install -y chromium policy:101']);
      const installing = run.stdout.indexOf("Installing Debian's chromium");
      expect(installing, run.stdout).to.be.above(-1).and.below(run.stdout.indexOf('chat page (web/index.html)'));
      expect(run.stdout).to.match(/\n1 passed, 0 failed\n$/);
    });
  });
});

function readIfThere(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
