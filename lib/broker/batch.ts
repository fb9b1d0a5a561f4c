/**
 * The AMQP message warren publishes: a batch of chat messages, each already
 * encoded as the websocket frame every client will receive.
 *
 *   batch  = record*
 *   record = roomLength:u8  room:ascii  frameLength:u32be  frame:utf8
 *
 * The node that accepts a message encodes its frame once for the whole
 * cluster; a receiving node only slices the buffer, and the consumers hand
 * those slices to uWebSockets.js as they are. No JSON is parsed or built per
 * delivery (DESIGN.md, "The hot path"). Room names are at most 64 ASCII
 * characters (PROTOCOL.md), so one byte holds their length.
 */
export const BATCH_CONTENT_TYPE = 'application/vnd.warren.batch.v1';

export interface Delivery {
  readonly room: string;
  /** The text frame, as UTF-8 bytes: a view into the batch, not a copy. */
  readonly frame: Buffer;
}

export function encodeBatch(messages: ReadonlyArray<{ readonly room: string; readonly frame: string }>): Buffer {
  let size = 0;
  for (const { room, frame } of messages) size += 1 + room.length + 4 + Buffer.byteLength(frame);
  const batch = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const { room, frame } of messages) {
    offset = batch.writeUInt8(room.length, offset);
    offset += batch.write(room, offset, 'latin1');
    const frameStart = offset + 4;
    const frameLength = batch.write(frame, frameStart, 'utf8');
    batch.writeUInt32BE(frameLength, offset);
    offset = frameStart + frameLength;
  }
  return batch;
}

/** Throws `RangeError` on a batch that is cut short or malformed. */
export function decodeBatch(batch: Buffer): Delivery[] {
  const deliveries: Delivery[] = [];
  let offset = 0;
  while (offset < batch.length) {
    const roomEnd = offset + 1 + batch.readUInt8(offset);
    const frameLength = batch.readUInt32BE(roomEnd);
    const frameEnd = roomEnd + 4 + frameLength;
    if (frameEnd > batch.length) throw new RangeError(`batch cut short: a frame of ${frameLength} bytes at offset ${roomEnd}`);
    deliveries.push({ room: batch.toString('latin1', offset + 1, roomEnd), frame: batch.subarray(roomEnd + 4, frameEnd) });
    offset = frameEnd;
  }
  return deliveries;
}
