/**
 * An OTP process on a nact actor: the life every behaviour shares.
 *
 *   spawn ──> init (the first message) ──> handle messages ──> exit
 *
 * Exit is one path for every reason (a crash, a `stop` result, a shutdown
 * from the supervisor, a parent going down): the process's linked children
 * stop first, deepest first, then the behaviour's `terminate` runs, then the
 * nact actor stops, then monitors get DOWN and the link gets the exit reason.
 * nact's own `stop` only detaches children without stopping them, so this
 * module never relies on it for anything but the actor itself.
 */
import { log } from '../log';
import { type ExitReason, KilledOnPurpose, formatReason } from './exit_reason';
import * as nact from './nact';
import { crashReport, deadLetterReport, describeMessage } from './reports';

export type Ref = nact.Ref;

/**
 * How a process reports its end to whoever started it, like an Erlang link
 * between a supervisor and its child.
 */
export interface Link {
  readonly parent: Ref;
  readonly name: string;
  /** Times this child has been restarted (shown in /debug/tree). */
  readonly restarts: number;
  /** Called once the process has stopped; not called when init failed (the start fails instead). */
  readonly onExit: (reason: ExitReason, self: Ref) => void;
}

/** How long a child may take to stop: ms, forever, or at once without terminate. */
export type Shutdown = number | 'infinity' | 'brutal_kill';

/** What a behaviour (gen_server, supervisor) plugs into the process engine. */
export interface Behaviour<S> {
  readonly kind: 'worker' | 'supervisor';
  /** What it is, as shown in /debug/tree: `relay`, `connection`, `supervisor`... */
  readonly name: string;
  init(proc: Process<S>): void | Promise<void>;
  handle(proc: Process<S>, message: unknown): void | Promise<void>;
  /** Stops the process's children; by default its nact children, newest first. */
  shutdownChildren?(proc: Process<S>): Promise<void>;
  terminate(proc: Process<S>, reason: ExitReason): void | Promise<void>;
  /** A message the process will never handle because it exited first. */
  discard?(message: unknown, reason: ExitReason): void;
  info(proc: Process<S>): Record<string, unknown>;
  strategy?(proc: Process<S>): string;
}

/** Marker messages that only this module sends. */
const INIT = Symbol('init');
const CRASH = Symbol('crash');

/** A crash of a process that is already exiting changes nothing; cap terminate so a crash cannot hang. */
const CRASH_TERMINATE_MS = 5_000;
const CHILD_SHUTDOWN_MS = 5_000;

export class Process<S = unknown> {
  /** The behaviour's state (a gen_server's state, a supervisor's children). */
  state!: S;
  processed = 0;
  status: 'starting' | 'running' | 'exiting' = 'starting';
  /** Called with the exit reason after the process stopped: monitors. */
  readonly exitListeners = new Map<object, (reason: ExitReason) => void>();
  readonly exited: Promise<ExitReason>;
  self!: Ref;
  private initialized = false;
  private inFlight: Promise<void> | undefined;
  private exitReason: ExitReason = 'normal';
  private resolveExited!: (reason: ExitReason) => void;
  private readonly started: Promise<void>;
  private settleStart!: (error?: Error) => void;

  constructor(
    readonly behaviour: Behaviour<S>,
    readonly link: Link,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
    this.started = new Promise((resolve, reject) => (this.settleStart = (error) => (error ? reject(error) : resolve())));
  }

  get path(): string {
    return nact.pathOf(this.self);
  }

  /**
   * Spawns the actor and runs `init` as its first message, so that anything
   * sent to it meanwhile waits behind init. Resolves once init has returned;
   * rejects with init's error (the process is then gone, its link not told).
   */
  static spawn<S>(link: Link, behaviour: Behaviour<S>): Promise<Process<S>> {
    const proc = new Process(behaviour, link);
    try {
      proc.self = nact.spawn(link.parent as never, runMessage as never, link.name, {
        initialState: proc,
        onCrash: (message: unknown, error: unknown, ctx: { stop: symbol; resume: symbol }) =>
          proc.crashed(message, toError(error)).then((stop) => (stop ? ctx.stop : ctx.resume)),
        afterStop: (_state: unknown, ctx: { mailbox: Array<{ message: unknown }> }) => proc.stopped(ctx.mailbox),
      } as never) as Ref;
    } catch (error) {
      return Promise.reject(toError(error));
    }
    nact.deliver(proc.self, INIT);
    return proc.started.then(() => proc);
  }

  /** The process's own record, from the real actor tree; undefined once it stopped. */
  static of(ref: Ref): Process | undefined {
    const state = nact.findActor(ref)?.state;
    return state instanceof Process ? state : undefined;
  }

