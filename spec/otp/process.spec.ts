import { expect } from 'chai';
import { type ExitReason, formatReason } from '../../lib/otp/exit_reason';
import { type GenServer, type ServerRef, call, cast, startLink } from '../../lib/otp/gen_server';
import { Process, send } from '../../lib/otp/process';
import { startLink as startSupervisor, whichChildren } from '../../lib/otp/supervisor';
import { whereis } from '../../lib/otp/sys';
import { eventually } from '../support/eventually';
import { captureLogs, type CapturedLogs } from '../support/logs';
import { type ProbeArgs, startProbe } from '../support/probe';
import { expectRejection } from '../support/rejection';
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

/** A worker whose cast handler fails only when the spec says so, and a terminate that takes 50 ms. */
function failingLater(journal: string[] = []) {
  const failLate: Array<() => void> = [];
  const module: GenServer<void, void, never, 'work'> = {
    behaviour: 'late',
    init: () => undefined,
    handleCast: () => new Promise((_resolve, reject) => failLate.push(() => reject(new Error('failed late')))),
    terminate: async (reason) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      journal.push(`terminate:${formatReason(reason)}`);
    },
  };
  return { module, failLate: () => failLate.shift()!(), handling: () => failLate.length > 0 };
}

describe('process: the life every behaviour shares', () => {
  const system = useSystem();
  let logs: CapturedLogs;
  beforeEach(() => (logs = captureLogs('debug')));
  afterEach(() => logs.restore());
  const warnings = () => logs.lines.filter((line) => line.level >= 40).map((line) => line.msg);

  /** A probe held in its init until the spec calls finishInit. */
  async function startHeldInInit(args: Omit<ProbeArgs, 'onInit'>) {
    let finishInit!: () => void;
    const starting = startProbe(system.link(args.id), { ...args, onInit: () => new Promise<void>((resolve) => (finishInit = resolve)) });
    await eventually(() => expect(finishInit, 'init is under way').to.be.a('function'));
    return { starting, proc: whereis(system.ref, `/${args.id}`)!, finishInit };
  }

  it('is starting during its init, then running, then exiting from the moment its shutdown begins', async () => {
    const { starting, proc, finishInit } = await startHeldInInit({ id: 'p', journal: [] });
    expect(proc.status).to.equal('starting');
    finishInit();
    await starting;
    expect(proc.status).to.equal('running');
    void proc.shutdown('shutdown');
    expect(proc.status).to.equal('exiting');
  });

  it('discards what is left in the mailbox, saying how many messages at debug level', async () => {
    const ref = await startProbe(system.link('busy'), { id: 'busy', journal: [] });
    cast(ref, { type: 'crash' });
    for (const text of ['a', 'b']) cast(ref, { type: 'note', text });
    await eventually(() => expect(Process.of(ref)).to.equal(undefined));
    const quiet = await startProbe(system.link('quiet'), { id: 'quiet', journal: [] });
    await Process.of(quiet)!.shutdown('shutdown');
    expect(logs.messages().filter((message) => message.includes('unhandled'))).to.deep.equal(['/busy exited with 2 messages unhandled']);
  });

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
      expect(warnings()).to.deep.equal(['/w failed in terminate']);
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

  describe('shutdown', () => {
    it('during init handles none of the messages queued behind it, once init returns', async () => {
      const journal: string[] = [];
      const { starting, proc, finishInit } = await startHeldInInit({ id: 'p', journal, terminateMs: 50 });
      send(proc.self, { type: 'early' });
      const stopping = proc.shutdown('shutdown');
      finishInit();
      await starting;
      expect(await stopping).to.equal('shutdown');
      expect(journal).to.deep.equal(['init:p', 'terminate:p:shutdown']);
    });

    it('killed during init fails the start, saying so', async () => {
      const { starting, proc } = await startHeldInInit({ id: 'p', journal: [] });
      await proc.shutdown('shutdown', 'brutal_kill');
      await expectRejection(starting, /^\/p exited during init: killed$/);
    });

    it('lets a handler that fails after it began change nothing: one terminate, with the shutdown reason, before the exit', async () => {
      const journal: string[] = [];
      const exits: ExitReason[] = [];
      const late = failingLater(journal);
      const ref = await startLink(system.link('late', (reason) => exits.push(reason)), late.module, undefined);
      cast(ref, 'work');
      await eventually(() => expect(late.handling(), 'the message is being handled').to.equal(true));
      const stopping = Process.of(ref)!.shutdown('shutdown');
      late.failLate();
      expect(await stopping).to.equal('shutdown');
      expect(exits).to.deep.equal(['shutdown']);
      expect(journal).to.deep.equal(['terminate:shutdown']);
      expect(warnings(), 'no crash report').to.be.empty;
    });

    it('of a process whose crash is being terminated runs no second terminate and ends with the crash', async () => {
      const journal: string[] = [];
      const ref = await startProbe(system.link('p'), { id: 'p', journal, terminateMs: 50 });
      cast(ref, { type: 'crash' });
      await eventually(() => expect(Process.of(ref)!.status).to.equal('exiting'));
      expect(String(await Process.of(ref)!.shutdown('shutdown'))).to.equal('Error: p crashed on purpose');
      expect(journal).to.deep.equal(['init:p', 'terminate:p:Error: p crashed on purpose']);
    });

    it('is idempotent: a second shutdown runs no second terminate and ends with the first reason', async () => {
      const journal: string[] = [];
      const proc = Process.of(await startProbe(system.link('p'), { id: 'p', journal, terminateMs: 20 }))!;
      const first = proc.shutdown({ shutdown: 'first' });
      const second = proc.shutdown('shutdown');
      expect(await Promise.all([first, second])).to.deep.equal([{ shutdown: 'first' }, { shutdown: 'first' }]);
      expect(journal).to.deep.equal(['init:p', 'terminate:p:shutdown: first']);
    });

    it('of a process that already exited resolves at once with the reason it exited with', async function () {
      this.timeout(2_000); // the mutants this guards wait for ever
      const proc = Process.of(await startProbe(system.link('p'), { id: 'p', journal: [] }))!;
      await proc.shutdown('normal');
      expect(await proc.exited()).to.equal('normal');
      expect(await proc.shutdown('shutdown')).to.equal('normal');
    });

    it('kills a process whose terminate outlasts the shutdown time: its link gets killed, and a warning says so', async () => {
      const exits: ExitReason[] = [];
      const proc = Process.of(await startProbe(system.link('slow', (reason) => exits.push(reason)), { id: 'slow', journal: [], terminateMs: 1_000 }))!;
      expect(await proc.shutdown('shutdown', 50)).to.equal('killed');
      expect(exits).to.deep.equal(['killed']);
      expect(warnings()).to.deep.equal(['/slow did not terminate within 50 ms: killed']);
    });
  });

  it('killed in the middle of a message, lets that message fail later without an unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const late = failingLater();
      const ref = await startLink(system.link('late'), late.module, undefined);
      cast(ref, 'work');
      await eventually(() => expect(late.handling(), 'the message is being handled').to.equal(true));
      expect(await Process.of(ref)!.shutdown('shutdown', 'brutal_kill')).to.equal('killed');
      late.failLate();
      // Node reports an unhandled rejection once the microtasks of the turn that made it have run.
      for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(rejections).to.be.empty;
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('runs no terminate when init failed: there is no state to terminate', async () => {
    const journal: string[] = [];
    const refusing: GenServer<void, void> = {
      behaviour: 'refusing',
      init: () => {
        throw new Error('no');
      },
      terminate: () => void journal.push('terminate'),
    };
    await startLink(system.link('refusing'), refusing, undefined).catch(() => undefined);
    expect(journal).to.be.empty;
    expect(warnings(), 'no terminate failed for want of a state').to.deep.equal(['/refusing crashed: Error: no']);
  });

  it('reports a crash with the actor, its behaviour and the message it crashed on (init for a failed init)', async () => {
    const ref = await startProbe(system.link('p'), { id: 'p', journal: [] });
    cast(ref, { type: 'crash' });
    await eventually(() => expect(Process.of(ref)).to.equal(undefined));
    await startProbe(system.link('q'), { id: 'q', journal: [], failInit: { times: 1 } }).catch(() => undefined);
    const reports = logs.lines.filter((line) => line.msg.includes('crashed:')).map(({ actor, behaviour, message, msg }) => ({ actor, behaviour, message, msg }));
    expect(reports).to.deep.equal([
      { actor: '/p', behaviour: 'probe', message: 'crash', msg: '/p crashed: Error: p crashed on purpose' },
      { actor: '/q', behaviour: 'probe', message: 'init', msg: '/q crashed: Error: q refuses to start' },
    ]);
  });

  it('fails to start under a name its parent already has, and leaves the first process alone', async () => {
    const first = await startProbe(system.link('twin'), { id: 'first', journal: [] });
    await expectRejection(startProbe(system.link('twin'), { id: 'second', journal: [] }), /^child actor of name twin already exists$/);
    expect(await call(first, { type: 'seen' }), 'the first still answers').to.deep.equal([]);
  });
});
