/**
 * A worker thread of the presence run: runs one PresenceGroup and relays
 * between it and the main thread (presence.ts), which posts the steps.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PresenceGroup, type PresenceLoad } from './presence_group';
import type { FromPresenceWorker, ToPresenceWorker } from './worker_messages';

const port = parentPort!;
const { load, indices } = workerData as { load: PresenceLoad; indices: number[] };
const post = (message: FromPresenceWorker) => port.postMessage(message);

const group = new PresenceGroup(load, indices, {
  reached: (phase) => post({ type: 'reached', phase }),
  failed: (reason) => post({ type: 'failed', reason }),
});

port.on('message', (command: ToPresenceWorker) => {
  if (command.type === 'join' || command.type === 'leave') group.run(command);
  else if (command.type === 'result') post({ type: 'result', result: group.result() });
  else void group.close().then(() => post({ type: 'closed' }));
});

group.connect().catch((error: Error) => post({ type: 'failed', reason: error.message }));
