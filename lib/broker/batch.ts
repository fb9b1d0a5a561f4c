/**
 * The AMQP message warren publishes: a batch of chat messages, each already
 * encoded as the websocket frame every client will receive.
 *
 *   batch  = record*
 *   record = roomLength:u8 room:ascii  keyLength:u16be key:utf8  at:u48be
 *            posAt:u16be  frameLength:u32be frame:utf8
 *
 * The node that accepts a message encodes its frame once for the whole
 * cluster; a receiving node only slices the buffer (and writes the
 * message's position into it, lib/broker/position.ts), and the consumers
 * hand those slices to uWebSockets.js as they are. No JSON is parsed or
 * built per delivery (DESIGN.md, "The hot path"). Beside the frame, each
 * record carries what every node needs to decide the same thing about the
 * message without parsing it: its idempotency key (empty when the `say` had
 * no id), its `ts`, and where in the frame the position goes. Room names are
 * at most 64 ASCII characters (PROTOCOL.md), so one byte holds their length.
 */
import { POSITION_DIGITS } from './position';

export const BATCH_CONTENT_TYPE = 'application/vnd.warren.batch.v2';

export interface Message {
  readonly room: string;
  /** A `message` frame whose `pos` is a placeholder (position.ts). */
  readonly frame: string;
  /** Resends with the same key are delivered once (PROTOCOL.md "Idempotent resends"). */
  readonly key: string | undefined;
  /** The frame's `ts`: when the accepting node took the message. */
  readonly at: number;
}

export interface Delivery {
  readonly room: string;
  /** The text frame, as UTF-8 bytes: a view into the batch, not a copy. */
  readonly frame: Buffer;
  readonly key: string | undefined;
  readonly at: number;
  /** Where the position's digits go in `frame`. */
  readonly posAt: number;
}

// As bytes: a string needle would be encoded again at every search.
const POS_FIELD = Buffer.from('"pos":"');
const MSG_ID_FIELD = Buffer.from('"msgId":"');
const MSG_ID_END = '","pos":"'.length;
const HEADER_BYTES = 1 + 2 + 6 + 2 + 4; // every fixed-size field of a record
// The most UTF-8 bytes one UTF-16 code unit takes (a lone surrogate: 3).
const MAX_BYTES_PER_UNIT = 3;

/** The msgId of a delivered frame: encodeMessage writes it just before `pos`. */
export function msgIdOf({ frame, posAt }: Delivery): string {
  const end = posAt - MSG_ID_END;
  return frame.toString('utf8', frame.lastIndexOf(MSG_ID_FIELD, end) + MSG_ID_FIELD.length, end);
}

/**
 * Where batches are written: kept, so that the worst case is not allocated
 * per batch; a larger batch gets a buffer of its own.
 */
const SCRATCH_BYTES = 1 << 20;
let scratch: Buffer | undefined;

export function encodeBatch(messages: readonly Message[]): Buffer {
  // Written into a buffer sized for the worst case, then copied out at its
  // exact size (the in-process log keeps batches for an hour): measuring
  // each string's UTF-8 length first would read every frame twice.
  let worstCase = 0;
  for (const { room, frame, key } of messages) worstCase += HEADER_BYTES + room.length + MAX_BYTES_PER_UNIT * ((key?.length ?? 0) + frame.length);
  const batch = worstCase > SCRATCH_BYTES ? Buffer.allocUnsafe(worstCase) : (scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES));
  let offset = 0;
  for (const { room, frame, key, at } of messages) {
    offset = batch.writeUInt8(room.length, offset);
    offset += batch.write(room, offset, 'latin1');
    const keyLength = key === undefined ? 0 : batch.write(key, offset + 2, 'utf8');
    offset = batch.writeUInt16BE(keyLength, offset) + keyLength;
    offset = batch.writeUIntBE(at, offset, 6);
    const frameStart = offset + 2 + 4;
    const frameEnd = frameStart + batch.write(frame, frameStart, 'utf8');
    // Found in the bytes, not in the string: a room or name of other
    // characters would make the two offsets differ. Text cannot hold the
    // field's unescaped quotes, so the first match is the field.
    const field = batch.subarray(frameStart, frameEnd).indexOf(POS_FIELD);
    if (field < 0) throw new Error('encodeBatch: a frame without "pos"');
    batch.writeUInt16BE(field + POS_FIELD.length, offset);
    batch.writeUInt32BE(frameEnd - frameStart, offset + 2);
    offset = frameEnd;
  }
  return Buffer.from(batch.subarray(0, offset));
}

/** Throws `RangeError` on a batch that is cut short or malformed. */
export function decodeBatch(batch: Buffer): Delivery[] {
  const deliveries: Delivery[] = [];
  let offset = 0;
  while (offset < batch.length) {
    const roomEnd = offset + 1 + batch.readUInt8(offset);
    const keyEnd = roomEnd + 2 + batch.readUInt16BE(roomEnd);
    const at = batch.readUIntBE(keyEnd, 6);
    const posAt = batch.readUInt16BE(keyEnd + 6);
    const frameLength = batch.readUInt32BE(keyEnd + 8);
    const frameStart = keyEnd + 12;
    const frameEnd = frameStart + frameLength;
    if (frameEnd > batch.length) throw new RangeError(`batch cut short: a frame of ${frameLength} bytes at offset ${frameStart}`);
    // The reader writes the position there: never past its own frame.
    if (posAt + POSITION_DIGITS > frameLength) throw new RangeError(`batch malformed: a position at ${posAt} in a frame of ${frameLength} bytes`);
    deliveries.push({
      room: batch.toString('latin1', offset + 1, roomEnd),
      frame: batch.subarray(frameStart, frameEnd),
      key: keyEnd === roomEnd + 2 ? undefined : batch.toString('utf8', roomEnd + 2, keyEnd),
      at,
      posAt,
    });
    offset = frameEnd;
  }
  return deliveries;
}
