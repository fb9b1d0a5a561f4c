// Root hooks shared by every spec file. Support modules register their
// clean-up here so that whatever a spec starts (a RabbitMQ node, a daemon
// process, a browser) is stopped when the run ends, even after a failure.
// Specs read logs through captureLogs(); the rest of the run stays quiet.
//
// The run is parallel (.mocharc.json: two worker processes, one per core),
// and there mocha runs the root hooks around each file, not once per run.
// So what a file starts is stopped after that file (atExit), and what the
// files of one worker share, its RabbitMQ node, lives as long as the
// worker (atRunEnd). Each worker has a node of its own: files running at the
// same time never share a stream, an exchange or a rabbitmqctl.
import { buildDaemon } from './daemon_build';

process.env.LOG_LEVEL ??= 'silent';

// The daemon dies of an unhandled rejection (Node 20's default), while
// mocha lets one pass without a word: rethrown, it fails the spec it
// happened in, as an uncaught exception does.
process.on('unhandledRejection', (reason) => {
  throw reason;
});

const preparations: Array<() => Promise<void>> = [];
const cleanups: Array<() => Promise<void>> = [];
const runCleanups: Array<() => Promise<void>> = [];
/** In a parallel run's worker; absent in a serial run (`mocha --no-parallel`). */
const IN_WORKER = process.env.MOCHA_WORKER_ID !== undefined;

/** Work for before the first spec, where no spec's timeout runs yet (an apt-get install takes minutes). */
export function beforeSpecs(preparation: () => Promise<void>): void {
  preparations.push(preparation);
}

/** Clean-up after the spec file that started it. */
export function atExit(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/**
 * Clean-up at the end of the run, for what every spec file of a process
 * shares. A worker ends with process.exit, where nothing can be awaited:
 * give `onExit` too, the synchronous last resort (process groups are killed
 * then anyway: process_group.ts).
 */
export function atRunEnd(cleanup: () => Promise<void>, onExit: () => void): void {
  if (IN_WORKER) process.once('exit', onExit);
  else runCleanups.push(cleanup);
}

/** Every clean-up registered, newest first: after each file, or when a run stops early. */
export async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!();
}

/**
 * Once per run, in mocha's own process before any worker starts: the
 * daemon's build, so that the workers never run tsc on the same files at
 * once (each finds it up to date).
 */
export function mochaGlobalSetup(): void {
  buildDaemon();
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(15 * 60_000); // Debian's chromium and rabbitmq-server, downloaded and installed
    for (const prepare of preparations) await prepare();
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await cleanUp();
    if (!IN_WORKER) while (runCleanups.length > 0) await runCleanups.pop()!();
  },
};
