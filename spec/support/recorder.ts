/**
 * A gen_server standing in for a consumer or a connection in actor specs:
 * it records every cast and info message it gets.
 */
import { type GenServer, type ServerRef, noreply, startLink } from '../../lib/otp/gen_server';
import type { Link } from '../../lib/otp/process';

export type Recorded = { readonly type: string; readonly [field: string]: unknown };

export const recorder: GenServer<Recorded[], Recorded[], never, Recorded, never, Recorded> = {
  behaviour: 'recorder',
  init: (log) => log,
  handleCast: (message, log) => noreply(record(log, message)),
  handleInfo: (message, log) => noreply(record(log, message)),
};

function record(log: Recorded[], message: Recorded): Recorded[] {
  log.push(message);
  return log;
}

export async function startRecorder(link: Link): Promise<{ ref: ServerRef<never, Recorded>; log: Recorded[] }> {
  const log: Recorded[] = [];
  return { ref: await startLink(link, recorder, log), log };
}
