/**
 * Monitors, as `erlang:monitor(process, Pid)`: the watcher gets one `DOWN`
 * message, with the reason, when the watched process stops for any reason.
 * Monitoring a process that is already gone delivers `DOWN` with `noproc`.
 */
import type { ExitReason } from './exit_reason';
import { type ExitListener, Process, type Ref, send } from './process';

export interface Down {
  readonly type: 'DOWN';
  readonly monitor: MonitorRef;
  readonly process: Ref;
  readonly reason: ExitReason;
}

export class MonitorRef implements ExitListener {
  constructor(
    readonly watcher: Ref,
    readonly process: Ref,
    readonly target: Process | undefined,
  ) {}

  processDown(reason: ExitReason): void {
    send(this.watcher, { type: 'DOWN', monitor: this, process: this.process, reason } satisfies Down);
  }
}

export function monitor(watcher: Ref, watched: Ref): MonitorRef {
  const target = Process.of(watched);
  const ref = new MonitorRef(watcher, watched, target);
  if (target) target.addExitListener(ref);
  else queueMicrotask(() => ref.processDown('noproc'));
  return ref;
}

/** No DOWN will come for this monitor (one already sent stays in the mailbox, as in Erlang without `flush`). */
export function demonitor(ref: MonitorRef): void {
  ref.target?.removeExitListener(ref);
}
