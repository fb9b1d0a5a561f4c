import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Application } from '../../lib/otp/application';
import { probeSpec } from '../support/probe';

describe('application', () => {
  it('stops the whole tree in order: children before parents, newest first', async () => {
    const journal: string[] = [];
    const app = await Application.start({
      name: 'app_sup',
      supervisor: { init: () => ({ flags: { strategy: 'one_for_one' as const }, children: [probeSpec({ id: 'first', journal }), probeSpec({ id: 'second', journal })] }) },
      args: undefined,
    });
    await app.stop();
    expect(journal).to.deep.equal(['init:first', 'init:second', 'terminate:second:shutdown', 'terminate:first:shutdown']);
    expect(app.describe()).to.equal(undefined);
    await app.stop();
    expect(journal, 'a second stop does nothing').to.have.length(4);
  });

  it('fails to start with the reason its root supervisor failed', async () => {
    const start = Application.start({
      name: 'app_sup',
      supervisor: { init: () => ({ flags: { strategy: 'one_for_one' as const }, children: [probeSpec({ id: 'broken', journal: [], failInit: { times: 1 } })] }) },
      args: undefined,
    });
    try {
      await start;
      expect.fail('it started');
    } catch (error) {
      expect((error as Error).message).to.equal('broken refuses to start');
    }
  });

  it('exits the process with status 1, saying why, when its root supervisor gives up', function () {
    this.timeout(30_000);
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures/doomed_app.ts')], {
      encoding: 'utf8',
      env: { ...process.env, LOG_LEVEL: 'error' },
      timeout: 25_000,
    });
    expect(child.status).to.equal(1);
    const lines = child.stdout.trim().split('\n').map((line) => JSON.parse(line) as { msg: string });
    expect(lines.map((line) => line.msg)).to.include.members([
      '/doomed_sup/doomed crashed: Error: doomed worker fails again',
      '/doomed_sup reached_max_restart_intensity (more than 2 restarts in 10 s): shutting down',
      'doomed_sup exited (shutdown: reached_max_restart_intensity): the application stops',
    ]);
  });
});
