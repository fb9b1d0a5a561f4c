/**
 * A gen_server standing in for a consumer, a connection or the relay in
 * actor specs: it records every cast and info message it gets, and
 * answers calls with what `answer` returns (calls are not recorded).
 */
import { type GenServer, type ServerRef, noreply, reply, startLink } from '../../lib/otp/gen_server';
import type { Link } from '../../lib/otp/process';

export type Recorded = { readonly type: string; readonly [field: string]: unknown };

type Answer = (request: Recorded) => unknown;

interface State {
  readonly log: Recorded[];
  readonly answer: Answer;
}

export const recorder: GenServer<State, State, Recorded, Recorded, unknown, Recorded> = {
  behaviour: 'recorder',
  init: (state) => state,
  handleCall: (request, _from, state) => reply(state.answer(request), state),
  handleCast: (message, state) => noreply(record(state, message)),
  handleInfo: (message, state) => noreply(record(state, message)),
};

function record(state: State, message: Recorded): State {
  state.log.push(message);
  return state;
}

export async function startRecorder(link: Link, answer: Answer = () => undefined): Promise<{ ref: ServerRef<never, Recorded>; log: Recorded[] }> {
  const log: Recorded[] = [];
  return { ref: (await startLink(link, recorder, { log, answer })) as ServerRef<never, Recorded>, log };
}
