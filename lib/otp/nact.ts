/**
 * The one module that knows nact's internals (nact 7.6.2, pinned exactly).
 *
 * nact keeps an `Actor` object per actor, reachable from the system by
 * walking `children` maps along a path. The OTP layer needs things nact does
 * not export: the actor's mailbox length (for /debug/tree), its children (to
 * stop them deepest first, since nact's own `stop` only detaches them) and
 * its state (our process record). Everything else goes through nact's API.
 */
import * as nact from 'nact';
import * as systemMap from 'nact/lib/system-map';

export type Ref = nact.Ref<unknown>;

export interface NactActor {
  readonly name: string;
  readonly path: { parts: readonly string[] };
  children: ReadonlyMap<string, NactActor>;
  childReferences: ReadonlyMap<string, Ref>;
  /** The Immediate of the message being handled or next to handle. */
  immediate: unknown;
  readonly mailbox: { readonly length: number; toArray(): Array<{ message: unknown; sender: unknown }> };
  readonly stopped: boolean;
  readonly reference: Ref;
  readonly state: unknown;
  dispatch(message: unknown, sender: unknown): void;
}

interface NactSystem {
  readonly children: ReadonlyMap<string, NactActor>;
}

/** A sender for plain sends: nact would allocate a `Nobody` per dispatch. */
const NOBODY = new nact.Nobody();

export function findActor(ref: Ref): NactActor | undefined {
  const found = systemMap.find(systemName(ref), ref) as NactActor | NactSystem | undefined;
  return found && 'mailbox' in found && !found.stopped ? found : undefined;
}

/** Top-level actors of the system `ref` belongs to, by name. */
export function topLevelActors(ref: Ref): ReadonlyMap<string, NactActor> {
  const system = systemMap.find(systemName(ref)) as NactSystem | undefined;
  return system?.children ?? new Map();
}

/**
 * nact gives every actor two Maps for its children, about 380 bytes even
 * when empty, and a connection has two actors per socket. Until an actor
 * spawns a child it shares one empty map instead, and gets its own just
 * before its first child (spawning is the only way nact adds to them).
 * nact also builds each actor's path by spreading its parent's, which
 * leaves room for some 20 parts; an exact copy saves about 150 bytes.
 */
class NoChildren extends Map<string, never> {
  override set(): never {
    throw new Error('an actor without children of its own was given one: spawn through lib/otp/nact');
  }
}
const NO_CHILDREN: ReadonlyMap<string, never> = new NoChildren();

export function spawn(parent: Ref, f: unknown, name: string, properties: object): Ref {
  const parentActor = findActor(parent);
  if (parentActor?.children === NO_CHILDREN) {
    parentActor.children = new Map();
    parentActor.childReferences = new Map();
  }
  const ref = nact.spawn(parent as never, f as never, name, properties as never) as Ref;
  const actor = findActor(ref)!;
  actor.children = NO_CHILDREN;
  actor.childReferences = NO_CHILDREN;
  actor.path.parts = actor.path.parts.slice(); // the same ActorPath is the ref's: both see the copy
  return ref;
}

/** Delivers `message` without nact's per-dispatch allocations; false when nobody is there. */
export function deliver(ref: Ref, message: unknown): boolean {
  const actor = findActor(ref);
  if (!actor) return false;
  actor.dispatch(message, NOBODY);
  return true;
}

export function pathOf(ref: Ref): string {
  const { parts } = (ref as unknown as { path: { parts: readonly string[] } }).path;
  return '/' + parts.join('/');
}

function systemName(ref: Ref): string {
  return (ref as unknown as { system: { name: string } }).system.name;
}

export const { stop, dispatch, query, start } = nact;
