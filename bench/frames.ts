/**
 * The protocol subset the load generator speaks, written and read without a
 * JSON round trip: a client receives N×M frames, so reading one must cost
 * tens of nanoseconds, not a parse (nor even a native Buffer call, which
 * costs about 100 ns to cross into C++).
 *
 * Every `text` ends with its send time, in microseconds on the load
 * generator's clock, as 16 digits: `xxxx… <send time>`. At the end, because
 * a message frame ends with `<text>","ts":<13 digits>}` (PROTOCOL.md's key
 * order, kept by the daemon's encoder and the baseline): the send time sits
 * at a fixed distance from the end, found without a search.
 */
import { performance } from 'node:perf_hooks';

const TIME_DIGITS = 16;

/**
 * Microseconds on one clock shared by every thread of the load generator:
 * timeOrigin + now() is the wall clock at thread start advanced by the
 * monotonic clock, so worker threads agree with the main thread.
 */
export function nowUs(): number {
  return Math.round((TIME_ORIGIN + performance.now()) * 1000);
}

const TIME_ORIGIN = performance.timeOrigin;

/** A `say` frame whose text is `payload` characters, ending with `sentUs`. */
export function sayFrame(sentUs: number, id: string, padding: string): string {
  return `{"type":"say","text":"${padding} ${String(sentUs).padStart(TIME_DIGITS, '0')}","id":"${id}"}`;
}

/** What precedes the send time so that the text has `payload` characters. */
export function paddingFor(payload: number): string {
  return 'x'.repeat(Math.max(0, payload - TIME_DIGITS - 1));
}

// Server frames start with `{"type":"` and the type.
const TYPE_AT = '{"type":"'.length;
const MESSAGE_PREFIX = [...Buffer.from('{"type":"message"')];
// `","ts":` between the text's closing quote and ts, then 13 digits and `}`.
const TS_KEY = [...Buffer.from('","ts":')];
const TS_DIGITS = 13;
const FROM_END = TS_KEY.length + TS_DIGITS + 1;
const DIGIT_0 = 0x30;

export const FRAME_MESSAGE = 0x6d; // m
export const FRAME_ACK = 0x61; // a
export const FRAME_ERROR = 0x65; // e
export const FRAME_WELCOME = 0x77; // w

/** The first letter of the frame's type: enough to tell the frames a bench client gets apart. */
export function frameKind(frame: Buffer): number {
  return frame[TYPE_AT] ?? 0;
}

/**
 * The send time at the end of a `message` frame's text, or NaN when the
 * frame is not a live message or does not end as expected.
 */
export function sentUsOf(frame: Buffer): number {
  return textNumberOf(frame, frame.length - FROM_END);
}

// A replay is the same frame with `,"replay":true` before its closing brace.
const REPLAY_FIELD = [...Buffer.from(',"replay":true}')];

/** The 16 digits at the end of a replayed `message` frame's text, or NaN when the frame is not a replay. */
export function replayedNumberOf(frame: Buffer): number {
  const field = frame.length - REPLAY_FIELD.length;
  for (let i = 0; i < REPLAY_FIELD.length; i++) if (frame[field + i] !== REPLAY_FIELD[i]) return NaN;
  return textNumberOf(frame, field + 1 - FROM_END);
}

/** The 16 digits before `","ts":` at `tsKey`, in a frame that starts as a message. */
function textNumberOf(frame: Buffer, tsKey: number): number {
  if (tsKey < MESSAGE_PREFIX.length + TIME_DIGITS) return NaN;
  for (let i = 0; i < MESSAGE_PREFIX.length; i++) if (frame[i] !== MESSAGE_PREFIX[i]) return NaN;
  for (let i = 0; i < TS_KEY.length; i++) if (frame[tsKey + i] !== TS_KEY[i]) return NaN;
  let us = 0;
  for (let i = tsKey - TIME_DIGITS; i < tsKey; i++) {
    const digit = frame[i]! - DIGIT_0;
    if (digit < 0 || digit > 9) return NaN;
    us = us * 10 + digit;
  }
  return us;
}