  /** Ends the process: children, then terminate, then the actor. Idempotent. */
  shutdown(reason: ExitReason, shutdown: Shutdown = CHILD_SHUTDOWN_MS): Promise<ExitReason> {
    if (this.status === 'exiting') return this.exited;
    this.status = 'exiting';
    if (shutdown === 'brutal_kill') {
      this.kill();
      return this.exited;
    }
    this.exitReason = reason;
    const orderly = (async () => {
      await this.inFlight?.catch(() => undefined);
      await this.runTerminate(reason);
    })();
    void withTimeout(orderly, shutdown).then((inTime) => {
      if (inTime) nact.stop(this.self as never);
      else {
        log.warn({ actor: this.path, shutdown }, `${this.path} did not terminate within ${shutdown} ms: killed`);
        this.kill();
      }
    });
    return this.exited;
  }

  /** Makes the actor crash as if its handler had thrown (`/debug/kill`). */
  crash(): void {
    nact.deliver(this.self, CRASH);
  }

  /** Runs one message; nact calls it one message at a time. */
  async handle(message: unknown): Promise<void> {
    if (this.status === 'exiting') return; // being shut down: the mailbox is discarded
    if (message === CRASH) throw new KilledOnPurpose(this.path);
    let pending: void | Promise<void>;
    if (message === INIT) pending = this.init();
    else {
      this.processed++;
      pending = this.behaviour.handle(this, message);
    }
    if (pending) {
      this.inFlight = pending;
      await pending.finally(() => (this.inFlight = undefined));
    }
  }

  private async init(): Promise<void> {
    await this.behaviour.init(this);
    this.initialized = true;
    if (this.status === 'starting') this.status = 'running';
    this.settleStart();
  }

  /** Stops this process and everything below it at once, without terminate. */
  private kill(): void {
    this.status = 'exiting';
    this.exitReason = 'killed';
    for (const child of childProcesses(this).reverse()) child.kill();
    nact.stop(this.self as never);
  }

  /** A handler threw: returns whether nact should stop the actor. */
  private async crashed(message: unknown, error: Error): Promise<boolean> {
    if (this.status === 'exiting') return false; // the shutdown under way stops it
    crashReport(this.path, this.behaviour.name, message === INIT ? 'init' : describeMessage(message), error);
    this.status = 'exiting';
    this.exitReason = error;
    this.behaviour.discard?.(message, error);
    await withTimeout(this.runTerminate(error), CRASH_TERMINATE_MS);
    return true;
  }

  private async runTerminate(reason: ExitReason): Promise<void> {
    try {
      await (this.behaviour.shutdownChildren?.(this) ?? shutdownChildren(this));
      if (this.initialized) await this.behaviour.terminate(this, reason);
    } catch (error) {
      log.error({ actor: this.path, err: error }, `${this.path} failed in terminate`);
    }
  }

  /** nact's afterStop: the actor is gone; tell whoever watched it. */
  private stopped(mailbox: Array<{ message: unknown }>): void {
    const reason = this.exitReason;
    for (const { message } of mailbox) this.behaviour.discard?.(message, reason);
    if (mailbox.length > 0) {
      log.debug({ actor: this.path, discarded: mailbox.length }, `${this.path} exited with ${mailbox.length} messages unhandled`);
    }
    for (const notify of this.exitListeners.values()) notify(reason);
    this.exitListeners.clear();
    if (this.initialized) this.link.onExit(reason, this.self);
    else this.settleStart(reason instanceof Error ? reason : new Error(`${this.path} exited during init: ${formatReason(reason)}`));
    this.resolveExited(reason);
  }
}

/** The nact actor function of every OTP process: its state is its Process. */
async function runMessage(proc: Process, message: unknown): Promise<Process> {
  await proc.handle(message);
  return proc;
}

/** The processes below `proc` in the actor tree, oldest first. */
export function childProcesses(proc: Process): Process[] {
  const actor = nact.findActor(proc.self);
  if (!actor) return [];
  const children: Process[] = [];
  for (const child of actor.children.values()) if (child.state instanceof Process) children.push(child.state);
  return children;
}

/** A worker's linked children stop with it, newest first (reverse start order). */
async function shutdownChildren(proc: Process): Promise<void> {
  for (const child of childProcesses(proc).reverse()) await child.shutdown('shutdown');
}

/**
 * Sends a message; false, with a log line, when nobody is there: nact drops
 * such messages without a word.
 */
export function send(to: Ref, message: unknown): boolean {
  if (nact.deliver(to, message)) return true;
  deadLetterReport(nact.pathOf(to), message);
  return false;
}

/** A child process's exit, as a message to the process that linked it (trap_exit). */
export interface Exit {
  readonly type: 'EXIT';
  readonly from: Ref;
  readonly reason: ExitReason;
}

/**
 * A link for a child started by a worker: its exit arrives as an `EXIT` info
 * message, unless the parent is itself exiting (then the child is merely
 * stopping with it).
 */
export function linkTo(parent: Ref, name: string, restarts = 0): Link {
  const onExit = (reason: ExitReason, from: Ref): void => {
    const parentProcess = Process.of(parent);
    if (parentProcess && parentProcess.status !== 'exiting') send(parent, { type: 'EXIT', from, reason } satisfies Exit);
  };
  return { parent, name, restarts, onExit };
}

async function withTimeout(work: Promise<unknown>, ms: number | 'infinity'): Promise<boolean> {
  if (ms === 'infinity') return work.then(() => true);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  return Promise.race([work.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
