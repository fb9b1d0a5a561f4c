/**
 * gen_server on a nact actor.
 *
 * A module supplies the callbacks, named as in Erlang:
 *
 *   init(Args, Self)             -> State
 *   handleCall(Request, From, S) -> reply(R, S) | noreply(S) | stop(Reason, S, R?)
 *   handleCast(Msg, S)           -> noreply(S) | stop(Reason, S)
 *   handleInfo(Msg, S)           -> noreply(S) | stop(Reason, S)
 *   terminate(Reason, S)
 *   formatStatus(S)              -> the `info` shown in /debug/tree
 *
 * Any of them may return a promise; the process handles nothing else until it
 * settles, as an Erlang process blocks in its callback. A call answered with
 * `noreply` is answered later with `replyTo(from, value)`.
 */
import { log } from '../log';
import { type ExitReason, formatReason } from './exit_reason';
import * as nact from './nact';
import { type Behaviour, type Link, Process, type Ref, send } from './process';
import { type Described, describeMessage } from './reports';

export type NoReply<S> = { readonly kind: 'noreply'; readonly state: S };
export type Reply<S, R> = { readonly kind: 'reply'; readonly reply: R; readonly state: S };
export type Stop<S, R = never> = { readonly kind: 'stop'; readonly reason: ExitReason; readonly state: S; readonly reply?: R };
export type CallResult<S, R> = Reply<S, R> | NoReply<S> | Stop<S, R>;
export type Result<S> = NoReply<S> | Stop<S>;

export const noreply = <S>(state: S): NoReply<S> => ({ kind: 'noreply', state });
export const reply = <S, R>(value: R, state: S): Reply<S, R> => ({ kind: 'reply', reply: value, state });
export const stop = <S, R = never>(reason: ExitReason, state: S, value?: R): Stop<S, R> =>
  value === undefined ? { kind: 'stop', reason, state } : { kind: 'stop', reason, state, reply: value };

type MaybePromise<T> = T | Promise<T>;

declare const protocol: unique symbol;
/** A reference to a gen_server that knows what the server accepts. */
export type ServerRef<Call = unknown, Cast = unknown, R = unknown> = Ref & {
  readonly [protocol]?: { call: Call; cast: Cast; reply: R };
};

export interface GenServer<Args, State, Call = never, Cast = never, R = never, Info = never> {
  /** What the process is, as shown in /debug/tree (`relay`, `broker`...). */
  readonly behaviour: string;
  init(args: Args, self: ServerRef<Call, Cast, R>): MaybePromise<State>;
  handleCall?(request: Call, from: From<R>, state: State): MaybePromise<CallResult<State, R>>;
  handleCast?(message: Cast, state: State): MaybePromise<Result<State>>;
  handleInfo?(message: Info, state: State): MaybePromise<Result<State>>;
  terminate?(reason: ExitReason, state: State): MaybePromise<void>;
  formatStatus?(state: State): Record<string, unknown>;
}

/** Who is waiting for a call's answer. */
export class From<R = unknown> {
  constructor(private readonly caller: Ref) {}
  /** @internal */
  answer(value: R | CallFailed): void {
    nact.dispatch(this.caller as never, value);
  }
}

/** Answers a call that was left with `noreply` (gen_server:reply/2). */
export function replyTo<R>(from: From<R>, value: R): void {
  from.answer(value);
}

class CallFailed {
  constructor(readonly reason: ExitReason) {}
}

class CallMessage implements Described {
  constructor(
    readonly request: unknown,
    readonly from: From,
  ) {}
  describe(): string {
    return describeMessage(this.request);
  }
  get envelope(): 'call' {
    return 'call';
  }
  get content(): unknown {
    return this.request;
  }
}

class CastMessage implements Described {
  constructor(readonly message: unknown) {}
  describe(): string {
    return describeMessage(this.message);
  }
  get envelope(): 'cast' {
    return 'cast';
  }
  get content(): unknown {
    return this.message;
  }
}

