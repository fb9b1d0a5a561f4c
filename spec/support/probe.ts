/**
 * A gen_server for OTP specs that writes its life into a journal shared by
 * the spec: `init:<id>`, `terminate:<id>:<reason>`, `info:<id>:<type>`.
 * It crashes, stops or stalls on request, so specs use real failing children.
 */
import { type ExitReason, formatReason } from '../../lib/otp/exit_reason';
import { type GenServer, type ServerRef, noreply, reply, startLink, stop } from '../../lib/otp/gen_server';
import type { Link } from '../../lib/otp/process';
import type { ChildSpec } from '../../lib/otp/supervisor';

export interface ProbeArgs {
  readonly id: string;
  readonly journal: string[];
  /** Throw in init this many times (counted across restarts through the shared object). */
  readonly failInit?: { times: number };
  /** How long terminate takes, to test shutdown timeouts. */
  readonly terminateMs?: number;
  /** Called in init with the probe's own ref, e.g. to start linked children. */
  readonly onInit?: (self: ProbeRef) => void | Promise<void>;
}

export interface ProbeState {
  readonly args: ProbeArgs;
  readonly seen: string[];
}

export type ProbeCall = { type: 'seen' } | { type: 'slow'; ms: number } | { type: 'crash' } | { type: 'never' };
export type ProbeCast = { type: 'note'; text: string } | { type: 'crash' } | { type: 'stop'; reason: ExitReason };
export type ProbeRef = ServerRef<ProbeCall, ProbeCast, string[] | 'done'>;

export const probe: GenServer<ProbeArgs, ProbeState, ProbeCall, ProbeCast, string[] | 'done', { type: string }> = {
  behaviour: 'probe',
  async init(args, self) {
    if (args.failInit && args.failInit.times > 0) {
      args.failInit.times--;
      throw new Error(`${args.id} refuses to start`);
    }
    args.journal.push(`init:${args.id}`);
    await args.onInit?.(self);
    return { args, seen: [] };
  },
  async handleCall(request, _from, state) {
    switch (request.type) {
      case 'seen':
        return reply([...state.seen], state);
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, request.ms));
        return reply('done' as const, state);
      case 'crash':
        throw new Error(`${state.args.id} crashed in a call`);
      case 'never':
        return noreply(state);
    }
  },
  handleCast(message, state) {
    switch (message.type) {
      case 'note':
        state.seen.push(message.text);
        return noreply(state);
      case 'crash':
        throw new Error(`${state.args.id} crashed on purpose`);
      case 'stop':
        return stop(message.reason, state);
    }
  },
  handleInfo(message, state) {
    state.args.journal.push(`info:${state.args.id}:${message.type}`);
    return noreply(state);
  },
  async terminate(reason, state) {
    if (state.args.terminateMs) await new Promise((resolve) => setTimeout(resolve, state.args.terminateMs));
    state.args.journal.push(`terminate:${state.args.id}:${formatReason(reason)}`);
  },
  formatStatus: (state) => ({ id: state.args.id, seen: state.seen.length }),
};

/** A child spec for a probe; restart and shutdown as given. */
export function probeSpec(args: ProbeArgs, options: Partial<Omit<ChildSpec, 'id' | 'start'>> = {}): ChildSpec {
  return { id: args.id, start: (link: Link) => startProbe(link, args), ...options };
}

export function startProbe(link: Link, args: ProbeArgs): Promise<ProbeRef> {
  return startLink(link, probe, args);
}
