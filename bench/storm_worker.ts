/**
 * A worker thread of the reconnect storm: runs one StormGroup and relays
 * between it and the main thread (storm.ts), which says when each phase starts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StormGroup, type StormLoad } from './storm_group';
import type { FromStormWorker, ToStormWorker } from './worker_messages';

const port = parentPort!;
const { load, indices } = workerData as { load: StormLoad; indices: number[] };
const post = (message: FromStormWorker) => port.postMessage(message);

const group = new StormGroup(load, indices, {
  reached: (phase) => post({ type: 'reached', phase }),
  failed: (reason) => post({ type: 'failed', reason }),
});

port.on('message', (command: ToStormWorker) => {
  if (command.type === 'disconnect') void group.disconnect();
  else if (command.type === 'reconnect') group.reconnect();
  else if (command.type === 'result') {
    const result = group.result();
    port.postMessage({ type: 'result', result } satisfies FromStormWorker, [result.recoveryMs.buffer, result.welcomeMs.buffer]);
  } else void group.close().then(() => post({ type: 'closed' }));
});

group.connect().catch((error: Error) => post({ type: 'failed', reason: error.message }));
