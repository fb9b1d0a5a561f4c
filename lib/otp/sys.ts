/**
 * Introspection, as `sys` and observer give it in Erlang: every answer is
 * read from the live nact actor tree and the process records it holds, never
 * from a registry of its own that could drift from the real tree.
 */
import { MonitorRef } from './monitor';
import * as nact from './nact';
import { Process, type Ref } from './process';

/** One actor, exactly as `/debug/tree` shows it (PROTOCOL.md). */
export interface ActorInfo {
  readonly name: string;
  readonly path: string;
  readonly kind: 'worker' | 'supervisor';
  readonly behaviour: string;
  readonly strategy?: string;
  readonly mailbox: number;
  readonly processed: number;
  readonly restarts: number;
  readonly info: Record<string, unknown>;
  readonly children: ActorInfo[];
}

export function describeTree(root: Ref): ActorInfo | undefined {
  const actor = nact.findActor(root);
  return actor && describe(actor);
}

function describe(actor: nact.NactActor): ActorInfo {
  const proc = actor.state as Process;
  const { behaviour } = proc;
  const children: ActorInfo[] = [];
  for (const child of actor.children.values()) if (child.state instanceof Process) children.push(describe(child));
  return {
    name: actor.name,
    path: proc.path,
    kind: behaviour.kind,
    behaviour: behaviour.name,
    ...(behaviour.strategy && { strategy: behaviour.strategy(proc) }),
    mailbox: actor.mailbox.length,
    processed: proc.processed,
    restarts: proc.link.restarts,
    // A process still in its init has no state yet (a restart under way).
    info: proc.initialized ? behaviour.info(proc) : {},
    children,
  };
}

/**
 * Visits every process below and including `root`, depth first, children in
 * start order (the order of /debug/tree), with its mailbox length. Builds
 * nothing per process: /debug/top and the rate sampler walk 20,000 of them.
 */
export function walk(root: Ref, visit: (proc: Process, mailbox: number) => void): void {
  const actor = nact.findActor(root);
  if (actor?.state instanceof Process) visitActor(actor, visit);
}

function visitActor(actor: nact.NactActor, visit: (proc: Process, mailbox: number) => void): void {
  visit(actor.state as Process, actor.mailbox.length);
  for (const child of actor.children.values()) if (child.state instanceof Process) visitActor(child, visit);
}

/** The path of a process, as /debug/tree shows it (`/warren_sup/relay`). */
export const pathOf = nact.pathOf;

/** How many children the process at `ref` has in the actor tree (a supervisor's include one still in its init). */
export function childCount(ref: Ref): number {
  return nact.findActor(ref)?.children.size ?? 0;
}

/** Messages waiting for the process at `ref`; 0 when there is none. */
export function mailboxOf(ref: Ref): number {
  return nact.findActor(ref)?.mailbox.length ?? 0;
}

/** The process at `path` (`/warren_sup/relay`) in the system `anyRef` belongs to. */
export function whereis(anyRef: Ref, path: string): Process | undefined {
  const [top, ...rest] = path.split('/').filter((part) => part !== '');
  let actor = top === undefined ? undefined : nact.topLevelActors(anyRef).get(top);
  for (const part of rest) actor = actor?.children.get(part);
  return actor?.state instanceof Process ? actor.state : undefined;
}

/**
 * The ref of `parent`'s child called `name`, like a registered name: refs
 * are paths, so it stays valid across the child's restarts.
 */
export function childRef(parent: Ref, name: string): Ref | undefined {
  return nact.findActor(parent)?.children.get(name)?.reference;
}

/** The behaviour state of a process (`sys:get_state/1`), for specs and debugging. */
export function getState<S>(ref: Ref): S | undefined {
  return Process.of(ref)?.state as S | undefined;
}

/** Messages per second over the sampler's last interval (lib/otp/top.ts), to one decimal. */
export function rateOf(proc: Process, intervalMs: number): number {
  return intervalMs > 0 ? Math.round((proc.handledInInterval * 10_000) / intervalMs) / 10 : 0;
}

/** One process in full, as `erlang:process_info/1` and observer's process window show it (/debug/actor). */
export interface ProcessInfo {
  readonly path: string;
  readonly name: string;
  readonly kind: 'worker' | 'supervisor';
  readonly behaviour: string;
  readonly strategy?: string;
  readonly status: Process['status'];
  readonly mailbox: number;
  readonly processed: number;
  readonly rate: number;
  readonly restarts: number;
  readonly info: Record<string, unknown>;
  readonly links: { readonly parent: string | null; readonly children: string[]; readonly childCount: number };
  readonly monitors: { readonly monitoring: string[]; readonly monitoringCount: number; readonly monitoredBy: string[]; readonly monitoredByCount: number };
  readonly restartHistory: Array<{ readonly at: string; readonly reason: string }>;
}

/** The relay monitors every consumer: lists stop here, counts do not. */
export const LISTED_MAX = 100;

export function processInfo(anyRef: Ref, path: string, intervalMs: number): ProcessInfo | undefined {
  const proc = whereis(anyRef, path);
  const actor = proc && nact.findActor(proc.self);
  if (!proc || !actor) return undefined;
  const { behaviour } = proc;
  const children = [...actor.children.keys()];
  const monitoring = watchedBy(anyRef, proc.self);
  const watchers = proc.exitListeners.filter((listener) => listener instanceof MonitorRef).map((monitor) => nact.pathOf(monitor.watcher));
  return {
    path: proc.path,
    name: proc.link.name,
    kind: behaviour.kind,
    behaviour: behaviour.name,
    ...(behaviour.strategy && { strategy: behaviour.strategy(proc) }),
    status: proc.status,
    mailbox: actor.mailbox.length,
    processed: proc.processed,
    rate: rateOf(proc, intervalMs),
    restarts: proc.link.restarts,
    info: proc.initialized ? behaviour.info(proc) : {},
    links: {
      parent: Process.of(proc.link.parent)?.path ?? null,
      children: children.slice(0, LISTED_MAX).map((name) => `${proc.path}/${name}`),
      childCount: children.length,
    },
    monitors: {
      monitoring: monitoring.slice(0, LISTED_MAX),
      monitoringCount: monitoring.length,
      monitoredBy: watchers.slice(0, LISTED_MAX),
      monitoredByCount: watchers.length,
    },
    restartHistory: (proc.link.restartHistory ?? []).map(({ at, reason }) => ({ at: new Date(at).toISOString(), reason })),
  };
}

/**
 * The processes `watcher` monitors. A monitor is kept by the watched
 * process only (it is who tells), so this looks through every process of
 * the system: fine for one detail page, not for a hot path.
 */
function watchedBy(anyRef: Ref, watcher: Ref): string[] {
  const watched: string[] = [];
  for (const top of nact.topLevelActors(anyRef).values()) {
    if (!(top.state instanceof Process)) continue;
    walk(top.reference, (proc) => {
      for (const listener of proc.exitListeners) if (listener instanceof MonitorRef && listener.watcher === watcher) watched.push(proc.path);
    });
  }
  return watched;
}
