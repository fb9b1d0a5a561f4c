import { expect } from 'chai';
import type { ExitReason } from '../../lib/otp/exit_reason';
import { type GenServer, type ServerRef, cast, startLink } from '../../lib/otp/gen_server';
import { Process } from '../../lib/otp/process';
import { startLink as startSupervisor, whichChildren } from '../../lib/otp/supervisor';
import { eventually } from '../support/eventually';
import { captureLogs, type CapturedLogs } from '../support/logs';
import { useSystem } from '../support/system';

/** A worker that crashes on any cast, with the terminate a spec gives it. */
const worker = (terminate: () => Promise<void>): GenServer<void, void, never, 'crash'> => ({
  behaviour: 'worker',
  init: () => undefined,
  handleCast() {
    throw new Error('crashed on purpose');
  },
  terminate,
});

const throwing = worker(async () => {
  throw new Error('terminate broke');
});

describe('process: the end every behaviour shares', () => {
  const system = useSystem();
  let logs: CapturedLogs;
  beforeEach(() => (logs = captureLogs('error')));
  afterEach(() => logs.restore());

  describe('a terminate that throws', () => {
    it('is logged, and the crashed process still exits: its link gets the crash reason', async () => {
      const exits: ExitReason[] = [];
      const ref: ServerRef<never, 'crash'> = await startLink(system.link('w', (reason) => exits.push(reason)), throwing, undefined);
      cast(ref, 'crash');
      await eventually(() => expect(exits.map(String)).to.deep.equal(['Error: crashed on purpose']));
      expect(logs.messages()).to.include('/w failed in terminate');
      expect(Process.of(ref)).to.equal(undefined);
    });

    it('is logged, and a shutdown still ends with its reason', async () => {
      const exits: ExitReason[] = [];
      const ref = await startLink(system.link('w', (reason) => exits.push(reason)), throwing, undefined);
      expect(await Process.of(ref)!.shutdown('shutdown')).to.equal('shutdown');
      expect(exits).to.deep.equal(['shutdown']);
      expect(logs.messages()).to.deep.equal(['/w failed in terminate']);
    });

    it('does not keep its supervisor from restarting it', async () => {
      const sup = await startSupervisor(system.link('sup'), {
        init: () => ({ flags: { strategy: 'one_for_one' as const }, children: [{ id: 'w', start: (link) => startLink(link, throwing, undefined) }] }),
      }, undefined);
      cast(whichChildren(sup)[0]!.ref as ServerRef<never, 'crash'>, 'crash');
      await eventually(() => expect(whichChildren(sup).map((child) => [child.restarts, child.ref !== undefined])).to.deep.equal([[1, true]]));
      expect(logs.messages()).to.include('/sup/w failed in terminate');
    });
  });

  it('gives a crashed process 5 s to terminate: one whose terminate never settles still exits then', async function () {
    this.timeout(15_000);
    const exits: ExitReason[] = [];
    const ref = await startLink(system.link('stuck', (reason) => exits.push(reason)), worker(() => new Promise<void>(() => undefined)), undefined);
    const crashed = Date.now();
    cast(ref, 'crash');
    await eventually(() => expect(exits.map(String)).to.deep.equal(['Error: crashed on purpose']), 10_000);
    expect(Date.now() - crashed, 'terminate had its 5 s').to.be.at.least(4_900);
    expect(logs.messages()).to.include('/stuck crashed: Error: crashed on purpose');
    expect(Process.of(ref)).to.equal(undefined);
  });
});
