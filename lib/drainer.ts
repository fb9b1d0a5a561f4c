/**
 * SIGTERM's staged close (PROTOCOL.md "Closing"), after Phoenix's socket
 * drainer: the connections are told to drain in batches spread over the
 * drain window, so that their clients reconnect to other nodes gradually
 * instead of all in the same second. A connection told to drain answers
 * its pending says, then closes with 1001; those not told yet keep chatting.
 */
import { log } from './log';
import { cast } from './otp/gen_server';
import type { Ref } from './otp/process';
import { countChildren, whichChildren } from './otp/supervisor';

/** One batch per tick: ten a second is smooth enough for a reconnecting crowd, and costs nothing. */
export const DRAIN_TICK_MS = 100;

/**
 * How many of `count` connections each tick of a `windowMs` window tells:
 * as even as whole numbers allow, the larger batches first, and never an
 * empty one (none at all for no connections: zero ticks).
 */
export function drainBatches(count: number, windowMs: number): number[] {
  const ticks = Math.min(count, Math.max(1, Math.floor(windowMs / DRAIN_TICK_MS)));
  const size = Math.floor(count / ticks);
  const larger = count % ticks;
  return Array.from({ length: ticks }, (_, tick) => (tick < larger ? size + 1 : size));
}

/** Drains every child of connection_sup over `windowMs`; resolves once all are gone, or at `deadline` (epoch ms). */
export async function drainConnections(connectionSup: Ref, windowMs: number, deadline: number): Promise<void> {
  const connections = whichChildren(connectionSup).flatMap(({ ref }) => (ref ? [ref as Ref] : []));
  const batches = drainBatches(connections.length, windowMs);
  log.info({ connections: connections.length, batches: batches.length, windowMs }, `draining ${connections.length} connections`);
  const start = Date.now();
  let told = 0;
  for (const [tick, size] of batches.entries()) {
    // Each batch at its own time from the start: waits in a row would drift past the window.
    await sleep(start + tick * DRAIN_TICK_MS - Date.now());
    for (const ref of connections.slice(told, (told += size))) cast(ref, { type: 'drain' });
  }
  while (countChildren(connectionSup).active > 0 && Date.now() < deadline) await sleep(20);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
