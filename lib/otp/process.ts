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
 * between a supervisor and its child. (Implemented by classes, not
 * closures: a connection has two processes, and each closure per process
 * is memory per socket.)
 */
export interface Link {
  readonly parent: Ref;
  readonly name: string;
  /** Times this child has been restarted (shown in /debug/tree). */
  readonly restarts: number;
  /** Its latest restarts, oldest first (shown in /debug/actor); absent when it was never restarted. */
  readonly restartHistory?: readonly RestartRecord[];
  /** Called once the process has stopped; not called when init failed (the start fails instead). */
  onExit(reason: ExitReason, self: Ref): void;
}

export interface RestartRecord {
  /** Epoch ms. */
  readonly at: number;
  /** Why it was restarted: its own exit reason, or `shutdown` when a sibling's took it down. */
  readonly reason: string;
}

/** Restarts a link keeps the reasons of: the last lines of its supervisor reports. */
const RESTART_HISTORY = 20;

/** `history` and one more restart, now, the oldest dropped past RESTART_HISTORY. */
export function withRestart(history: readonly RestartRecord[] = [], reason: ExitReason): RestartRecord[] {
  return [...history.slice(1 - RESTART_HISTORY), { at: Date.now(), reason: formatReason(reason) }];
}

/** Told once when a process stops, whatever the reason: what a monitor is. */
export interface ExitListener {
  processDown(reason: ExitReason): void;
}

/** How long a child may take to stop: ms, forever, or at once without terminate. */
export type Shutdown = number | 'infinity' | 'brutal_kill';

/**
 * What a behaviour (gen_server, supervisor) plugs into the process engine.
 * One per behaviour module, shared by all its processes: what differs per
 * process is in the Process (its args and state).
 */
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

// Every message every process has handled: the node's message rate, read
// each second by the sampler without walking 20,000 processes.
let handledMessages = 0;

