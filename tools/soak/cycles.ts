/**
 * Connect/disconnect cycles in waves, through the client library on `ws`:
 * each cycle connects, joins its room with history and presence, sometimes
 * says something, and closes; a wave is that many cycles at once, and the
 * next wave starts when every socket of the last one has closed.
 */
import { once } from 'node:events';
import WebSocket from 'ws';
import { WarrenClient } from 'warren/client';

export interface CycleOptions {
  /** The daemon's websocket URL. */
  readonly url: string;
  readonly cycles: number;
  /** Cycles at once. */
  readonly wave: number;
  /** Rooms the cycles spread over, `churn-0` ... */
  readonly rooms: number;
  /** Every `sayEvery`th cycle says `says` times before it closes. */
  readonly sayEvery: number;
  readonly says?: number;
  /** Messages of history each join asks for. */
  readonly history: number;
  /** Told after each wave: cycles done so far. */
  readonly onWave?: (done: number) => void;
}

export async function runCycles(options: CycleOptions): Promise<void> {
  for (let done = 0; done < options.cycles; ) {
    const size = Math.min(options.wave, options.cycles - done);
    await Promise.all(Array.from({ length: size }, (_, i) => cycle(options, done + i)));
    done += size;
    options.onWave?.(done);
  }
}

async function cycle({ url, rooms, sayEvery, says = 1, history }: CycleOptions, n: number): Promise<void> {
  const room = `churn-${n % rooms}`;
  let socket: WebSocket | undefined;
  const client = new WarrenClient({
    url,
    name: `cycle-${n}`,
    room,
    roomOptions: { history, presence: true },
    heartbeatMs: 0,
    WebSocket: class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols);
        socket = this;
      }
    },
  });
  // The first presence list of the room: joined, history and presence sent.
  const present = new Promise<void>((resolve) => client.on('presence', () => resolve()));
  client.connect();
  try {
    await present;
    if (n % sayEvery === 0) for (let i = 0; i < says; i++) await client.say(room, `cycle-${n}:${i}`);
  } finally {
    const closed = socket && socket.readyState !== WebSocket.CLOSED ? once(socket, 'close') : undefined;
    client.close();
    await closed;
  }
}
