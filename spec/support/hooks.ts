// Root hooks shared by every spec file. Support modules register their
// clean-up here so that whatever a spec starts (a RabbitMQ node, a daemon
// process, a browser) is stopped when the run ends, even after a failure.
// Specs read logs through captureLogs(); the rest of the run stays quiet.
process.env.LOG_LEVEL ??= 'silent';

const cleanups: Array<() => Promise<void>> = [];

export function atExit(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    while (cleanups.length > 0) await cleanups.pop()!();
  },
};
