/**
 * supervisor, as in OTP: child specs, the four strategies, restart types,
 * restart intensity, and shutdown in reverse start order.
 *
 * A supervisor is a nact actor, the parent of its children in the actor
 * tree. Unlike an Erlang supervisor it does not take its work through its
 * mailbox: starting a child and handling a child's exit are plain function
 * calls on the caller's turn. JavaScript runs one turn at a time, so they
 * are as serialised as a mailbox would make them, and nact's per-message
 * cost (it copies the actor's whole children map for every message) is never
 * paid by a supervisor of thousands of connections. Restarts, which wait for
 * a child's init, run one at a time in a queue of their own.
 */
import { log } from '../log';
import { type ExitReason, isOrderlyExit } from './exit_reason';
import { type Behaviour, type Link, Process, type Ref, type RestartRecord, type Shutdown, childProcesses, withRestart } from './process';
import { describeMessage, giveUpReport, restartReport } from './reports';

export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one' | 'simple_one_for_one';
export type Restart = 'permanent' | 'transient' | 'temporary';

export interface ChildSpec<Extra extends unknown[] = []> {
  readonly id: string;
  /** Starts the child linked to the supervisor (an MFA in OTP). */
  start(link: Link, ...extra: Extra): Promise<Ref>;
  /** permanent: always restarted; transient: only after a crash; temporary: never. Default permanent. */
  readonly restart?: Restart;
  /** Default 5000 ms for a worker and `infinity` for a supervisor, as in OTP. */
  readonly shutdown?: Shutdown;
  readonly type?: 'worker' | 'supervisor';
}

export interface SupFlags {
  readonly strategy: Strategy;
  /** At most `intensity` restarts within `period` seconds; OTP's defaults are 1 in 5. */
  readonly intensity?: number;
  readonly period?: number;
}

export interface SupervisorModule<Args> {
  init(args: Args): { readonly flags: SupFlags; readonly children: readonly ChildSpec<never>[] };
}

/** A supervisor with dynamic children all started from one spec. */
export type SimpleSupervisorRef<Extra extends unknown[]> = Ref & { readonly __extra?: Extra };

/**
 * A supervisor's record of one child, and the child's link to it: the
 * child's exit comes back here. A temporary child keeps no start arguments,
 * as in OTP, since it is never started again.
 */
class Child implements Link {
  /** The running incarnation; undefined while stopped on purpose or being restarted. */
  ref: Ref | undefined = undefined;
  restarts = 0;
  // Not a field of every child: a connection_sup of 10,000 children would
  // pay a slot each for the rare one that is restarted.
  declare restartHistory: RestartRecord[] | undefined;

  constructor(
    private readonly sup: Process<SupState>,
    readonly id: string,
    readonly spec: ChildSpec<unknown[]>,
    readonly extra: readonly unknown[],
  ) {}

  get parent(): Ref {
    return this.sup.self;
  }

  get name(): string {
    return this.id;
  }

  onExit(reason: ExitReason, self: Ref): void {
    childExited(this.sup, this, self, reason);
  }

  restarting(reason: ExitReason): void {
    this.restarts++;
    this.restartHistory = withRestart(this.restartHistory, reason);
  }
}

const NO_ARGUMENTS: readonly unknown[] = [];

interface SupState {
  readonly flags: Required<SupFlags>;
  readonly specs: readonly ChildSpec<unknown[]>[];
  /** In start order: a restarted child keeps its place. */
  readonly children: Map<string, Child>;
  /** When the recent restarts happened (ms), at most intensity + 1 of them. */
  restartTimes: number[];
  nextId: number;
  restartQueue: Promise<void>;
}

export async function startLink<Args>(link: Link, module: SupervisorModule<Args>, args: Args): Promise<Ref> {
  const { flags, children } = module.init(args);
  const proc = await Process.spawn(link, behaviour(flags, children as readonly ChildSpec<unknown[]>[]), undefined);
  return proc.self;
}

