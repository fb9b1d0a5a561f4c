/**
 * consumer: one per connection, the gen_bunny consumer of the original
 * design. The relay hands it batches of frames for its socket; it writes
 * each batch inside one cork, never into a closed socket, and lets the
 * socket close a client that stopped reading (1013) rather than buffer
 * without limit. It holds no state worth keeping (how far it wrote each
 * room is kept with the socket), so its connection simply restarts it
 * after a crash and the socket stays open.
 */
import type { ClientSocket } from '../client_socket';
import { deliveries, dropped } from '../metrics';
import { type GenServer, type Result, type ServerRef, noreply, reply } from '../otp/gen_server';

/**
 * Frames as the relay has them: views into a batch, or strings (replays
 * from the history); `push`: presence's frames, written alike but not chat
 * messages, so not counted as deliveries. A delivery of a room says how far
 * into the room it brings the socket (`pos`: its last message's, or after a
 * join the room's newest), so that a consumer's successor resumes there.
 */
export type ConsumerCast =
  | { readonly type: 'deliver'; readonly frames: readonly (string | Uint8Array)[]; readonly room?: string; readonly pos?: string }
  | { readonly type: 'push'; readonly frames: readonly (string | Uint8Array)[] };
/**
 * Answered after everything the consumer was sent before it, so a caller
 * knows those frames are written: a barrier, as a call to any Erlang
 * process is.
 */
export type ConsumerCall = { readonly type: 'sync' };
export type ConsumerRef = ServerRef<ConsumerCall, ConsumerCast, 'synced'>;

interface State {
  readonly socket: ClientSocket;
  delivered: number;
  dropped: number;
}

/** Started with the socket it writes to. */
export const consumer: GenServer<ClientSocket, State, ConsumerCall, ConsumerCast, 'synced'> = {
  behaviour: 'consumer',
  init: (socket) => ({ socket, delivered: 0, dropped: 0 }),
  handleCall: (_sync, _from, state) => reply('synced', state),
  handleCast: (cast, state) => (cast.type === 'deliver' ? handleMessage(cast, state) : push(cast.frames, state)),
  formatStatus: (state) => ({ delivered: state.delivered, dropped: state.dropped, buffered: state.socket.buffered }),
};

function push(frames: ConsumerCast['frames'], state: State): Result<State> {
  state.socket.write(frames);
  return noreply(state);
}

/** gen_bunny's handle_message: one batch of deliveries for this socket. */
function handleMessage({ frames, room, pos }: Extract<ConsumerCast, { type: 'deliver' }>, state: State): Result<State> {
  const written = state.socket.write(frames);
  if (room !== undefined && pos !== undefined) state.socket.reached(room, pos);
  state.delivered += written;
  deliveries.inc(written);
  if (written < frames.length) {
    state.dropped += frames.length - written;
    dropped.inc(frames.length - written);
  }
  return noreply(state);
}
