import { expect } from 'chai';
import { type GenServer, cast, noreply, startLink } from '../../lib/otp/gen_server';
import { type Down, demonitor, monitor } from '../../lib/otp/monitor';
import { type Exit, Process, type Ref, linkTo } from '../../lib/otp/process';
import { reports } from '../../lib/otp/reports';
import { whereis } from '../../lib/otp/sys';
import { eventually } from '../support/eventually';
import { type ProbeRef, startProbe } from '../support/probe';
import { useSystem } from '../support/system';

/** A gen_server that only collects the DOWN and EXIT messages it gets. */
const watcher: GenServer<{ seen: Array<Down | Exit> }, { seen: Array<Down | Exit> }, never, never, never, Down | Exit> = {
  behaviour: 'watcher',
  init: (args) => args,
  handleInfo(message, state) {
    state.seen.push(message);
    return noreply(state);
  },
};

describe('monitors and links', () => {
  const system = useSystem();
  let seen: Array<Down | Exit>;
  let watcherRef: Ref;
  beforeEach(async () => {
    seen = [];
    watcherRef = await startLink(system.link('watcher'), watcher, { seen });
  });

  it('delivers DOWN with the crash reason when a monitored process crashes', async () => {
    const target = await startProbe(system.link('target'), { id: 'target', journal: [] });
    const ref = monitor(watcherRef, target);
    cast(target, { type: 'crash' });
    await eventually(() => expect(seen).to.have.length(1));
    const down = seen[0] as Down;
    expect(down.type).to.equal('DOWN');
    expect(down.monitor).to.equal(ref);
    expect(down.process).to.equal(target);
    expect(String(down.reason)).to.equal('Error: target crashed on purpose');
  });

  it('delivers DOWN with normal, or shutdown, for an orderly end', async () => {
    const first = await startProbe(system.link('first'), { id: 'first', journal: [] });
    const second = await startProbe(system.link('second'), { id: 'second', journal: [] });
    monitor(watcherRef, first);
    monitor(watcherRef, second);
    cast(first, { type: 'stop', reason: 'normal' });
    await eventually(() => expect(seen).to.have.length(1));
    await Process.of(second)!.shutdown('shutdown');
    await eventually(() => expect(seen.map((m) => m.reason)).to.deep.equal(['normal', 'shutdown']));
  });

  it('delivers DOWN noproc at once for a process that is already gone', async () => {
    const target = await startProbe(system.link('late'), { id: 'late', journal: [] });
    await Process.of(target)!.shutdown('shutdown');
    monitor(watcherRef, target);
    await eventually(() => expect(seen.map((m) => m.reason)).to.deep.equal(['noproc']));
  });

  it('delivers nothing after demonitor', async () => {
    const target = await startProbe(system.link('quiet'), { id: 'quiet', journal: [] });
    demonitor(monitor(watcherRef, target));
    await Process.of(target)!.shutdown('shutdown');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).to.be.empty;
  });

  it('delivers DOWN to every monitor of a process, and none to a demonitored one, however often demonitored', async () => {
    const target = await startProbe(system.link('watched'), { id: 'watched', journal: [] });
    const first = monitor(watcherRef, target);
    const second = monitor(watcherRef, target);
    const third = monitor(watcherRef, target);
    demonitor(second);
    demonitor(second);
    await Process.of(target)!.shutdown('shutdown');
    await eventually(() => expect(seen.map((message) => (message as Down).monitor)).to.deep.equal([first, third]));
  });

  it('lets a monitor be removed after its DOWN', async () => {
    const target = await startProbe(system.link('done'), { id: 'done', journal: [] });
    const ref = monitor(watcherRef, target);
    await Process.of(target)!.shutdown('shutdown');
    await eventually(() => expect(seen).to.have.length(1));
    expect(() => demonitor(ref)).not.to.throw();
    const late = monitor(watcherRef, target);
    await eventually(() => expect(seen.map((m) => m.reason)).to.deep.equal(['shutdown', 'noproc']));
    expect(() => demonitor(late), 'nor after a noproc DOWN').not.to.throw();
  });

  it('tells the process that linked a child of its exit, as an EXIT message', async () => {
    const child = await startProbe(linkTo(watcherRef, 'child'), { id: 'child', journal: [] });
    cast(child, { type: 'crash' });
    await eventually(() => expect(seen).to.have.length(1));
    expect(seen[0]).to.include({ type: 'EXIT', from: child });
  });

  it('sends no EXIT to a parent killed with its children: no dead letter', async () => {
    const letters: string[] = [];
    const onDeadLetter = (path: string) => void letters.push(path);
    reports.on('dead_letter', onDeadLetter);
    try {
      const child = Process.of(await startProbe(linkTo(watcherRef, 'child'), { id: 'child', journal: [] }))!;
      expect(await Process.of(watcherRef)!.shutdown('shutdown', 'brutal_kill')).to.equal('killed');
      expect(await child.exited()).to.equal('killed');
      expect(letters).to.be.empty;
    } finally {
      reports.off('dead_letter', onDeadLetter);
    }
  });

  it('takes linked children down with their parent, deepest first, each through terminate', async () => {
    const journal: string[] = [];
    const exits: unknown[] = [];
    const parent = await startProbe(system.link('parent', (reason) => exits.push(reason)), {
      id: 'parent',
      journal,
      onInit: async (self) => {
        await startProbe(linkTo(self, 'child'), {
          id: 'child',
          journal,
          onInit: async (child) => void (await startProbe(linkTo(child, 'grandchild'), { id: 'grandchild', journal })),
        });
      },
    });
    cast(parent as ProbeRef, { type: 'crash' });
    await eventually(() => expect(exits).to.have.length(1));
    expect(journal.filter((line) => line.startsWith('terminate'))).to.deep.equal([
      'terminate:grandchild:shutdown',
      'terminate:child:shutdown',
      'terminate:parent:Error: parent crashed on purpose',
    ]);
    expect(whereis(system.ref, '/parent/child/grandchild')).to.equal(undefined);
  });
});
