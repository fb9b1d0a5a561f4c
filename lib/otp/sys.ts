/**
 * Introspection, as `sys` and observer give it in Erlang: every answer is
 * read from the live nact actor tree and the process records it holds, never
 * from a registry of its own that could drift from the real tree.
 */
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
