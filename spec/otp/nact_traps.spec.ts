/**
 * The traps of nact 7.6.2 listed in LIBRARIES.md. For each, a control spec
 * pins nact's own behaviour (it fails if an upgrade fixes or changes it, the
 * signal to revisit the workaround) and a spec shows the OTP layer does not
 * fall into it.
 */
import { expect } from 'chai';
import { dispatch, spawn, spawnStateless, stop } from 'nact';
import { call, cast } from '../../lib/otp/gen_server';
import { Process, send } from '../../lib/otp/process';
import { type SimpleSupervisorRef, startChild, startLink, whichChildren } from '../../lib/otp/supervisor';
import { eventually } from '../support/eventually';
import { captureLogs } from '../support/logs';
import { type ProbeRef, startProbe } from '../support/probe';
import { useSystem } from '../support/system';

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('nact traps, and the OTP layer around them', () => {
  const system = useSystem();

  describe('stop does not stop descendants', () => {
    it('control: nact never runs the afterStop of a stopped actor\'s child', async () => {
      const stopped: string[] = [];
      const parent = spawn(system.ref as never, (s: unknown) => s, 'parent', { afterStop: () => void stopped.push('parent') });
      spawn(parent, (s: unknown) => s, 'child', { afterStop: () => void stopped.push('child') });
      stop(parent);
      await tick();
      expect(stopped).to.deep.equal(['parent']);
    });

    it('the layer stops every descendant through terminate', async () => {
      const journal: string[] = [];
      const parent = await startProbe(system.link('parent'), {
        id: 'parent',
        journal,
        onInit: async (self) => void (await startProbe({ parent: self, name: 'child', restarts: 0, onExit: () => undefined }, { id: 'child', journal })),
      });
      await Process.of(parent)!.shutdown('shutdown');
      expect(journal).to.deep.equal(['init:parent', 'init:child', 'terminate:child:shutdown', 'terminate:parent:shutdown']);
    });
  });

  describe('children spawned with nact itself', () => {
    it('are refused under a process without children, naming the module to spawn through', async () => {
      const ref = await startProbe(system.link('lonely'), { id: 'lonely', journal: [] });
      expect(() => spawn(ref as never, (s: unknown) => s, 'stray')).to.throw('an actor without children of its own was given one: spawn through lib/otp/nact');
    });
  });

  describe('a parent answering resume to an escalation', () => {
    it('control: leaves the child busy for ever, its mailbox growing', async () => {
      const handled: number[] = [];
      const parent = spawn(system.ref as never, (s: unknown) => s, 'parent', { onCrash: (_m: unknown, _e: unknown, ctx: { resume: symbol }) => ctx.resume } as never);
      const child = spawn(parent, (_s: unknown, n: number) => {
        if (n === 1) throw new Error('boom');
        handled.push(n);
      }, 'child', { onCrash: (_m: unknown, _e: unknown, ctx: { escalate: symbol }) => ctx.escalate } as never);
      for (const n of [1, 2, 3]) dispatch(child, n);
      await tick();
      expect(handled).to.deep.equal([]);
    });

    it('the layer restarts the child, which handles what is sent to it next', async () => {
      const journal: string[] = [];
      const sup = await startLink(system.link('sup'), { init: () => ({ flags: { strategy: 'one_for_one' as const }, children: [{ id: 'w', start: (link: never) => startProbe(link, { id: 'w', journal }) }] }) }, undefined);
      const worker = whichChildren(sup)[0]!.ref as ProbeRef;
      cast(worker, { type: 'crash' });
      await eventually(() => expect(journal).to.have.length(3));
      cast(worker, { type: 'note', text: 'after' });
      expect(await call(worker, { type: 'seen' })).to.deep.equal(['after']);
    });
  });

  describe('reset keeps the mailbox and drops children', () => {
    it('control: a reset actor handles the messages queued before its crash, and its children are gone', async () => {
      const handled: number[] = [];
      const actor = spawn(system.ref as never, (_s: unknown, n: number) => {
        if (n === 1) throw new Error('boom');
        handled.push(n);
      }, 'resettable', { onCrash: (_m: unknown, _e: unknown, ctx: { reset: symbol }) => ctx.reset } as never);
      spawn(actor, (s: unknown) => s, 'child');
      for (const n of [1, 2, 3]) dispatch(actor, n);
      await tick();
      expect(handled).to.deep.equal([2, 3]);
    });

    it('the layer restarts a fresh process: new state, children from init, the old mailbox discarded', async () => {
      const journal: string[] = [];
      const sup = await startLink(system.link('sup'), {
        init: () => ({
          flags: { strategy: 'one_for_one' as const },
          children: [{
            id: 'w',
            start: (link: never) => startProbe(link, {
              id: 'w',
              journal,
              onInit: async (self) => void (await startProbe({ parent: self, name: 'helper', restarts: 0, onExit: () => undefined }, { id: 'helper', journal })),
            }),
          }],
        }),
      }, undefined);
      const worker = whichChildren(sup)[0]!.ref as ProbeRef;
      cast(worker, { type: 'note', text: 'before' });
      cast(worker, { type: 'crash' });
      cast(worker, { type: 'note', text: 'queued behind the crash' });
      await eventually(() => expect(journal.filter((line) => line === 'init:helper')).to.have.length(2));
      expect(await call(worker, { type: 'seen' })).to.deep.equal([]);
    });
  });

  describe('anonymous names', () => {
    it('control: nact names an unnamed actor with 32 random bits', () => {
      const names = Array.from({ length: 50 }, () => (spawnStateless(system.ref as never, () => undefined) as unknown as { name: string }).name);
      for (const name of names) {
        const [, number] = /^anonymous-(-?\d+)$/.exec(name)!;
        expect(Math.abs(Number(number))).to.be.at.most(2 ** 31);
      }
    });

    it('the layer names every dynamic child from a counter: 5,000 children, no collision', async function () {
      this.timeout(30_000);
      const sup = (await startLink(system.link('pool'), {
        init: () => ({ flags: { strategy: 'simple_one_for_one' as const }, children: [{ id: 'w', start: (link: never) => startProbe(link, { id: 'w', journal: [] }) }] }),
      }, undefined)) as SimpleSupervisorRef<[]>;
      await Promise.all(Array.from({ length: 5_000 }, () => startChild(sup)));
      const ids = whichChildren(sup).map((child) => child.id);
      expect(new Set(ids).size).to.equal(5_000);
    });
  });

  describe('messages to stopped actors', () => {
    it('control: nact drops them without a word', async () => {
      const actor = spawnStateless(system.ref as never, () => undefined, 'gone');
      stop(actor);
      expect(() => dispatch(actor, 'hello')).not.to.throw();
    });

    it('the layer says so in a log line naming the actor and the message, and the sender carries on', async () => {
      const target = await startProbe(system.link('gone'), { id: 'gone', journal: [] });
      await Process.of(target)!.shutdown('shutdown');
      const logs = captureLogs('warn');
      try {
        expect(send(target, { type: 'deliver' })).to.equal(false);
        expect(cast(target, { type: 'note', text: 'x' })).to.equal(false);
      } finally {
        logs.restore();
      }
      expect(logs.messages()[0]).to.equal('message to stopped actor /gone dropped: deliver');
    });
  });
});
