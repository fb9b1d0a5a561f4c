// Client to server (PROTOCOL.md): decodes one text frame into a command, or
// into the error frame that answers it.
//
// Unknown extra fields are ignored, so that a newer client can add a field
// without breaking an older daemon (forward compatibility).
import type { ErrorCode } from './errors';
import { hasMoreCodePointsThan, isClientId, isPosition, isRoomName, MAX_ID_CHARS, POSITION_RULE, ROOM_NAME_RULE } from './fields';
import type { ErrorFrame } from './server_frames';

export interface SayFrame {
  readonly type: 'say';
  readonly text: string;
  /** undefined: the default room (the room given at connect, or `lobby`). */
  readonly room?: string;
  readonly id?: string;
  /** The plain-text shortcut: no `id`, the default room, answered by no `ack` (errors still are). */
  readonly shortcut: boolean;
}

export interface JoinFrame {
  readonly type: 'join';
  readonly room: string;
  readonly id?: string;
  /** The position the client last saw in the room: recover what it missed since. */
  readonly since?: string;
  /** Also replay the room's last `history` messages (PROTOCOL.md: 0–100); 0 when absent. */
  readonly history: number;
  /** Also receive the room's presence: a `presence` frame after the replay, then `presence_diff`s. */
  readonly presence: boolean;
}
export interface LeaveFrame { readonly type: 'leave'; readonly room: string; readonly id?: string }
/** Who is in a joined room now. */
export interface PresenceFrame { readonly type: 'presence'; readonly room: string; readonly id?: string }
export interface PingFrame { readonly type: 'ping'; readonly id?: string }
/** A new token for the connection before its own expires; verified by the connection, not here. */
export interface RefreshFrame { readonly type: 'refresh'; readonly token: string; readonly id?: string }

export type ClientFrame = SayFrame | JoinFrame | LeaveFrame | PresenceFrame | PingFrame | RefreshFrame;

/** A dropped frame, as the `error` frame that answers it: `id` is the frame's, when it carried a valid one. */
export type FrameError = ErrorFrame;

export interface FrameLimits { readonly maxTextChars: number }

type Command = { readonly type: string; readonly [field: string]: unknown };

export function decodeClientFrame(text: string, limits: FrameLimits): ClientFrame | FrameError {
  const command = parseCommand(text);
  return command === undefined ? decodeShortcut(text, limits) : decodeCommand(command, limits);
}

// Only text whose first non-blank character is `{` can be a JSON object, so
// ordinary chat text sent as the shortcut never pays for a throwing JSON.parse,
// and text that passes and parses is an object.
const OPENS_OBJECT = /^[ \t\n\r]*\{/;

function parseCommand(text: string): Command | undefined {
  if (!OPENS_OBJECT.test(text)) return undefined;
  let object: { readonly [field: string]: unknown };
  try {
    object = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof object['type'] === 'string' ? (object as Command) : undefined;
}

function decodeShortcut(text: string, limits: FrameLimits): SayFrame | FrameError {
  return checkText(text, limits, undefined) ?? { type: 'say', text, room: undefined, id: undefined, shortcut: true };
}

function decodeCommand(command: Command, limits: FrameLimits): ClientFrame | FrameError {
  // The id is checked first: an invalid one is not echoed, a valid one is,
  // whatever else is wrong with the frame.
  const id = command['id'];
  if (id !== undefined && !isClientId(id)) return fieldError('id', id, `a string of 1 to ${MAX_ID_CHARS} characters`, undefined);
  switch (command.type) {
    case 'say':
      return decodeSay(command, id, limits);
    case 'join':
      return decodeJoin(command, id);
    case 'leave':
    case 'presence': {
      const room = command['room'];
      if (typeof room !== 'string' || !isRoomName(room)) return roomError(room, id);
      return { type: command.type, room, id };
    }
    case 'ping':
      return { type: 'ping', id };
    case 'refresh': {
      const token = command['token'];
      if (typeof token !== 'string' || token.length === 0) return fieldError('token', token, 'a JSON Web Token', id);
      return { type: 'refresh', token, id };
    }
    default:
      return frameError('bad_request', 'type: expected say, join, leave, presence, ping or refresh', id);
  }
}

/** PROTOCOL.md: `join` asks for at most 100 messages of history. */
export const MAX_HISTORY = 100;

function decodeJoin(command: Command, id: string | undefined): JoinFrame | FrameError {
  const room = command['room'];
  if (typeof room !== 'string' || !isRoomName(room)) return roomError(room, id);
  const since = command['since'];
  if (since !== undefined && !isPosition(since)) return fieldError('since', since, `a position (${POSITION_RULE})`, id);
  const history = command['history'] === undefined ? 0 : command['history'];
  if (!Number.isInteger(history) || (history as number) < 0 || (history as number) > MAX_HISTORY) {
    return fieldError('history', history, `an integer from 0 to ${MAX_HISTORY}`, id);
  }
  const presence = command['presence'] === undefined ? false : command['presence'];
  if (typeof presence !== 'boolean') return fieldError('presence', presence, 'true or false', id);
  return { type: 'join', room, id, since, history: history as number, presence };
}

function decodeSay(command: Command, id: string | undefined, limits: FrameLimits): SayFrame | FrameError {
  const text = command['text'];
  if (typeof text !== 'string') return fieldError('text', text, 'a string', id);
  const textError = checkText(text, limits, id);
  if (textError) return textError;
  const room = command['room'];
  if (room !== undefined && (typeof room !== 'string' || !isRoomName(room))) return roomError(room, id);
  return { type: 'say', text, room, id, shortcut: false };
}

function checkText(text: string, limits: FrameLimits, id: string | undefined): FrameError | undefined {
  const max = limits.maxTextChars;
  if (text.length === 0) return frameError('bad_request', `text: expected 1 to ${max} characters, got none`, id);
  if (hasMoreCodePointsThan(text, max)) return frameError('too_large', `text: longer than ${max} characters`, id);
  return undefined;
}

function roomError(room: unknown, id: string | undefined): FrameError {
  return fieldError('room', room, `a room name (${ROOM_NAME_RULE})`, id);
}

// The offending value is not echoed: it may be large, and the client has it.
function fieldError(field: string, value: unknown, expected: string, id: string | undefined): FrameError {
  return frameError('bad_request', value === undefined ? `${field}: missing` : `${field}: expected ${expected}`, id);
}

function frameError(code: ErrorCode, message: string, id: string | undefined): FrameError {
  return { type: 'error', code, message, id };
}
