import { expect } from 'chai';
import { Application } from '../../lib/otp/application';
import { call, cast } from '../../lib/otp/gen_server';
import { type Link, type Ref, linkTo } from '../../lib/otp/process';
import { type ChildSpec, startLink } from '../../lib/otp/supervisor';
import { monitor } from '../../lib/otp/monitor';
import { type Exit, relink } from '../../lib/otp/process';
import { type ActorInfo, LISTED_MAX, childRef, processInfo, whereis } from '../../lib/otp/sys';
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

describe('sys: one process in full (/debug/actor)', () => {
  let app: Application;
  beforeEach(async () => {
    app = await Application.start({
      name: 'info_sup',
      supervisor: { init: () => ({ flags: { strategy: 'rest_for_one' as const, intensity: 10 }, children: [probeSpec({ id: 'first', journal: [] }), probeSpec({ id: 'second', journal: [] })] }) },
      args: undefined,
      onRootExit: () => undefined,
    });
  });
  afterEach(() => app.stop());
  const ref = (id: string) => whereis(app.root, `/info_sup/${id}`)!.self as ProbeRef;

  it('shows its status, counts, info and links: the parent and the children, by path', () => {
    expect(processInfo(app.root, '/info_sup/first', 1000)).to.deep.equal({
      path: '/info_sup/first',
      name: 'first',
      kind: 'worker',
      behaviour: 'probe',
      status: 'running',
      mailbox: 0,
      processed: 0,
      rate: 0,
      restarts: 0,
      info: { id: 'first', seen: 0 },
      links: { parent: '/info_sup', children: [], childCount: 0 },
      monitors: { monitoring: [], monitoringCount: 0, monitoredBy: [], monitoredByCount: 0 },
      restartHistory: [],
    });
    const sup = processInfo(app.root, '/info_sup', 1000)!;
    expect(sup).to.deep.include({ strategy: 'rest_for_one', links: { parent: null, children: ['/info_sup/first', '/info_sup/second'], childCount: 2 } });
    expect(processInfo(app.root, '/info_sup/nobody', 1000)).to.equal(undefined);
  });

  it('shows whom it monitors and who monitors it, each listed up to LISTED_MAX and counted beyond', async () => {
    monitor(ref('first'), ref('second'));
    expect(processInfo(app.root, '/info_sup/first', 0)!.monitors).to.deep.equal({ monitoring: ['/info_sup/second'], monitoringCount: 1, monitoredBy: [], monitoredByCount: 0 });
    expect(processInfo(app.root, '/info_sup/second', 0)!.monitors).to.deep.equal({ monitoring: [], monitoringCount: 0, monitoredBy: ['/info_sup/first'], monitoredByCount: 1 });
    for (let n = 0; n < LISTED_MAX + 5; n++) monitor(ref('second'), ref('first'));
    const many = processInfo(app.root, '/info_sup/first', 0)!.monitors;
    expect(many.monitoredBy).to.have.length(LISTED_MAX);
    expect(many.monitoredByCount).to.equal(LISTED_MAX + 5);
  });

  it('keeps its restarts with their reasons and times: its own crash, and a sibling\'s that took it down', async () => {
    app.kill('/info_sup/second');
    await eventually(() => expect(processInfo(app.root, '/info_sup/second', 0)!.restarts).to.equal(1));
    app.kill('/info_sup/first');
    await eventually(() => expect(processInfo(app.root, '/info_sup/second', 0)!.restarts).to.equal(2));
    const { restartHistory } = processInfo(app.root, '/info_sup/second', 0)!;
    expect(restartHistory.map((restart) => restart.reason)).to.deep.equal(['KilledOnPurpose: /info_sup/second was crashed on purpose', 'shutdown']);
    expect(Date.parse(restartHistory[0]!.at)).to.be.closeTo(Date.now(), 5_000);
    expect(processInfo(app.root, '/info_sup/first', 0)!.restartHistory.map((restart) => restart.reason)).to.deep.equal(['KilledOnPurpose: /info_sup/first was crashed on purpose']);
  });

  it('keeps the last 20 restarts of a child a worker restarts itself (relink)', () => {
    let link = linkTo(app.root, 'child');
    for (let n = 1; n <= 25; n++) link = relink({ type: 'EXIT', from: app.root, reason: new Error(`crash ${n}`), link } satisfies Exit);
    expect(link.restarts).to.equal(25);
    expect(link.restartHistory!.map((restart) => restart.reason)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `Error: crash ${i + 6}`));
  });
});
