import { expect } from 'chai';
import { CallError, type GenServer, type ServerRef, call, cast, noreply, replyTo, startLink, stop, type From } from '../../lib/otp/gen_server';
import { Process, send } from '../../lib/otp/process';
import { describeTree, getState, whereis } from '../../lib/otp/sys';
import { eventually } from '../support/eventually';
import { type CapturedLogs, captureLogs } from '../support/logs';
import { expectRejection } from '../support/rejection';
import { type ProbeState, startProbe } from '../support/probe';
import { useSystem } from '../support/system';

describe('gen_server', () => {
  const system = useSystem();

  it('runs init, then handles calls, casts and info in the order they were sent', async () => {
    const journal: string[] = [];
    const ref = await startProbe(system.link('p'), { id: 'p', journal });
    expect(cast(ref, { type: 'note', text: 'one' }), 'cast says it delivered').to.equal(true);
    cast(ref, { type: 'note', text: 'two' });
    expect(await call(ref, { type: 'seen' })).to.deep.equal(['one', 'two']);
    expect(journal).to.deep.equal(['init:p']);
  });

  it('queues what is sent while an async init runs, and handles it after', async () => {
    let finishInit!: () => void;
    const journal: string[] = [];
    const starting = startProbe(system.link('slow'), {
      id: 'slow',
      journal,
      onInit: () => new Promise<void>((resolve) => (finishInit = resolve)),
    });
    await new Promise((resolve) => setImmediate(resolve));
    send(whereis(system.ref, '/slow')!.self, { type: 'early' });
    finishInit();
    await starting;
    await eventually(() => expect(journal).to.deep.equal(['init:slow', 'info:slow:early']));
  });

  it('fails startLink with the init error and leaves no process behind', async () => {
    const exits: unknown[] = [];
    const starting = startProbe(system.link('bad', (reason) => exits.push(reason)), {
      id: 'bad',
      journal: [],
      failInit: { times: 1 },
    });
    await expectRejection(starting, /bad refuses to start/);
    expect(exits, 'the link is not told of a failed start').to.be.empty;
  });

  it('names the server and the request type when a call times out', async () => {
    const ref = await startProbe(system.link('sleepy'), { id: 'sleepy', journal: [] });
    const error = await expectRejection(call(ref, { type: 'never' }, 50), /timeout after 50 ms/);
    expect(error).to.be.instanceOf(CallError).and.have.property('name', 'CallError');
    expect(error.message).to.include('/sleepy').and.include('request: never');
  });

  it('fails a call to a process that does not exist with noproc', async () => {
    const ref = await startProbe(system.link('gone'), { id: 'gone', journal: [] });
    await Process.of(ref)!.shutdown('shutdown');
    await expectRejection(call(ref, { type: 'seen' }), /\/gone \(request: seen\) failed: noproc/);
  });

  it('fails a call at once when the server crashes on it, and the calls queued behind it', async () => {
    const ref = await startProbe(system.link('fragile'), { id: 'fragile', journal: [] });
    const started = Date.now();
    const crashing = call(ref, { type: 'crash' }, 5_000);
    const queued = call(ref, { type: 'seen' }, 5_000);
    await expectRejection(crashing, /the server exited: Error: fragile crashed in a call/);
    await expectRejection(queued, /the server exited/);
    expect(Date.now() - started).to.be.below(4_000);
  });

  it('fails at once, with the shutdown reason, the calls queued behind a shutdown', async () => {
    const ref = await startProbe(system.link('closing'), { id: 'closing', journal: [], terminateMs: 20 });
    const busy = call(ref, { type: 'slow', ms: 50 });
    await eventually(() => expect(Process.of(ref)!.processed, 'the first call is being handled').to.equal(1));
    const queued = call(ref, { type: 'seen' }, 2_000);
    const stopping = Process.of(ref)!.shutdown({ shutdown: 'closing' });
    expect(await busy, 'the call under way is answered').to.equal('done');
    await expectRejection(queued, /failed: the server exited: shutdown: closing$/);
    expect(await stopping).to.deep.equal({ shutdown: 'closing' });
  });

  it('answers a call left with noreply later through replyTo', async () => {
    const deferred: GenServer<void, From<string>[], 'wait' | 'release', never, string> = {
      behaviour: 'deferred',
      init: () => [],
      handleCall(request, from, waiting) {
        if (request === 'wait') return noreply([...waiting, from]);
        for (const caller of waiting) replyTo(caller, 'released');
        return { kind: 'reply', reply: 'ok', state: [] };
      },
    };
    const ref = await startLink(system.link('deferred'), deferred, undefined);
    const waiting = call(ref, 'wait');
    expect(await call(ref, 'release')).to.equal('ok');
    expect(await waiting).to.equal('released');
  });

  it('runs terminate with the reason when a callback returns stop, then the process is gone', async () => {
    const journal: string[] = [];
    const exits: unknown[] = [];
    const ref = await startProbe(system.link('done', (reason) => exits.push(reason)), { id: 'done', journal });
    cast(ref, { type: 'stop', reason: 'normal' });
    await eventually(() => expect(exits).to.deep.equal(['normal']));
    expect(journal).to.deep.equal(['init:done', 'terminate:done:normal']);
    expect(Process.of(ref)).to.equal(undefined);
  });

  it('runs terminate with the error when a callback throws', async () => {
    const journal: string[] = [];
    const exits: unknown[] = [];
    const ref = await startProbe(system.link('oops', (reason) => exits.push(reason)), { id: 'oops', journal });
    cast(ref, { type: 'crash' });
    await eventually(() => expect(exits).to.have.length(1));
    expect(String(exits[0])).to.include('oops crashed on purpose');
    expect(journal).to.deep.equal(['init:oops', 'terminate:oops:Error: oops crashed on purpose']);
  });

  it('exposes its state to sys and counts the messages it handled', async () => {
    const ref = await startProbe(system.link('count'), { id: 'count', journal: [] });
    cast(ref, { type: 'note', text: 'a' });
    await call(ref, { type: 'seen' });
    expect(getState<ProbeState>(ref)!.seen).to.deep.equal(['a']);
    expect(Process.of(ref)!.processed).to.equal(2);
  });

  describe('a call answered with stop', () => {
    const stopping: GenServer<void, void, 'with reply' | 'without reply', never, string> = {
      behaviour: 'stopping',
      init: () => undefined,
      handleCall: (request, _from, state) => (request === 'with reply' ? stop('normal', state, 'bye') : stop({ shutdown: 'no answer' }, state)),
    };

    it('gets its reply, then the server stops with the reason', async () => {
      const exits: unknown[] = [];
      const ref = await startLink(system.link('s', (reason) => exits.push(reason)), stopping, undefined);
      expect(await call(ref, 'with reply')).to.equal('bye');
      await eventually(() => expect(exits).to.deep.equal(['normal']));
    });

    it('without a reply fails with the reason the server stopped with', async () => {
      const ref = await startLink(system.link('s'), stopping, undefined);
      await expectRejection(call(ref, 'without reply', 2_000), /the server exited: shutdown: no answer$/);
    });
  });

  describe('a module with init only', () => {
    const bare: GenServer<void, void, 'hello', 'hello', never, { type: 'hello' }> = { behaviour: 'bare', init: () => undefined };
    let logs: CapturedLogs;
    beforeEach(() => (logs = captureLogs('warn')));
    afterEach(() => logs.restore());

    it('crashes on a call or a cast, saying which callback it lacks', async () => {
      const called = await startLink(system.link('called'), bare, undefined);
      await expectRejection(call(called, 'hello'), /the server exited: Error: bare has no handleCall$/);
      const casted = Process.of(await startLink(system.link('casted'), bare, undefined))!;
      cast(casted.self as ServerRef<never, 'hello'>, 'hello');
      expect(String(await casted.exited())).to.equal('Error: bare has no handleCast');
    });

    it('ignores an info message with a warning, is described without info, and stops without a terminate', async () => {
      const ref = await startLink(system.link('bare'), bare, undefined);
      send(ref, { type: 'hello' });
      await eventually(() => expect(logs.lines.map(({ actor, message, msg }) => ({ actor, message, msg }))).to.deep.equal([
        { actor: '/bare', message: 'hello', msg: '/bare ignored an unexpected message' },
      ]));
      expect(describeTree(ref)).to.include({ behaviour: 'bare', processed: 1 }).and.have.deep.property('info', {});
      expect(await Process.of(ref)!.shutdown('shutdown')).to.equal('shutdown');
      expect(logs.messages(), 'no terminate failed').to.have.length(1);
    });
  });

  it('shares one behaviour among all the processes of a module', async () => {
    const first = await startProbe(system.link('first'), { id: 'first', journal: [] });
    const second = await startProbe(system.link('second'), { id: 'second', journal: [] });
    expect(Process.of(first)!.behaviour).to.equal(Process.of(second)!.behaviour);
  });
});
