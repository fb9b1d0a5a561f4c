/**
 * The subprotocols of PROTOCOL.md ("Authentication and access"): a client
 * offers `warren.v2`, with a token also `warren.bearer.<JWT>`, and the server
 * selects `warren.v2`. Without imports: the bare uWS baseline loads it, and
 * must stay bare.
 */

export const SUBPROTOCOL = 'warren.v2';
export const BEARER_PREFIX = 'warren.bearer.';

/**
 * What a client with this token offers in Sec-WebSocket-Protocol, `warren.v2`
 * first: `ws` checks that the server selects one of these, and uWS, handed
 * the whole header, selects the first.
 */
export function offeredProtocols(token: string): string[] {
  return [SUBPROTOCOL, BEARER_PREFIX + token];
}

/** What a server selects from a client's offer: `warren.v2` when offered, else none (''). */
export function selectedProtocol(offer: string): string {
  return offer.split(',').some((protocol) => protocol.trim() === SUBPROTOCOL) ? SUBPROTOCOL : '';
}
