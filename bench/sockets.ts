/** Opening and closing a thread's many client sockets (storm_group.ts, presence_group.ts). */
import WebSocket from 'ws';
import { CONNECTS_IN_FLIGHT } from './options';

// How long a close waits for the server's answer before it terminates the socket.
const CLOSE_WAIT_MS = 5_000;

/** Opens every item in order, at most CONNECTS_IN_FLIGHT at a time; `open` resolves once one is open. */
export async function openAll<T>(items: readonly T[], open: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const opener = async () => {
    for (let i = next++; i < items.length; i = next++) await open(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONNECTS_IN_FLIGHT, items.length) }, opener));
}

/** Closes the sockets still open, waiting a little for the server to answer. */
export async function closeAll(sockets: ReadonlyArray<WebSocket | undefined>): Promise<void> {
  const open = sockets.filter((ws): ws is WebSocket => ws !== undefined && ws.readyState !== WebSocket.CLOSED);
  const closed = Promise.all(open.map((ws) => new Promise((resolve) => ws.once('close', resolve))));
  for (const ws of open) ws.close(1000);
  const timer = setTimeout(() => open.forEach((ws) => ws.terminate()), CLOSE_WAIT_MS);
  await closed;
  clearTimeout(timer);
}
