// Root hooks shared by every spec file. Support modules register their
// clean-up here so that whatever a spec starts (a RabbitMQ node, a daemon
// process, a browser) is stopped when the run ends, even after a failure.
// Specs read logs through captureLogs(); the rest of the run stays quiet.
process.env.LOG_LEVEL ??= 'silent';

// The daemon dies of an unhandled rejection (Node 20's default), while
// mocha lets one pass without a word: rethrown, it fails the spec it
// happened in, as an uncaught exception does.
process.on('unhandledRejection', (reason) => {
  throw reason;
});

const preparations: Array<() => Promise<void>> = [];
const cleanups: Array<() => Promise<void>> = [];

/** Work for before the first spec, where no spec's timeout runs yet (an apt-get install takes minutes). */
export function beforeSpecs(preparation: () => Promise<void>): void {
  preparations.push(preparation);
}

export function atExit(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** Every clean-up registered, newest first: at the end of the run, or when a run stops early. */
export async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!();
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(15 * 60_000); // Debian's chromium and rabbitmq-server, downloaded and installed
    for (const prepare of preparations) await prepare();
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await cleanUp();
  },
};
