/**
 * Positions (PROTOCOL.md "Positions, history and recovery"): where a message
 * sits in the log, as every node reads it.
 *
 *   pos = logPosition:16 hex digits  "-"  check:7 base-36 digits
 *
 * The log position is the stream offset of the message's batch times
 * MAX_BATCH_MESSAGES plus its index in the batch: the same on every node,
 * growing in the log's order (offsets may skip, never go back), fixed width
 * so that positions also sort as strings.
 *
 * The node that accepts a message cannot know its offset: RabbitMQ assigns
 * it when the batch is stored. So it writes a placeholder of zeros where the
 * digits go, and each reading node writes them into the batch's own bytes,
 * in place, before the frame goes to anyone (no copy of the frame, no JSON).
 *
 * The check is a hash of the msgId, which is unique across nodes and runs.
 * Offsets start over in a recreated stream and in every run of the
 * in-process broker, so the same number names other messages there; a
 * position is only taken to name a kept message when its check matches
 * that message's too, and otherwise the client gets `recovered: false`,
 * never somebody else's messages.
 */

/** The most messages one batch may hold: the index takes the low 12 bits of a position. */
export const MAX_BATCH_MESSAGES = 4096;

/** The digits the reading node writes over the placeholder. */
export const POSITION_DIGITS = 16;
const CHECK_DIGITS = 7;
const PLACEHOLDER_DIGITS = '0'.repeat(POSITION_DIGITS);
/** Our own format; other positions are valid input that matches nothing. */
const OWN_POSITION = /^([0-9a-f]{16})-[0-9a-z]{7}$/;

export function logPosition(offset: number, index: number): number {
  return offset * MAX_BATCH_MESSAGES + index;
}

/** What the accepting node puts in a frame's `pos`. */
export function positionPlaceholder(msgId: string): string {
  return `${PLACEHOLDER_DIGITS}-${check(msgId)}`;
}

/** Writes `position`'s digits over the placeholder whose first digit is at `at` in `frame`. */
export function writePosition(frame: Buffer, at: number, position: number): void {
  frame.write(position.toString(16).padStart(POSITION_DIGITS, '0'), at, POSITION_DIGITS, 'latin1');
}

/** A frame's `pos`, as written there (the digits start at `at`): what a client would send back as `since`. */
export function positionAt(frame: Buffer, at: number): string {
  return frame.toString('latin1', at, at + POSITION_DIGITS + 1 + CHECK_DIGITS);
}

/** The log position a client's `since` names, if it is one of ours. */
export function parsePosition(pos: string): number | undefined {
  const match = OWN_POSITION.exec(pos);
  return match ? Number.parseInt(match[1]!, 16) : undefined;
}

/** FNV-1a, 32 bits: cheap, and spread enough to tell two msgIds apart. */
function check(msgId: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < msgId.length; i++) hash = Math.imul(hash ^ msgId.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(36).padStart(CHECK_DIGITS, '0');
}
