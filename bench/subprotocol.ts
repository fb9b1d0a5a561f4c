/**
 * The subprotocols of PROTOCOL.md ("Authentication and access"), as the
 * bench's clients offer them. The server side is the daemon's own
 * lib/http/credentials.ts, which imports nothing, so the bare uWS baseline
 * selects exactly as warren does and stays bare.
 */
import { BEARER_PROTOCOL_PREFIX, SUBPROTOCOL } from '../lib/http/credentials';

export { SUBPROTOCOL, selectedProtocol } from '../lib/http/credentials';

/** What a client with this token offers in Sec-WebSocket-Protocol: `ws` checks that the server selects one of these. */
export function offeredProtocols(token: string): string[] {
  return [SUBPROTOCOL, BEARER_PROTOCOL_PREFIX + token];
}
