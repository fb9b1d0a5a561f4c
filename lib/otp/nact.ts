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
import { Actor } from 'nact/lib/actor';
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

/**
 * What the process engine runs for each message (lib/otp/process.ts): it
 * returns the new state, or a promise of it when the handler awaits.
 */
export type ActorFunction<S> = (state: S, message: unknown) => S | Promise<S>;

/** The fields of nact's Actor that the scheduler below reads and writes. */
interface ScheduledFields {
  busy: boolean;
  stopped: boolean;
  state: unknown;
  immediate: NodeJS.Immediate | undefined;
  readonly f: ActorFunction<unknown>;
  readonly mailbox: { shift(): { message: unknown; sender: unknown } | undefined };
  handleMessage(message: unknown, sender: unknown): void;
  handleFault(message: unknown, sender: unknown, error: unknown): void;
  processNext(): void;
  setTimeout(): void;
}

/**
 * Messages one actor handles in a row before it lets the event loop run
 * (sockets, timers, other actors): BEAM's reductions, counted in messages.
 * A `setImmediate` per slice instead of per message; 64 messages of the
 * hot path take well under a millisecond, so a busy actor (the broker at a
 * burst of `say`s, the relay at a burst of batches) does not hold the
 * sockets' I/O back for long.
 */
export const MESSAGES_PER_SLICE = 64;

/**
 * nact runs every message in a `setImmediate` of its own, and builds a
 * context for it (a copy of the actor's children map) behind two awaits:
 * about 4 µs of overhead per message, four times per `say` (DESIGN.md,
 * "The hot path"). Warren's actors run on this scheduler instead: one
 * `setImmediate` per slice of up to MESSAGES_PER_SLICE messages, handled
 * one after the other in it while each handler returns synchronously, with
 * no context (the process engine takes the state and the message only).
 * What nact promises is kept: one message at a time, in mailbox order; a
 * handler that returns a promise holds the mailbox until it settles; a
 * throw or a rejection goes to the actor's `onCrash` through nact's own
 * handleFault; a stopped actor handles nothing more.
 */
class ScheduledActor extends (Actor as unknown as new () => ScheduledFields) {
  override handleMessage(message: unknown, sender: unknown): void {
    this.busy = true;
    this.immediate = setImmediate(runSlice, this, message, sender);
  }
}

function runSlice(actor: ScheduledFields, message: unknown, sender: unknown): void {
  for (let budget = MESSAGES_PER_SLICE; ; ) {
    let next: unknown;
    try {
      next = actor.f(actor.state, message);
    } catch (error) {
      return actor.handleFault(message, sender, error);
    }
    if (next instanceof Promise) {
      next.then(
        (state: unknown) => {
          actor.state = state;
          actor.processNext();
        },
        (error: unknown) => actor.handleFault(message, sender, error),
      );
      return;
    }
    actor.state = next;
    if (actor.stopped) return;
    const queued = actor.mailbox.shift();
    if (queued === undefined) {
      actor.busy = false;
      // nact keeps the Immediate that ran the slice for as long as the
      // actor lives (88 bytes, twice per socket); the next message sets its own.
      actor.immediate = undefined;
      actor.setTimeout();
      return;
    }
    if (--budget === 0) return actor.handleMessage(queued.message, queued.sender);
    ({ message, sender } = queued);
  }
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

export function spawn<S>(parent: Ref, f: ActorFunction<S>, name: string, properties: object): Ref {
  const parentActor = findActor(parent);
  if (parentActor?.children === NO_CHILDREN) {
    parentActor.children = new Map();
    parentActor.childReferences = new Map();
  }
  const ref = nact.spawn(parent as never, f as never, name, properties as never) as Ref;
  const actor = findActor(ref)!;
  // Its class's methods are nact's but for the scheduler: no memory per actor.
  Object.setPrototypeOf(actor, ScheduledActor.prototype);
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
