import { expect } from 'chai';
import { Application } from '../../lib/otp/application';
import type { ExitReason } from '../../lib/otp/exit_reason';
import { call, cast } from '../../lib/otp/gen_server';
import { Process, type Ref, send } from '../../lib/otp/process';
import {
  type ChildSpec,
  type SimpleSupervisorRef,
  type SupFlags,
  countChildren,
  startChild,
  startLink,
  terminateChild,
  whichChildren,
} from '../../lib/otp/supervisor';
import { whereis } from '../../lib/otp/sys';
import { eventually } from '../support/eventually';
import { captureLogs } from '../support/logs';
import { type ProbeArgs, type ProbeRef, probeSpec, startProbe } from '../support/probe';
import { expectRejection } from '../support/rejection';
import { useSystem } from '../support/system';

const supervisor = (flags: SupFlags, children: ChildSpec[]) => ({ init: () => ({ flags, children }) });

describe('supervisor', () => {
  const system = useSystem();
  let journal: string[];
  beforeEach(() => (journal = []));

  const probes = (...ids: string[]) => ids.map((id) => probeSpec({ id, journal }));
  const child = (sup: Ref, id: string) => whichChildren(sup).find((c) => c.id === id)!;
  const crash = (sup: Ref, id: string) => cast(child(sup, id).ref as ProbeRef, { type: 'crash' });

  describe('strategies, with real crashing children', () => {
    it('one_for_one restarts only the child that crashed', async () => {
      const sup = await startLink(system.link('sup'), supervisor({ strategy: 'one_for_one', intensity: 5 }, probes('a', 'b', 'c')), undefined);
      journal.length = 0;
      crash(sup, 'b');
      await eventually(() => expect(journal).to.deep.equal(['terminate:b:Error: b crashed on purpose', 'init:b']));
      expect(whichChildren(sup).map((c) => [c.id, c.restarts])).to.deep.equal([['a', 0], ['b', 1], ['c', 0]]);
      expect(await call(child(sup, 'b').ref as ProbeRef, { type: 'seen' }), 'the new b answers').to.deep.equal([]);
    });

    it('one_for_all stops the others newest first, then restarts all in start order', async () => {
      const sup = await startLink(system.link('sup'), supervisor({ strategy: 'one_for_all', intensity: 5 }, probes('a', 'b', 'c')), undefined);
      journal.length = 0;
      crash(sup, 'b');
      await eventually(() =>
        expect(journal).to.deep.equal([
          'terminate:b:Error: b crashed on purpose',
          'terminate:c:shutdown',
          'terminate:a:shutdown',
          'init:a',
          'init:b',
          'init:c',
        ]),
      );
      expect(whichChildren(sup).map((c) => c.restarts)).to.deep.equal([1, 1, 1]);
    });

    it('rest_for_one restarts the crashed child and those started after it', async () => {
      const sup = await startLink(system.link('sup'), supervisor({ strategy: 'rest_for_one', intensity: 5 }, probes('a', 'b', 'c')), undefined);
      journal.length = 0;
      crash(sup, 'b');
      await eventually(() =>
        expect(journal).to.deep.equal(['terminate:b:Error: b crashed on purpose', 'terminate:c:shutdown', 'init:b', 'init:c']),
      );
      expect(whichChildren(sup).map((c) => c.restarts)).to.deep.equal([0, 1, 1]);
    });

    it('simple_one_for_one rejects, never throws, a startChild while the supervisor is down', async () => {
      const template: ChildSpec<[string]> = { id: 'worker', start: (link, id) => startProbe(link, { id, journal }) };
      const sup = (await startLink(system.link('pool'), supervisor({ strategy: 'simple_one_for_one' }, [template as ChildSpec]), undefined)) as SimpleSupervisorRef<[string]>;
      await Process.of(sup)!.shutdown('shutdown');
      let started: Promise<Ref> | undefined;
      expect(() => (started = startChild(sup, 'x'))).not.to.throw();
      try {
        await started;
        expect.fail('a child started under a stopped supervisor');
      } catch (error) {
        expect((error as Error).message).to.include('is not a running supervisor');
      }
    });

    it('simple_one_for_one starts, restarts and terminates dynamic children of one spec', async () => {
      const template: ChildSpec<[string]> = { id: 'worker', start: (link, id) => startProbe(link, { id, journal }) };
      const sup = (await startLink(system.link('pool'), supervisor({ strategy: 'simple_one_for_one', intensity: 5 }, [template as ChildSpec]), undefined)) as SimpleSupervisorRef<[string]>;
      const first = await startChild(sup, 'x');
      const second = await startChild(sup, 'y');
      expect(whichChildren(sup).map((c) => c.id)).to.deep.equal(['worker-1', 'worker-2']);
      expect(countChildren(sup)).to.deep.equal({ specs: 1, active: 2, supervisors: 0, workers: 2 });

      cast(first as ProbeRef, { type: 'crash' });
      await eventually(() => expect(journal).to.include('init:x').and.have.length(4));
      expect(child(sup, 'worker-1').restarts).to.equal(1);

      await terminateChild(sup, second);
      expect(journal.at(-1)).to.equal('terminate:y:shutdown');
      expect(whichChildren(sup).map((c) => c.id)).to.deep.equal(['worker-1']);
    });
  });

  describe('restart types', () => {
    const stopNormally = (sup: Ref, id: string) => cast(child(sup, id).ref as ProbeRef, { type: 'stop', reason: 'normal' });

    it('permanent: restarted even after a normal exit', async () => {
      const sup = await startLink(system.link('sup'), supervisor({ strategy: 'one_for_one' }, [probeSpec({ id: 'p', journal }, { restart: 'permanent' })]), undefined);
      stopNormally(sup, 'p');
      await eventually(() => expect(journal).to.deep.equal(['init:p', 'terminate:p:normal', 'init:p']));
    });

    it('transient: restarted after a crash, not after a normal exit', async () => {
      const sup = await startLink(system.link('sup'), supervisor({ strategy: 'one_for_one', intensity: 5 }, [probeSpec({ id: 't', journal }, { restart: 'transient' })]), undefined);
      crash(sup, 't');
      await eventually(() => expect(journal).to.have.length(3));
      stopNormally(sup, 't');
      await eventually(() => expect(whichChildren(sup)).to.be.empty);
      expect(journal).to.deep.equal(['init:t', 'terminate:t:Error: t crashed on purpose', 'init:t', 'terminate:t:normal']);
    });

    it('temporary: never restarted, even after a crash', async () => {
      const sup = await startLink(system.link('sup'), supervisor({ strategy: 'one_for_one' }, [probeSpec({ id: 'once', journal }, { restart: 'temporary' })]), undefined);
      crash(sup, 'once');
      await eventually(() => expect(whichChildren(sup)).to.be.empty);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(journal).to.deep.equal(['init:once', 'terminate:once:Error: once crashed on purpose']);
    });
  });

  describe('restart intensity', () => {
    it('defaults to OTP\'s 1 restart in 5 s: a second crash stops the supervisor and its children', async () => {
      const exits: ExitReason[] = [];
      const sup = await startLink(system.link('sup', (reason) => exits.push(reason)), supervisor({ strategy: 'one_for_one' }, probes('a', 'b')), undefined);
      crash(sup, 'b');
      await eventually(() => expect(child(sup, 'b').restarts).to.equal(1));
      crash(sup, 'b');
      await eventually(() => expect(exits).to.deep.equal([{ shutdown: 'reached_max_restart_intensity' }]));
      expect(journal.slice(-2)).to.deep.equal(['terminate:b:Error: b crashed on purpose', 'terminate:a:shutdown']);
      expect(Process.of(sup)).to.equal(undefined);
    });

    it('forgets restarts older than its period: a crash after the period has passed is not one too many', async () => {
      const exits: ExitReason[] = [];
      const sup = await startLink(system.link('sup', (reason) => exits.push(reason)), supervisor({ strategy: 'one_for_one', intensity: 1, period: 1 }, probes('a')), undefined);
      crash(sup, 'a');
      await eventually(() => expect(child(sup, 'a').restarts).to.equal(1));
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      crash(sup, 'a');
      await eventually(() => {
        expect(exits, 'the supervisor gave up').to.be.empty;
        expect(child(sup, 'a').restarts).to.equal(2);
      });
    });

    it('counts a restart whose init fails as another failure', async () => {
      const exits: ExitReason[] = [];
      const args: ProbeArgs = { id: 'flaky', journal, failInit: { times: 0 } };
      const sup = await startLink(system.link('sup', (reason) => exits.push(reason)), supervisor({ strategy: 'one_for_one', intensity: 2, period: 5 }, [probeSpec(args)]), undefined);
      args.failInit!.times = 2;
      crash(sup, 'flaky');
      // The restart after the crash fails, so does the retry: a second retry would be a third restart in 5 s.
      await eventually(() => expect(exits).to.deep.equal([{ shutdown: 'reached_max_restart_intensity' }]));
      expect(args.failInit!.times, 'both restarts were tried').to.equal(0);
      expect(journal).to.deep.equal(['init:flaky', 'terminate:flaky:Error: flaky crashed on purpose']);
    });

    it('escalates: the parent supervisor restarts a supervisor that gave up, with fresh children', async () => {
      const inner = { id: 'inner', type: 'supervisor' as const, start: (link: Parameters<ChildSpec['start']>[0]) => startLink(link, supervisor({ strategy: 'one_for_one', intensity: 0 }, probes('leaf')), undefined) };
      const outer = await startLink(system.link('outer'), supervisor({ strategy: 'one_for_one', intensity: 3 }, [inner]), undefined);
      const innerRef = child(outer, 'inner').ref!;
      crash(innerRef, 'leaf');
      await eventually(() => expect(child(outer, 'inner').restarts).to.equal(1));
      expect(journal).to.deep.equal(['init:leaf', 'terminate:leaf:Error: leaf crashed on purpose', 'init:leaf']);
      expect(whereis(system.ref, '/outer/inner/leaf')?.link.restarts, 'the leaf is a new process, not a restart').to.equal(0);
    });

    it('at the top, logs why and ends the application', async () => {
      const logs = captureLogs('error');
      const ended: ExitReason[] = [];
      try {
        const app = await Application.start({
          name: 'top_sup',
          supervisor: supervisor({ strategy: 'one_for_one', intensity: 0 }, probes('only')),
          args: undefined,
          onRootExit: (reason) => ended.push(reason),
        });
        app.kill('/top_sup/only');
        await eventually(() => expect(ended).to.deep.equal([{ shutdown: 'reached_max_restart_intensity' }]));
        expect(logs.messages()).to.include('/top_sup reached_max_restart_intensity (more than 0 restarts in 5 s): shutting down');
        expect(logs.messages().at(-1)).to.equal('top_sup exited (shutdown: reached_max_restart_intensity): the application stops');
      } finally {
        logs.restore();
      }
    });
  });

  describe('shutdown', () => {
    it('stops children in reverse start order, each through terminate, each waited for', async () => {
      const specs = [probeSpec({ id: 'a', journal }), probeSpec({ id: 'b', journal }), probeSpec({ id: 'c', journal, terminateMs: 30 })];
      const sup = await startLink(system.link('sup'), supervisor({ strategy: 'one_for_one' }, specs), undefined);
      await Process.of(sup)!.shutdown('shutdown');
      expect(journal).to.deep.equal(['init:a', 'init:b', 'init:c', 'terminate:c:shutdown', 'terminate:b:shutdown', 'terminate:a:shutdown']);
    });

    it('stops the dynamic children of a simple_one_for_one supervisor all at once', async () => {
      const template: ChildSpec<[string, number]> = { id: 'w', start: (link, id, terminateMs) => startProbe(link, { id, journal, terminateMs }) };
      const sup = (await startLink(system.link('pool'), supervisor({ strategy: 'simple_one_for_one' }, [template as ChildSpec]), undefined)) as SimpleSupervisorRef<[string, number]>;
      await startChild(sup, 'older', 0);
      await startChild(sup, 'newer', 50);
      await Process.of(sup)!.shutdown('shutdown');
      expect(journal.slice(-2), 'the older did not wait for the newer').to.deep.equal(['terminate:older:shutdown', 'terminate:newer:shutdown']);
    });

    it('gives a supervisor child all the time its own children take to stop', async () => {
      const inner: ChildSpec = { id: 'inner', type: 'supervisor', start: (link) => startLink(link, supervisor({ strategy: 'one_for_one' }, [probeSpec({ id: 'leaf', journal, terminateMs: 50 })]), undefined) };
      const outer = await startLink(system.link('outer'), supervisor({ strategy: 'one_for_one' }, [inner]), undefined);
      await Process.of(outer)!.shutdown('shutdown');
      expect(journal).to.deep.equal(['init:leaf', 'terminate:leaf:shutdown']);
    });

    it('kills a child that does not terminate within its shutdown time, and does not wait for brutal_kill', async () => {
      const sup = await startLink(
        system.link('sup'),
        supervisor({ strategy: 'one_for_one' }, [
          probeSpec({ id: 'slow', journal, terminateMs: 3_000 }, { shutdown: 50 }),
          probeSpec({ id: 'brutal', journal }, { shutdown: 'brutal_kill' }),
        ]),
        undefined,
      );
      const started = Date.now();
      await Process.of(sup)!.shutdown('shutdown');
      expect(Date.now() - started).to.be.below(2_000);
      expect(journal).to.deep.equal(['init:slow', 'init:brutal']);
    });

    it('stops a child still in its init too, leaving nothing in the tree, and the start settles', async () => {
      let finishInit!: () => void;
      const template: ChildSpec = { id: 'w', start: (link) => startProbe(link, { id: 'w', journal, onInit: () => new Promise<void>((resolve) => (finishInit = resolve)) }) };
      const sup = (await startLink(system.link('pool'), supervisor({ strategy: 'simple_one_for_one' }, [template]), undefined)) as SimpleSupervisorRef<[]>;
      const starting = startChild(sup);
      await eventually(() => expect(finishInit, 'init is under way').to.be.a('function'));
      const pending = whereis(system.ref, '/pool/w-1')!;
      const stopping = Process.of(sup)!.shutdown('shutdown');
      await new Promise((resolve) => setImmediate(resolve)); // the shutdown reaches the child before its init returns
      finishInit();
      await stopping;
      expect(journal).to.deep.equal(['init:w', 'terminate:w:shutdown']);
      expect(await pending.exited()).to.equal('shutdown');
      expect(Process.of(await starting), 'the start resolved, with a process already stopped').to.equal(undefined);
      expect(whereis(system.ref, '/pool')).to.equal(undefined);
    });

    it('fails to start when a child fails to start, stopping the children already started', async () => {
      const specs = [probeSpec({ id: 'ok', journal }), probeSpec({ id: 'broken', journal, failInit: { times: 1 } })];
      try {
        await startLink(system.link('sup'), supervisor({ strategy: 'one_for_one' }, specs), undefined);
        expect.fail('the supervisor started');
      } catch (error) {
        expect((error as Error).message).to.equal('broken refuses to start');
      }
      expect(journal).to.deep.equal(['init:ok', 'terminate:ok:shutdown']);
      expect(whereis(system.ref, '/sup')).to.equal(undefined);
    });
  });

  describe('its record of its children', () => {
    it('tells each child\'s type, and counts a child being restarted as not active', async () => {
      let release: (() => void) | undefined;
      let inits = 0;
      const held = probeSpec({ id: 'held', journal, onInit: () => (++inits > 1 ? new Promise<void>((resolve) => (release = resolve)) : undefined) });
      const inner: ChildSpec = { id: 'inner', type: 'supervisor', start: (link) => startLink(link, supervisor({ strategy: 'one_for_one' }, []), undefined) };
      const sup = await startLink(system.link('sup'), supervisor({ strategy: 'one_for_one' }, [inner, held]), undefined);
      expect(whichChildren(sup).map((c) => c.type)).to.deep.equal(['supervisor', 'worker']);
      expect(countChildren(sup)).to.deep.equal({ specs: 2, active: 2, supervisors: 1, workers: 1 });
      crash(sup, 'held');
      await eventually(() => expect(release, 'the restart is in its init').to.be.a('function'));
      expect(countChildren(sup)).to.include({ active: 1 });
      expect(child(sup, 'held').ref).to.equal(undefined);
      release!();
      await eventually(() => expect(countChildren(sup)).to.include({ active: 2 }));
    });

    it('counts the starts and exits it handled', async () => {
      const template: ChildSpec = { id: 'w', start: (link) => startProbe(link, { id: 'w', journal }) };
      const sup = (await startLink(system.link('pool'), supervisor({ strategy: 'simple_one_for_one' }, [template]), undefined)) as SimpleSupervisorRef<[]>;
      const first = await startChild(sup);
      await startChild(sup);
      expect(Process.of(sup)!.processed).to.equal(2);
      cast(first as ProbeRef, { type: 'crash' });
      await eventually(() => expect(Process.of(sup)!.processed).to.equal(3));
    });

    it('keeps no record of a dynamic child whose start failed', async () => {
      const template: ChildSpec = { id: 'w', start: (link) => startProbe(link, { id: 'w', journal, failInit: { times: 1 } }) };
      const sup = (await startLink(system.link('pool'), supervisor({ strategy: 'simple_one_for_one' }, [template]), undefined)) as SimpleSupervisorRef<[]>;
      await expectRejection(startChild(sup), /^w refuses to start$/);
      expect(whichChildren(sup)).to.be.empty;
    });

    it('terminates a dynamic child for good: never restarted, and a second terminateChild does nothing', async () => {
      const template: ChildSpec<[string]> = { id: 'w', start: (link, id) => startProbe(link, { id, journal }) };
      const sup = (await startLink(system.link('pool'), supervisor({ strategy: 'simple_one_for_one', intensity: 5 }, [template as ChildSpec]), undefined)) as SimpleSupervisorRef<[string]>;
      const gone = await startChild(sup, 'gone');
      const kept = await startChild(sup, 'kept');
      await terminateChild(sup, gone);
      await terminateChild(sup, gone);
      cast(kept as ProbeRef, { type: 'crash' });
      // Restarts run one at a time in order: once kept is back, a restart of gone would have come first.
      await eventually(() => expect(child(sup, 'w-2').restarts).to.equal(1));
      expect(journal.filter((line) => line.startsWith('init'))).to.deep.equal(['init:gone', 'init:kept', 'init:kept']);
    });

    it('answers only as a supervisor: a worker, a stopped supervisor and the wrong strategy are errors naming why', async () => {
      const worker = await startProbe(system.link('w'), { id: 'w', journal });
      expect(() => whichChildren(worker)).to.throw('/w is not a running supervisor');
      const sup = await startLink(system.link('sup'), supervisor({ strategy: 'one_for_one' }, []), undefined);
      await expectRejection(startChild(sup as SimpleSupervisorRef<[]>), /^\/sup is one_for_one, not simple_one_for_one$/);
      await Process.of(sup)!.shutdown('shutdown');
      expect(() => countChildren(sup)).to.throw(/^that actor is not a running supervisor$/);
    });

    it('warns about a message sent to it, and goes on supervising', async () => {
      const logs = captureLogs('warn');
      try {
        const sup = await startLink(system.link('sup'), supervisor({ strategy: 'one_for_one', intensity: 5 }, probes('a')), undefined);
        send(sup, { type: 'hello' });
        await eventually(() => expect(logs.lines.map(({ actor, message, msg }) => ({ actor, message, msg }))).to.deep.equal([
          { actor: '/sup', message: 'hello', msg: '/sup is a supervisor and takes no messages' },
        ]));
        crash(sup, 'a');
        await eventually(() => expect(child(sup, 'a').restarts).to.equal(1));
      } finally {
        logs.restore();
      }
    });
  });
});
