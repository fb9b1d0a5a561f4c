/**
 * Monitors, as `erlang:monitor(process, Pid)`: the watcher gets one `DOWN`
 * message, with the reason, when the watched process stops for any reason.
 * Monitoring a process that is already gone delivers `DOWN` with `noproc`.
 */
import type { ExitReason } from './exit_reason';
import { Process, type Ref, send } from './process';

export interface Down {
  readonly type: 'DOWN';
  readonly monitor: MonitorRef;
  readonly process: Ref;
  readonly reason: ExitReason;
}

export class MonitorRef {
  constructor(readonly target: Process | undefined) {}
}

export function monitor(watcher: Ref, watched: Ref): MonitorRef {
  const target = Process.of(watched);
  const ref = new MonitorRef(target);
  const down = (reason: ExitReason): void => {
    send(watcher, { type: 'DOWN', monitor: ref, process: watched, reason } satisfies Down);
  };
  if (target) target.exitListeners.set(ref, down);
  else queueMicrotask(() => down('noproc'));
  return ref;
}

/** No DOWN will come for this monitor (one already sent stays in the mailbox, as in Erlang without `flush`). */
export function demonitor(ref: MonitorRef): void {
  ref.target?.exitListeners.delete(ref);
}
