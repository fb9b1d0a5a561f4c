/** What the load generator's main thread and its client workers say to each other. */
import type { GroupCounts, GroupResult } from './client_group';
import type { StormGroupResult, StormPhase } from './storm_group';
import type { PresenceGroupResult, PresencePhase, PresenceStep } from './presence_group';
import type { FromThread } from './threads';

export type ToWorker =
  | { readonly type: 'connect' }
  | { readonly type: 'start'; readonly startUs: number }
  | { readonly type: 'result' }
  | { readonly type: 'close' };

export type ToMain =
  | { readonly type: 'ready' }
  | { readonly type: 'connected' | 'progress' | 'done'; readonly counts: GroupCounts }
  | { readonly type: 'failed'; readonly reason: string }
  | { readonly type: 'result'; readonly result: GroupResult }
  | { readonly type: 'closed' };

/** The same between the reconnect storm (storm.ts) and its client workers (storm_worker.ts). */
export type ToStormWorker = { readonly type: 'disconnect' | 'reconnect' | 'result' | 'close' };

export type FromStormWorker = FromThread<StormPhase, StormGroupResult>;

/** The same for the presence run (presence.ts, presence_worker.ts). */
export type ToPresenceWorker = PresenceStep | { readonly type: 'result' | 'close' };

export type FromPresenceWorker = FromThread<PresencePhase, PresenceGroupResult>;
