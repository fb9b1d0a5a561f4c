/**
 * `npm run bench:history`: what the rooms' history costs in memory per kept
 * message, against what its byte budget counts (lib/history/room_history.ts).
 * Fills 1,000 rooms with 100 typical message frames each and compares the
 * heap (after a full GC) before and after; then the same for 100,000 keys of
 * 40 characters in the duplicate window (lib/history/duplicate_window.ts).
 */
import { DuplicateWindow } from '../lib/history/duplicate_window';
import { messageBytes, RoomHistory } from '../lib/history/room_history';
import { encodeMessage } from '../lib/protocol/server_frames';

const ROOMS = 1_000;
const PER_ROOM = 100;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:history does)');

function heapBytes(): number {
  gc!();
  gc!();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

// Fresh strings per message, as the relay decodes each frame from its batch.
const frameOf = (n: number) =>
  Buffer.from(encodeMessage({ room: `room-${n % ROOMS}`, msgId: `host-1a2b3c4d-${n.toString(36)}`, pos: `1a2b3c4d:${n.toString(36)}`, from: 'alice', user: 'anon:5b0c6d1e-0000-4000-8000-000000000000', text: 'hello there, how is it going today?', ts: Date.now() })).toString();

/** The heap `fill` leaves behind, with what it filled still alive (a GC would take it otherwise). */
function heapOf<T>(fill: () => T): { used: number; filled: T } {
  const before = heapBytes();
  const filled = fill();
  return { used: heapBytes() - before, filled };
}

// Positions as a stream's: offset * 4096 + index, far past the small integers V8 packs tighter.
const FIRST_POSITION = 1_000_000 * 4096;
const { used, filled: history } = heapOf(() => {
  const history = new RoomHistory({ size: PER_ROOM, ttlMs: 3_600_000, maxBytes: 1 << 30 });
  for (let n = 0; n < ROOMS * PER_ROOM; n++) history.append(`room-${n % ROOMS}`, frameOf(n), Date.now(), FIRST_POSITION + n);
  return history;
});
const { messages, bytes } = history.stats();
const frameBytes = bytes - messages * messageBytes('');
console.log(
  `${messages} messages in ${ROOMS} rooms: frames ${(frameBytes / messages).toFixed(0)} B each; ` +
    `heap ${(used / messages).toFixed(0)} B per message; the budget counts ${(bytes / messages).toFixed(0)} B (${((100 * bytes) / used).toFixed(0)}% of the heap)`,
);

// Keys of 40 characters, flat as the ones decoded from the log are.
const keyOf = (n: number) => Buffer.from(`c-${(n * 7919).toString(36).padStart(16, '0')}/s-${n.toString(36).padStart(19, '0')}`).toString();
const KEYS = 100_000;
const { used: windowUsed, filled: window } = heapOf(() => {
  const window = new DuplicateWindow({ size: PER_ROOM, ttlMs: 3_600_000 });
  const at = Date.now();
  for (let n = 0; n < KEYS; n++) window.admit(`room-${n % ROOMS}`, keyOf(n), at, `host-1a2b3c4d-${n.toString(36)}`);
  return window;
});
const { keys, rooms } = window.stats();
console.log(`${keys} keys of ${keyOf(0).length} characters in ${rooms} rooms: heap ${(windowUsed / keys).toFixed(0)} B per key`);