export function messagesHandled(): number {
  return handledMessages;
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
  /** `processed` at the last sample of the rates (lib/otp/top.ts), and how many were handled in the interval before it. */
  processedAtSample = 0;
  handledInInterval = 0;
  status: 'starting' | 'running' | 'exiting' = 'starting';
  self!: Ref;
  /** Whether init has returned: until then there is no behaviour state to show or terminate. */
  initialized = false;
  private inFlight: Promise<void> | undefined;
  private exitReason: ExitReason = 'normal';
  /** Set once the actor has stopped. */
  private exitedWith: ExitReason | undefined;
  // Allocated only when needed: most processes are never monitored, never
  // waited for, and are past their start.
  private listeners: ExitListener[] | undefined;
  private exitWaiters: Array<(reason: ExitReason) => void> | undefined;
  private settleStart: ((error?: Error) => void) | undefined;

  private constructor(
    readonly behaviour: Behaviour<S>,
    readonly link: Link,
    /** What the behaviour's init is given. */
    readonly args: unknown,
  ) {}

  get path(): string {
    return nact.pathOf(this.self);
  }

  /**
   * Spawns the actor and runs `init` as its first message, so that anything
   * sent to it meanwhile waits behind init. Resolves once init has returned;
   * rejects with init's error (the process is then gone, its link not told).
   */
  static spawn<S>(link: Link, behaviour: Behaviour<S>, args: unknown): Promise<Process<S>> {
    const proc = new Process(behaviour, link, args);
    return new Promise((resolve, reject) => {
      proc.settleStart = (error) => (error ? reject(error) : resolve(proc));
      try {
        proc.self = nact.spawn(link.parent, runMessage, link.name, {
          initialState: proc,
          onCrash: Process.onCrash,
          afterStop: Process.afterStop,
        });
      } catch (error) {
        reject(toError(error));
        return;
      }
      nact.deliver(proc.self, INIT);
    });
  }

  /** The process's own record, from the real actor tree; undefined once it stopped. */
  static of(ref: Ref): Process | undefined {
    const state = nact.findActor(ref)?.state;
    return state instanceof Process ? state : undefined;
  }

  /** Resolves with the exit reason once the process has stopped. */
  exited(): Promise<ExitReason> {
    if (this.exitedWith !== undefined) return Promise.resolve(this.exitedWith);
    return new Promise((resolve) => (this.exitWaiters ??= []).push(resolve));
  }

  addExitListener(listener: ExitListener): void {
    if (this.listeners) this.listeners.push(listener);
    else this.listeners = [listener]; // a first push onto [] would reserve 17 slots
  }

  /** Who will be told of its exit: its monitors (and a trace). */
  get exitListeners(): readonly ExitListener[] {
    return this.listeners ?? [];
  }

  removeExitListener(listener: ExitListener): void {
    const index = this.listeners?.indexOf(listener) ?? -1;
    if (index >= 0) this.listeners!.splice(index, 1);
  }

  /** Ends the process: children, then terminate, then the actor. Idempotent. */
  shutdown(reason: ExitReason, shutdown: Shutdown = CHILD_SHUTDOWN_MS): Promise<ExitReason> {
    if (this.status === 'exiting') return this.exited();
    this.status = 'exiting';
    if (shutdown === 'brutal_kill') {
      this.kill();
      return this.exited();
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
    return this.exited();
  }

  /** Makes the actor crash as if its handler had thrown (`/debug/kill`). */
  crash(): void {
    nact.deliver(this.self, CRASH);
  }

  /**
   * Runs one message; the scheduler (lib/otp/nact.ts) calls it one message
   * at a time. Synchronous unless the behaviour's handler returned a
   * promise: then nothing else runs until it settles.
   */
  handle(message: unknown): void | Promise<void> {
    if (this.status === 'exiting') {
      // Being shut down: what it will never handle is discarded now, as the rest of the mailbox is at the exit.
      this.behaviour.discard?.(message, this.exitReason);
      return;
    }
    if (message === CRASH) throw new KilledOnPurpose(this.path);
    let pending: void | Promise<void>;
    if (message === INIT) pending = this.init();
    else {
      this.processed++;
      handledMessages++;
      pending = this.behaviour.handle(this, message);
    }
    if (pending) {
      this.inFlight = pending.finally(() => (this.inFlight = undefined));
      return this.inFlight;
    }
  }

  private async init(): Promise<void> {
    await this.behaviour.init(this);
    this.initialized = true;
    if (this.status === 'starting') this.status = 'running';
    this.settleStart?.();
    this.settleStart = undefined;
  }

  /** Stops this process and everything below it at once, without terminate. */
  private kill(): void {
    this.status = 'exiting';
    this.exitReason = 'killed';
    for (const child of childProcesses(this).reverse()) child.kill();
    nact.stop(this.self as never);
  }

  // nact's onCrash, shared by every process (nact calls it while the actor
  // is still in the tree): returns whether nact should stop the actor.
  private static onCrash(message: unknown, error: unknown, ctx: { self: Ref; stop: symbol; resume: symbol }): Promise<symbol> {
    const proc = Process.of(ctx.self);
    // Killed while this message ran: the actor has stopped, and its late failure changes nothing.
    if (!proc) return Promise.resolve(ctx.resume);
    return proc.crashed(message, toError(error)).then((stop) => (stop ? ctx.stop : ctx.resume));
  }

  private async crashed(message: unknown, error: Error): Promise<boolean> {
    if (this.status === 'exiting') return false; // the shutdown under way stops it
    crashReport(this.path, this.behaviour.name, describeMessage(message), error);
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

  // nact's afterStop, shared by every process: the actor is gone (its state
  // is the Process); tell whoever watched it.
  private static afterStop(proc: Process, ctx: { mailbox: Array<{ message: unknown }> }): void {
    const reason = proc.exitReason;
    const { mailbox } = ctx;
    for (const { message } of mailbox) proc.behaviour.discard?.(message, reason);
    if (mailbox.length > 0) {
      log.debug({ actor: proc.path, discarded: mailbox.length }, `${proc.path} exited with ${mailbox.length} messages unhandled`);
    }
    proc.exitedWith = reason;
    for (const listener of proc.listeners ?? []) listener.processDown(reason);
    proc.listeners = undefined;
    if (proc.initialized) proc.link.onExit(reason, proc.self);
    else proc.settleStart?.(reason instanceof Error ? reason : new Error(`${proc.path} exited during init: ${formatReason(reason)}`));
    for (const resolve of proc.exitWaiters ?? []) resolve(reason);
    proc.exitWaiters = undefined;
  }
}

/**
 * Runs every message of one traced process instead of `Process.handle`
 * (lib/otp/trace.ts: sys:trace). Traced processes are few and short-lived.
 */
export interface MessageTracer {
  handle(proc: Process, message: unknown): void | Promise<void>;
}

// undefined whenever nothing is traced: then the only cost of tracing on the
// hot path is this one comparison per message.
let tracers: Map<Process, MessageTracer> | undefined;

/** Puts `proc` under `tracer`, or (undefined) takes it off; false when it already has one. */
export function setTracer(proc: Process, tracer: MessageTracer | undefined): boolean {
  if (tracer === undefined) {
    tracers?.delete(proc);
    if (tracers?.size === 0) tracers = undefined;
    return true;
  }
  if (tracers?.has(proc)) return false;
  (tracers ??= new Map()).set(proc, tracer);
  return true;
}

/** The actor function of every OTP process: its state is its Process. */
function runMessage(proc: Process, message: unknown): Process | Promise<Process> {
  const pending = tracers === undefined ? proc.handle(message) : handleTraced(proc, message);
  return pending ? pending.then(() => proc) : proc;
}

function handleTraced(proc: Process, message: unknown): void | Promise<void> {
  const tracer = tracers!.get(proc);
  return tracer === undefined ? proc.handle(message) : tracer.handle(proc, message);
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
  /** The child's link, to start it again with (`relink`). */
  readonly link: Link;
}

/**
 * A link for a child started by a worker: its exit arrives as an `EXIT` info
 * message, unless the parent is itself exiting (then the child is merely
 * stopping with it).
 */
class LinkToWorker implements Link {
  constructor(
    readonly parent: Ref,
    readonly name: string,
    readonly restarts = 0,
    readonly restartHistory?: readonly RestartRecord[],
  ) {}

  onExit(reason: ExitReason, from: Ref): void {
    const parent = Process.of(this.parent);
    if (parent && parent.status !== 'exiting') send(this.parent, { type: 'EXIT', from, reason, link: this } satisfies Exit);
  }
}

export function linkTo(parent: Ref, name: string): Link {
  return new LinkToWorker(parent, name);
}

/** The link of a worker's child started again after `exit`: one restart more, and its reason kept. */
export function relink({ link, reason }: Exit): Link {
  return new LinkToWorker(link.parent, link.name, link.restarts + 1, withRestart(link.restartHistory, reason));
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
