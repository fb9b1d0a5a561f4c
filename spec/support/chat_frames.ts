// Chat messages as the broker process makes them, for specs that build
// batches by hand: a real `message` frame with a position placeholder.
import type { Message } from '../../lib/broker/batch';
import { positionPlaceholder } from '../../lib/broker/position';
import { encodeMessage } from '../../lib/protocol/server_frames';

let made = 0;

export interface ChatMessageOptions {
  readonly msgId?: string;
  readonly key?: string;
  readonly at?: number;
  readonly from?: string;
}

export function chatMessage(room: string, text: string, options: ChatMessageOptions = {}): Message {
  const msgId = options.msgId ?? `spec-${process.pid}-${made++}`;
  const at = options.at ?? Date.now();
  const from = options.from ?? 'spec';
  const frame = encodeMessage({ room, msgId, pos: positionPlaceholder(msgId), from, user: `anon:${from}`, text, ts: at });
  return { room, frame, key: options.key, at };
}

/** The fields of a frame as delivered: a view into a batch, or a string. */
export function parseFrame(frame: string | Uint8Array): Record<string, unknown> {
  return JSON.parse(typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8')) as Record<string, unknown>;
}
