/**
 * A full garbage collection on request, for the long runs (issue 14): heap
 * after GC is the figure whose drift is a leak, and the daemon must give it
 * without a restart under --expose-gc. The inspector protocol collects
 * without that flag. (Its callback API hangs when the session is
 * disconnected from inside the callback; the promise API does not.)
 */
import { Session } from 'node:inspector/promises';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

export interface HeapAfterGc {
  readonly collectedInMs: number;
  readonly memory: NodeJS.MemoryUsage;
  readonly heap: ReturnType<typeof getHeapStatistics>;
  /** Per space: what grew is told apart, objects (old_space) from compiled code (code_space). */
  readonly spaces: Record<string, number>;
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
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_used_size]));
  return { collectedInMs: performance.now() - started, memory: process.memoryUsage(), heap: getHeapStatistics(), spaces };
}
