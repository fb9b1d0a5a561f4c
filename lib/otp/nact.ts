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
  readonly path: { readonly parts: readonly string[] };
  readonly children: ReadonlyMap<string, NactActor>;
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

export const { spawn, stop, dispatch, query, start } = nact;
