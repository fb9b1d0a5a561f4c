// Where a websocket's token travels (PROTOCOL.md "Authentication and
// access"), read from the upgrade request, and which subprotocol the server
// selects in its answer.
//
// Browsers cannot set headers on a websocket, so they offer the token as a
// subprotocol beside `warren.v2`, as Phoenix 1.8 does; the server selects
// `warren.v2` only. Echoing the whole offer back would both leak the token
// into the response and make the browser drop the socket, since it must
// refuse a selected protocol it did not offer as one item.

/** The protocol the server selects when offered. */
export const SUBPROTOCOL = 'warren.v2';
export const BEARER_PROTOCOL_PREFIX = 'warren.bearer.';
const BEARER_SCHEME = /^Bearer +(\S+) *$/i;

export interface UpgradeCredentials {
  /** `Sec-WebSocket-Protocol` as sent: a comma-separated list, '' when absent (uWS's getHeader). */
  readonly protocols: string;
  readonly authorization: string;
  /** The raw query string, for `?token=`. */
  readonly query: string;
}

export type TokenOffer =
  | { readonly token: string }
  /** No token anywhere, or only one where this node does not take it. */
  | { readonly missing: string };

/**
 * The first token in the order subprotocol, `Authorization: Bearer`, then
 * `?token=` (only with auth.allowQueryToken: URLs end up in proxies' logs).
 */
export function offeredToken(request: UpgradeCredentials, allowQueryToken: boolean): TokenOffer {
  const bearer = offeredProtocols(request.protocols).find((protocol) => protocol.startsWith(BEARER_PROTOCOL_PREFIX));
  if (bearer !== undefined && bearer.length > BEARER_PROTOCOL_PREFIX.length) return { token: bearer.slice(BEARER_PROTOCOL_PREFIX.length) };
  const header = BEARER_SCHEME.exec(request.authorization);
  if (header) return { token: header[1]! };
  const query = request.query.includes('token=') ? new URLSearchParams(request.query).get('token') : null;
  if (!query) return { missing: 'token missing' };
  return allowQueryToken ? { token: query } : { missing: 'token in the URL not accepted: send it as a subprotocol' };
}

/** `warren.v2` when the client offered it, else none: the server never echoes an offer it did not choose. */
export function selectedProtocol(protocols: string): string {
  return offeredProtocols(protocols).includes(SUBPROTOCOL) ? SUBPROTOCOL : '';
}

// An absent header ('') splits into [''], which is neither protocol.
function offeredProtocols(header: string): string[] {
  return header.split(',').map((protocol) => protocol.trim());
}
