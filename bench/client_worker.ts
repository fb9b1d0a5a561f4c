/**
 * A worker thread of the load generator: runs one ClientGroup and relays
 * between it and the main thread (load_generator.ts), which gives the start
 * signal and adds up what every worker counted.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ClientGroup, type Load } from './client_group';
import type { ToMain, ToWorker } from './worker_messages';

const PROGRESS_INTERVAL_MS = 100;

const port = parentPort!;
const { load, indices } = workerData as { load: Load; indices: number[] };
const post = (message: ToMain) => port.postMessage(message);

// Typed: the callbacks refer to the group itself.
const group: ClientGroup = new ClientGroup(load, indices, {
  done: () => post({ type: 'done', counts: group.counts }),
  failed: (reason) => post({ type: 'failed', reason }),
});
const progress = setInterval(() => post({ type: 'progress', counts: group.counts }), PROGRESS_INTERVAL_MS);

port.on('message', (command: ToWorker) => {
  if (command.type === 'connect') {
    group.connect().then(
      () => post({ type: 'connected', counts: group.counts }),
      (error: Error) => post({ type: 'failed', reason: error.message }),
    );
  } else if (command.type === 'start') group.start(command.startUs);
  else if (command.type === 'result') {
    const result = group.result();
    port.postMessage({ type: 'result', result } satisfies ToMain, [result.latencyMs.buffer, result.receivedAtMs.buffer]);
  } else {
    clearInterval(progress);
    void group.close().then(() => post({ type: 'closed' }));
  }
});

post({ type: 'ready' });
