import { expect } from 'chai';
import { Application } from '../../lib/otp/application';
import { call, cast } from '../../lib/otp/gen_server';
import type { Link, Ref } from '../../lib/otp/process';
import { type ChildSpec, startLink } from '../../lib/otp/supervisor';
import { type ActorInfo, childRef, whereis } from '../../lib/otp/sys';
import { eventually } from '../support/eventually';
import { type ProbeRef, probeSpec, startProbe } from '../support/probe';

describe('sys: introspection of the live tree', () => {
  let app: Application;
  let journal: string[];
  beforeEach(async () => {
    journal = [];
    const inner: ChildSpec = {
      id: 'inner_sup',
      type: 'supervisor',
      start: (link: Link) => startLink(link, { init: () => ({ flags: { strategy: 'rest_for_one' as const }, children: [probeSpec({ id: 'leaf', journal })] }) }, undefined),
    };
    app = await Application.start({
      name: 'root_sup',
      supervisor: { init: () => ({ flags: { strategy: 'one_for_one' as const, intensity: 10 }, children: [probeSpec({ id: 'worker', journal }), inner] }) },
      args: undefined,
      onRootExit: () => undefined,
    });
  });
  afterEach(() => app.stop());

  it('describes every actor with exactly the fields of /debug/tree', () => {
    const tree = app.describe()!;
    const strip = ({ children, ...actor }: ActorInfo): unknown => ({ ...actor, children: children.map(strip) });
    expect(strip(tree)).to.deep.equal({
      name: 'root_sup',
      path: '/root_sup',
      kind: 'supervisor',
      behaviour: 'supervisor',
      strategy: 'one_for_one',
      mailbox: 0,
      processed: 0,
      restarts: 0,
      info: { children: 2, intensity: 10, period: 5 },
      children: [
        { name: 'worker', path: '/root_sup/worker', kind: 'worker', behaviour: 'probe', mailbox: 0, processed: 0, restarts: 0, info: { id: 'worker', seen: 0 }, children: [] },
        {
          name: 'inner_sup',
          path: '/root_sup/inner_sup',
          kind: 'supervisor',
          behaviour: 'supervisor',
          strategy: 'rest_for_one',
          mailbox: 0,
          processed: 0,
          restarts: 0,
          info: { children: 1, intensity: 1, period: 5 },
          children: [{ name: 'leaf', path: '/root_sup/inner_sup/leaf', kind: 'worker', behaviour: 'probe', mailbox: 0, processed: 0, restarts: 0, info: { id: 'leaf', seen: 0 }, children: [] }],
        },
      ],
    });
  });

  it('counts the messages waiting in a mailbox and those handled', async () => {
    const worker = whereis(app.root, '/root_sup/worker')!.self as ProbeRef;
    const busy = call(worker, { type: 'slow', ms: 100 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const text of ['a', 'b', 'c']) cast(worker, { type: 'note', text });
    expect(app.describe()!.children[0]).to.include({ mailbox: 3, processed: 1 });
    await busy;
    await eventually(() => expect(app.describe()!.children[0]).to.include({ mailbox: 0, processed: 4 }));
  });

  it('crashes an actor by its path, and the tree shows the restart', async () => {
    expect(app.kill('/root_sup/inner_sup/leaf')).to.equal(true);
    await eventually(() => expect(app.describe()!.children[1]!.children[0]!.restarts).to.equal(1));
    expect(journal.slice(-2)).to.deep.equal(['terminate:leaf:KilledOnPurpose: /root_sup/inner_sup/leaf was crashed on purpose', 'init:leaf']);
    expect(app.describe()!.children[1]!.processed, 'the supervisor handled the exit').to.equal(1);
  });

  it('crashing a supervisor restarts it with its children', async () => {
    app.kill('/root_sup/inner_sup');
    await eventually(() => expect(app.describe()!.children[1]!.restarts).to.equal(1));
    expect(journal.slice(-2)).to.deep.equal(['terminate:leaf:shutdown', 'init:leaf']);
  });

  it('knows no actor at an unknown path', () => {
    expect(app.kill('/root_sup/nobody')).to.equal(false);
    expect(app.kill('/elsewhere')).to.equal(false);
    expect(app.kill('/elsewhere/deeper')).to.equal(false);
    expect(app.kill('/')).to.equal(false);
  });

  it('finds a child by name, with a ref that stays valid across its restarts', async () => {
    const leaf = childRef(whereis(app.root, '/root_sup/inner_sup')!.self, 'leaf')!;
    expect(childRef(app.root, 'nobody')).to.equal(undefined);
    app.kill('/root_sup/inner_sup/leaf');
    await eventually(() => expect(app.describe()!.children[1]!.children[0]!.restarts).to.equal(1));
    cast(leaf as ProbeRef, { type: 'note', text: 'after the restart' });
    expect(await call(leaf as ProbeRef, { type: 'seen' })).to.deep.equal(['after the restart']);
  });
});

describe('sys: a process in the middle of its init', () => {
  it('is described without info, and its supervisor with its strategy, while init runs', async () => {
    let finishInit!: () => void;
    const app = await Application.start({
      name: 'slow_sup',
      supervisor: { init: () => ({ flags: { strategy: 'one_for_one' as const, intensity: 5 }, children: [probeSpec({ id: 'slow', journal: [] })] }) },
      args: undefined,
      onRootExit: () => undefined,
    });
    const sup = whereis(app.root, '/slow_sup')!;
    const restarting = startChildLater(sup.self, () => new Promise<void>((resolve) => (finishInit = resolve)));
    await eventually(() => expect(finishInit, 'init is under way').to.be.a('function'));
    const late = app.describe()!.children.find((child) => child.name === 'late')!;
    expect(late.info).to.deep.equal({});
    expect(app.describe()).to.include({ strategy: 'one_for_one' });
    finishInit();
    await restarting;
    expect(app.describe()!.children.find((child) => child.name === 'late')!.info).to.include({ id: 'late' });
    await app.stop();
  });
});

/** A probe linked under `parent` whose init waits for `gate`. */
function startChildLater(parent: Ref, gate: () => Promise<void>): Promise<unknown> {
  return startProbe({ parent, name: 'late', restarts: 0, onExit: () => undefined }, { id: 'late', journal: [], onInit: gate });
}
