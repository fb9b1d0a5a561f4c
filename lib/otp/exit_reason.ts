/**
 * Why a process ended, as in Erlang: `normal` and `shutdown` (also
 * `{shutdown, Detail}`) are orderly ends; anything else is a crash.
 * A `transient` child is restarted only after a crash.
 */
export type ExitReason =
  | 'normal'
  | 'shutdown'
  | { readonly shutdown: string }
  /** Stopped without running `terminate` (a `brutal_kill` child spec, or a shutdown timeout). */
  | 'killed'
  /** The process did not exist (a monitor set on a dead process). */
  | 'noproc'
  | Error;

export function isOrderlyExit(reason: ExitReason): boolean {
  return reason === 'normal' || reason === 'shutdown' || (typeof reason === 'object' && 'shutdown' in reason);
}

export function formatReason(reason: ExitReason): string {
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  return `shutdown: ${reason.shutdown}`;
}

/** The error a handler "throws" when an actor is crashed on purpose (`/debug/kill`). */
export class KilledOnPurpose extends Error {
  override readonly name = 'KilledOnPurpose';
  constructor(path: string) {
    super(`${path} was crashed on purpose`);
  }
}
