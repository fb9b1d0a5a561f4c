import { start, stop } from 'nact';
import type { ExitReason } from '../../lib/otp/exit_reason';
import type { Link, Ref } from '../../lib/otp/process';

/** A fresh nact system per spec, and links to hang processes under its root. */
export function useSystem(): { link(name: string, onExit?: (reason: ExitReason) => void): Link; readonly ref: Ref } {
  let system: Ref | undefined;
  beforeEach(() => {
    system = start() as Ref;
  });
  afterEach(() => {
    stop(system as never);
  });
  return {
    get ref() {
      return system!;
    },
    link: (name, onExit = () => undefined) => ({ parent: system!, name, restarts: 0, onExit }),
  };
}
