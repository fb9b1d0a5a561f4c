// nact has no public API to walk the actor tree or to read an actor's
// mailbox; LIBRARIES.md documents these internals (nact 7.6.2, pinned).
// Only lib/otp/nact.ts may import them.
declare module 'nact/lib/system-map' {
  export function find(systemName: string, reference?: unknown): unknown;
}
declare module 'nact/lib/actor' {
  /** nact's actor class; lib/otp/nact.ts describes the fields it uses. */
  export const Actor: unknown;
}
