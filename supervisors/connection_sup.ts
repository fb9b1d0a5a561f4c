/**
 * connection_sup: one connection process per websocket.
 *
 * simple_one_for_one, because every child is alike and started on demand by
 * the listener. Children are temporary: a connection that ends (the client
 * left) or crashes (its socket is then closed with 1011) is not restarted,
 * since its socket is gone or unusable; the client reconnects. The intensity
 * therefore never trips on connection crashes, however many there are.
 */
import { type ConnectionArgs, connection } from '../lib/actors/connection';
import { startLink } from '../lib/otp/gen_server';
import type { SimpleSupervisorRef, SupervisorModule } from '../lib/otp/supervisor';

/** What the listener hands over for each accepted websocket. */
export type Accepted = Pick<ConnectionArgs, 'socket' | 'name' | 'room' | 'since' | 'client' | 'identity'>;

/** Shared by every connection of this node. */
export type ConnectionSupArgs = Omit<ConnectionArgs, keyof Accepted>;

export type ConnectionSupRef = SimpleSupervisorRef<[Accepted]>;

export const connectionSup: SupervisorModule<ConnectionSupArgs> = {
  init: (shared) => ({
    flags: { strategy: 'simple_one_for_one' },
    children: [
      {
        id: 'connection',
        restart: 'temporary',
        // A literal, not `{ ...shared, ...accepted }`: V8 gave every spread
        // copy a hidden class of its own, about 300 bytes per socket.
        start: (link, { socket, name, room, since, client, identity }: Accepted) =>
          startLink(link, connection, {
            nodeId: shared.nodeId, relay: shared.relay, broker: shared.broker, presence: shared.presence, limits: shared.limits, auth: shared.auth,
            socket, name, room, since, client, identity,
          }),
      },
    ],
  }),
};