/** A call that could not be answered: the error names the server and the request. */
export class CallError extends Error {
  override readonly name = 'CallError';
  constructor(
    readonly server: string,
    readonly request: string,
    readonly reason: string,
  ) {
    super(`call to ${server} (request: ${request}) failed: ${reason}`);
  }
}

export const DEFAULT_CALL_TIMEOUT_MS = 5_000;

export async function call<C, R>(server: ServerRef<C, unknown, R>, request: C, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<R> {
  const fail = (reason: string) => new CallError(nact.pathOf(server), describeMessage(request), reason);
  let answer: unknown;
  try {
    answer = await nact.query(server as never, (caller: Ref) => new CallMessage(request, new From(caller)), timeoutMs);
  } catch (error) {
    throw fail((error as Error).message === 'Query Timeout' ? `timeout after ${timeoutMs} ms` : 'noproc (no such process)');
  }
  if (answer instanceof CallFailed) throw fail(`the server exited: ${formatReason(answer.reason)}`);
  return answer as R;
}

/** Sends a request without waiting; false (and a log line) when the server is gone. */
export function cast<C>(server: ServerRef<unknown, C>, message: C): boolean {
  return send(server, new CastMessage(message));
}

export async function startLink<Args, S, C, K, R, I>(
  link: Link,
  module: GenServer<Args, S, C, K, R, I>,
  args: Args,
): Promise<ServerRef<C, K, R>> {
  const proc = await Process.spawn(link, behaviourOf(module), args);
  return proc.self as ServerRef<C, K, R>;
}

// One behaviour per module, shared by all its processes (a connection's
// callbacks are not copied per socket).
const behaviours = new WeakMap<object, Behaviour<unknown>>();

function behaviourOf<Args, S, C, K, R, I>(module: GenServer<Args, S, C, K, R, I>): Behaviour<S> {
  let behaviour = behaviours.get(module) as Behaviour<S> | undefined;
  if (!behaviour) behaviours.set(module, (behaviour = genServerBehaviour(module)) as Behaviour<unknown>);
  return behaviour;
}

function genServerBehaviour<Args, S, C, K, R, I>(module: GenServer<Args, S, C, K, R, I>): Behaviour<S> {
  return {
    kind: 'worker',
    name: module.behaviour,
    async init(proc) {
      proc.state = await module.init(proc.args as Args, proc.self as ServerRef<C, K, R>);
    },
    handle(proc, message) {
      if (message instanceof CallMessage) {
        if (!module.handleCall) throw new Error(`${module.behaviour} has no handleCall`);
        return apply(proc, module.handleCall(message.request as C, message.from as From<R>, proc.state), message.from);
      }
      if (message instanceof CastMessage) {
        if (!module.handleCast) throw new Error(`${module.behaviour} has no handleCast`);
        return apply(proc, module.handleCast(message.message as K, proc.state));
      }
      if (!module.handleInfo) {
        log.warn({ actor: proc.path, message: describeMessage(message) }, `${proc.path} ignored an unexpected message`);
        return;
      }
      return apply(proc, module.handleInfo(message as I, proc.state));
    },
    terminate: (proc, reason) => module.terminate?.(reason, proc.state),
    discard(message, reason) {
      if (message instanceof CallMessage) message.from.answer(new CallFailed(reason));
    },
    info: (proc) => module.formatStatus?.(proc.state) ?? {},
  };
}

function apply<S, R>(proc: Process<S>, result: MaybePromise<CallResult<S, R>>, from?: From<R>): void | Promise<void> {
  if (result instanceof Promise) return result.then((settled) => apply(proc, settled, from));
  proc.state = result.state;
  if (result.kind === 'noreply') return;
  if (result.kind === 'reply' || result.reply !== undefined) from?.answer(result.reply as R);
  if (result.kind !== 'stop') return;
  const exited = proc.shutdown(result.reason);
  // A caller left without a reply learns that the server exited, as in Erlang (unless terminate replied first).
  if (result.reply === undefined && from) void exited.then((reason) => from.answer(new CallFailed(reason)));
}
