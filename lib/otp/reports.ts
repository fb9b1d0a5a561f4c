/**
 * What OTP's SASL and logger report, in one place: crash reports, supervisor
 * reports and dead letters. Each is one log line (never one per chat
 * message) and an event that the metrics module counts.
 */
import { EventEmitter } from 'node:events';
import { log } from '../log';
import { type ExitReason, formatReason } from './exit_reason';

interface ReportEvents {
  crash: [path: string, behaviour: string, reason: ExitReason];
  restart: [path: string, behaviour: string, reason: ExitReason];
  dead_letter: [path: string, messageType: string];
}

export const reports = new EventEmitter<ReportEvents>();

export function crashReport(path: string, behaviour: string, message: string, reason: ExitReason): void {
  log.error({ actor: path, behaviour, message, err: reason }, `${path} crashed: ${formatReason(reason)}`);
  reports.emit('crash', path, behaviour, reason);
}

export function restartReport(path: string, behaviour: string, reason: ExitReason, restarts: number): void {
  log.warn({ actor: path, behaviour, restarts, reason: formatReason(reason) }, `${path} restarted (${restarts} so far) after: ${formatReason(reason)}`);
  reports.emit('restart', path, behaviour, reason);
}

export function giveUpReport(path: string, intensity: number, periodSeconds: number): void {
  log.error({ actor: path, intensity, period: periodSeconds }, `${path} reached_max_restart_intensity (more than ${intensity} restarts in ${periodSeconds} s): shutting down`);
}

// A dead letter is usually a race at the end of a life (a delivery crossing
// a socket's close), so the first one in a second is logged in full and the
// rest of that second are summed up, keeping a flood of them to two lines.
const DEAD_LETTER_WINDOW_MS = 1000;
let windowEnds = 0;
let suppressed = 0;

export function deadLetterReport(path: string, message: unknown): void {
  const type = describeMessage(message);
  reports.emit('dead_letter', path, type);
  const now = Date.now();
  if (now < windowEnds) {
    suppressed++;
    return;
  }
  if (suppressed > 0) log.warn({ dropped: suppressed }, `${suppressed} more messages to stopped actors were dropped`);
  suppressed = 0;
  windowEnds = now + DEAD_LETTER_WINDOW_MS;
  log.warn({ actor: path, message: type }, `message to stopped actor ${path} dropped: ${type}`);
}

/** Envelopes (a gen_server call or cast) name what they carry. */
export interface Described {
  describe(): string;
  /** Which envelope it is, for traces (a plain message is `info`). */
  readonly envelope: 'call' | 'cast';
  /** What it carries (a call's request, a cast's message), for sizes in traces. */
  readonly content: unknown;
}

export function isDescribed(message: unknown): message is Described {
  return typeof (message as Partial<Described> | null)?.describe === 'function';
}

/** A short name for a message in logs: its `type` when it has one. */
export function describeMessage(message: unknown): string {
  if (typeof message === 'symbol') return message.description ?? 'symbol'; // the process engine's own: init, crash
  if (message === null || typeof message !== 'object') return typeof message;
  if (isDescribed(message)) return message.describe();
  const type = (message as { type?: unknown }).type;
  return typeof type === 'string' ? type : (message.constructor?.name ?? 'object');
}
