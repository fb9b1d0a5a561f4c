// The one catalogue of protocol codes (PROTOCOL.md "Errors" and "Closing"),
// as Fastify keeps its errors in one errors.js: every error frame and every
// close the daemon sends takes its code from here.

/** The `code` of an `error` frame, with the message sent when no more specific one is given. */
export const ERROR_MESSAGES = {
  bad_request: 'bad request: unknown type, missing or mistyped field, or bad room name',
  too_large: 'text is too long',
  not_joined: 'join the room before saying something in it',
  too_many_rooms: 'too many rooms joined: leave one first',
  forbidden: 'the token does not grant this room',
  unauthorized: 'the token is invalid or expired: the old one still counts',
  rate_limited: 'too many frames: slow down',
  unavailable: 'the message was not delivered (broker unavailable): send it again',
} as const;

export type ErrorCode = keyof typeof ERROR_MESSAGES;

/**
 * Why the daemon closes a websocket, with the code and reason it sends.
 * A close reason must fit in 123 bytes of UTF-8 (RFC 6455 5.5: a control
 * frame payload is at most 125 bytes, 2 of them the code); keep them short.
 */
export const CLOSE = {
  normal: { code: 1000, reason: 'bye' },
  shutdown: { code: 1001, reason: 'server shutting down' },
  binaryFrame: { code: 1003, reason: 'binary frames are not accepted' },
  rateLimit: { code: 1008, reason: 'rate limit exceeded' },
  tooBig: { code: 1009, reason: 'frame too large' },
  // Standard code for "the server hit an unexpected condition": sent when a
  // connection actor crashes and its socket cannot be kept.
  internalError: { code: 1011, reason: 'internal error' },
  slowClient: { code: 1013, reason: 'client too slow: send buffer full' },
  // Private-use codes (RFC 6455 7.4.2), as PROTOCOL.md defines them: a
  // browser cannot read the HTTP status of a refused handshake, but it can
  // read a close code. The reason says which check failed (never the token).
  unauthenticated: { code: 4001, reason: 'token missing' },
  tokenExpired: { code: 4001, reason: 'token expired' },
  roomForbidden: { code: 4003, reason: 'the token does not grant the connect room' },
  otherUser: { code: 4003, reason: 'the refresh named another user' },
} as const satisfies Record<string, { code: number; reason: string }>;

export type CloseReason = keyof typeof CLOSE;