/**
 * Starts a dynamic child of a simple_one_for_one supervisor with the
 * template's extra arguments. Every failure is a rejection, never a throw:
 * callers run in uWS callbacks, where a throw would end the daemon (while
 * connection_sup restarts, for one, there is no supervisor to start under).
 */
export function startChild<Extra extends unknown[]>(supervisor: SimpleSupervisorRef<Extra>, ...extra: Extra): Promise<Ref> {
  let sup: Process<SupState>;
  try {
    sup = simpleSupervisor(supervisor);
  } catch (error) {
    return Promise.reject(error);
  }
  const spec = sup.state.specs[0]!;
  const child = new Child(sup, `${spec.id}-${++sup.state.nextId}`, spec, spec.restart === 'temporary' ? NO_ARGUMENTS : extra);
  sup.state.children.set(child.id, child);
  sup.processed++;
  return startOne(child, extra).then(
    () => child.ref!,
    (error: unknown) => {
      sup.state.children.delete(child.id);
      throw error;
    },
  );
}

/** Stops a dynamic child for good (it is not restarted, whatever its restart type). */
export async function terminateChild(supervisor: SimpleSupervisorRef<unknown[]>, child: Ref): Promise<void> {
  const sup = simpleSupervisor(supervisor);
  const entry = sup.state.children.get(nameOf(child));
  if (!entry || entry.ref !== child) return;
  sup.state.children.delete(entry.id);
  await stopChild(entry);
}

export interface ChildInfo {
  readonly id: string;
  readonly ref: Ref | undefined;
  readonly type: 'worker' | 'supervisor';
  readonly restarts: number;
}

export function whichChildren(supervisor: Ref): ChildInfo[] {
  return [...supervisorOf(supervisor).state.children.values()].map((child) => ({
    id: child.id,
    ref: child.ref,
    type: child.spec.type ?? 'worker',
    restarts: child.restarts,
  }));
}

export function countChildren(supervisor: Ref): { specs: number; active: number; supervisors: number; workers: number } {
  const { state } = supervisorOf(supervisor);
  const children = [...state.children.values()];
  const supervisors = children.filter((child) => child.spec.type === 'supervisor').length;
  return {
    specs: state.specs.length,
    active: children.filter((child) => child.ref !== undefined).length,
    supervisors,
    workers: children.length - supervisors,
  };
}

function behaviour(flags: SupFlags, specs: readonly ChildSpec<unknown[]>[]): Behaviour<SupState> {
  const state: SupState = {
    flags: { intensity: 1, period: 5, ...flags },
    specs,
    children: new Map(),
    restartTimes: [],
    nextId: 0,
    restartQueue: Promise.resolve(),
  };
  return {
    kind: 'supervisor',
    name: 'supervisor',
    async init(proc) {
      proc.state = state;
      if (flags.strategy === 'simple_one_for_one') return;
      for (const spec of specs) {
        const child = new Child(proc, spec.id, spec, NO_ARGUMENTS);
        state.children.set(spec.id, child);
        await startOne(child); // a failure fails init, which stops the children started so far
      }
    },
    handle(proc, message) {
      log.warn({ actor: proc.path, message: describeMessage(message) }, `${proc.path} is a supervisor and takes no messages`);
    },
    shutdownChildren: (proc) => shutdownChildren(proc),
    terminate() {},
    info: () => ({ children: state.children.size, intensity: state.flags.intensity, period: state.flags.period }),
    strategy: () => state.flags.strategy,
  };
}

async function startOne(child: Child, extra = child.extra): Promise<void> {
  child.ref = await child.spec.start(child, ...extra);
}

