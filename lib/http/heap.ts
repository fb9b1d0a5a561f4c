/**
 * A full garbage collection on request, for the long runs (issue 14): heap
 * after GC is the figure whose drift is a leak, and the daemon must give it
 * without a restart under --expose-gc. The inspector protocol collects
 * without that flag. (Its callback API hangs when the session is
 * disconnected from inside the callback; the promise API does not.)
 */
import { Session } from 'node:inspector/promises';
import { getHeapStatistics } from 'node:v8';

export interface HeapAfterGc {
  readonly collectedInMs: number;
  readonly memory: NodeJS.MemoryUsage;
  readonly heap: ReturnType<typeof getHeapStatistics>;
}

export async function collectGarbage(): Promise<HeapAfterGc> {
  const session = new Session();
  session.connect();
  const started = performance.now();
  try {
    await session.post('HeapProfiler.collectGarbage');
  } finally {
    session.disconnect();
  }
  return { collectedInMs: performance.now() - started, memory: process.memoryUsage(), heap: getHeapStatistics() };
}
