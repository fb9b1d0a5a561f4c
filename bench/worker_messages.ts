/** What the load generator's main thread and its client workers say to each other. */
import type { GroupCounts, GroupResult } from './client_group';

export type ToWorker =
  | { readonly type: 'start'; readonly startUs: number }
  | { readonly type: 'result' }
  | { readonly type: 'close' };

export type ToMain =
  | { readonly type: 'connected' | 'progress' | 'done'; readonly counts: GroupCounts }
  | { readonly type: 'failed'; readonly reason: string }
  | { readonly type: 'result'; readonly result: GroupResult }
  | { readonly type: 'closed' };