/** A child's link fired: decide, as OTP does, whether and what to restart. */
function childExited(sup: Process<SupState>, child: Child, ref: Ref, reason: ExitReason): void {
  // Not ours to handle: the supervisor is going down, or stopped this child on purpose.
  if (sup.status === 'exiting' || child.ref !== ref) return;
  sup.processed++;
  child.ref = undefined;
  const restart = child.spec.restart ?? 'permanent';
  if (restart === 'temporary' || (restart === 'transient' && isOrderlyExit(reason))) {
    sup.state.children.delete(child.id);
    return;
  }
  sup.state.restartQueue = sup.state.restartQueue.then(() => restartAfter(sup, child, reason));
}

async function restartAfter(sup: Process<SupState>, failed: Child, reason: ExitReason): Promise<void> {
  if (sup.status === 'exiting') return;
  if (!withinIntensity(sup.state)) {
    giveUpReport(sup.path, sup.state.flags.intensity, sup.state.flags.period);
    void sup.shutdown({ shutdown: 'reached_max_restart_intensity' }, 'infinity');
    return;
  }
  const again = childrenToRestart(sup.state, failed);
  for (const sibling of again.filter((child) => child !== failed).reverse()) await stopChild(sibling);
  for (const child of again) {
    child.restarting(child === failed ? reason : 'shutdown');
    try {
      await startOne(child);
      const behaviour = Process.of(child.ref!)?.behaviour.name ?? child.id;
      restartReport(`${sup.path}/${child.id}`, behaviour, child === failed ? reason : 'shutdown', child.restarts);
    } catch (error) {
      // A child that cannot start again counts as another failure, until the intensity gives up.
      log.error({ actor: `${sup.path}/${child.id}`, err: error }, `${sup.path}/${child.id} failed to restart`);
      return restartAfter(sup, child, error as Error);
    }
  }
}

/** The failed child and the siblings its strategy takes down with it, in start order. */
function childrenToRestart(state: SupState, failed: Child): Child[] {
  const children = [...state.children.values()];
  switch (state.flags.strategy) {
    case 'one_for_one':
    case 'simple_one_for_one':
      return [failed];
    case 'one_for_all':
      return children;
    case 'rest_for_one':
      return children.slice(children.indexOf(failed));
  }
}

function withinIntensity(state: SupState): boolean {
  const now = Date.now();
  const { intensity, period } = state.flags;
  state.restartTimes = [...state.restartTimes.filter((time) => now - time < period * 1000), now];
  return state.restartTimes.length <= intensity;
}

/** Stops a child on purpose: its exit is then not a reason to restart anything. */
async function stopChild(child: Child): Promise<void> {
  const ref = child.ref;
  child.ref = undefined;
  const proc = ref && Process.of(ref);
  if (proc) await proc.shutdown('shutdown', child.spec.shutdown ?? (child.spec.type === 'supervisor' ? 'infinity' : 5_000));
}

/**
 * Children stop in reverse start order, each waited for. A simple_one_for_one
 * supervisor's children are alike and independent, so they all stop at once,
 * as in OTP, instead of one connection waiting for the next.
 */
async function shutdownChildren(sup: Process<SupState>): Promise<void> {
  const children = [...sup.state.children.values()].reverse();
  if (sup.state.flags.strategy === 'simple_one_for_one') await Promise.all(children.map(stopChild));
  else for (const child of children) await stopChild(child);
  // A child still in its init has no ref yet; it is in the actor tree all the same.
  await Promise.all(childProcesses(sup).map((child) => child.shutdown('shutdown')));
}

function supervisorOf(ref: Ref): Process<SupState> {
  const proc = Process.of(ref);
  if (!proc || proc.behaviour.kind !== 'supervisor') throw new Error(`${String(proc?.path ?? 'that actor')} is not a running supervisor`);
  return proc as Process<SupState>;
}

function simpleSupervisor(ref: Ref): Process<SupState> {
  const sup = supervisorOf(ref);
  if (sup.state.flags.strategy !== 'simple_one_for_one') throw new Error(`${sup.path} is ${sup.state.flags.strategy}, not simple_one_for_one`);
  return sup;
}

function nameOf(ref: Ref): string {
  return (ref as unknown as { name: string }).name;
}
