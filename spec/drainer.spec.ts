// The staged close (lib/drainer.ts): its schedule, and the drain of a real
// simple_one_for_one supervisor's children; against a daemon's sockets:
// spec/integration/shutdown.spec.ts.
import { expect } from 'chai';
import { DRAIN_TICK_MS, drainBatches, drainConnections } from '../lib/drainer';
import { type GenServer, noreply, startLink as startServer, stop } from '../lib/otp/gen_server';
import { type ChildSpec, type SimpleSupervisorRef, countChildren, startChild, startLink } from '../lib/otp/supervisor';
import { captureLogs } from './support/logs';
import { useSystem } from './support/system';

describe('drainBatches: how many connections each tick of the drain window tells', () => {
  it('spreads them over one tick per DRAIN_TICK_MS of the window, as evenly as whole numbers allow, the larger first', () => {
    expect(DRAIN_TICK_MS).to.equal(100);
    expect(drainBatches(45, 1_000)).to.deep.equal([5, 5, 5, 5, 5, 4, 4, 4, 4, 4]);
    expect(drainBatches(40, 2_000)).to.deep.equal(Array(20).fill(2));
    expect(drainBatches(100_000, 10_000)).to.deep.equal(Array(100).fill(1_000));
  });

  it('never makes an empty batch: fewer connections than ticks take a tick each', () => {
    expect(drainBatches(3, 10_000)).to.deep.equal([1, 1, 1]);
    expect(drainBatches(0, 10_000)).to.deep.equal([]);
  });

  it('tells them all at once with no window, or one shorter than a tick', () => {
    expect(drainBatches(7, 0)).to.deep.equal([7]);
    expect(drainBatches(7, 199)).to.deep.equal([7]);
    expect(drainBatches(7, 200)).to.deep.equal([4, 3]);
  });
});

/** Stands in for a connection: notes when it is told to drain, then stops (unless stubborn, like a socket that never closes). */
interface Drainee {
  readonly id: number;
  readonly told: { readonly id: number; readonly at: number }[];
  readonly stubborn: boolean;
}
const drainee: GenServer<Drainee, Drainee, never, { type: 'drain' }> = {
  behaviour: 'drainee',
  init: (args) => args,
  handleCast: (message, state) => {
    if (message.type !== 'drain') throw new Error(`a connection is told to drain with {type: 'drain'}, not ${JSON.stringify(message)}`);
    state.told.push({ id: state.id, at: Date.now() });
    return state.stubborn ? noreply(state) : stop('normal', state);
  },
};

describe('drainConnections: the drain of connection_sup\'s children', () => {
  const system = useSystem();
  const template: ChildSpec<[Drainee]> = { id: 'connection', restart: 'temporary', start: (link, args) => startServer(link, drainee, args) };

  async function pool(count: number, told: Drainee['told'], stubborn = new Set<number>()): Promise<SimpleSupervisorRef<[Drainee]>> {
    const sup = (await startLink(system.link('connection_sup'), { init: () => ({ flags: { strategy: 'simple_one_for_one' }, children: [template as ChildSpec] }) }, undefined)) as SimpleSupervisorRef<[Drainee]>;
    for (let id = 0; id < count; id++) await startChild(sup, { id, told, stubborn: stubborn.has(id) });
    return sup;
  }

  it('tells each child once, in the order started, one batch per tick from the start, and resolves once all are gone', async () => {
    const told: Drainee['told'] = [];
    const sup = await pool(30, told);
    const logs = captureLogs();
    const start = Date.now();
    try {
      await drainConnections(sup, 1_000, start + 10_000);
    } finally {
      logs.restore();
    }
    expect(countChildren(sup).active).to.equal(0);
    expect(told.map(({ id }) => id)).to.deep.equal(Array.from({ length: 30 }, (_, id) => id));
    // 10 ticks of 3: each batch told together, each at or after its tick.
    const batches = Array.from({ length: 10 }, (_, tick) => told.slice(3 * tick, 3 * tick + 3).map(({ at }) => at - start));
    for (const [tick, batch] of batches.entries()) {
      expect(Math.max(...batch) - Math.min(...batch), `batch ${tick} told at once`).to.be.below(DRAIN_TICK_MS / 2);
      expect(Math.min(...batch), `batch ${tick} not before its tick`).to.be.at.least(tick * DRAIN_TICK_MS - 5);
    }
    expect(batches[0]![0], 'the first batch at once').to.be.below(DRAIN_TICK_MS);
    expect(logs.lines.find(({ msg }) => msg === 'draining 30 connections')).to.include({ connections: 30, batches: 10, windowMs: 1_000 });
  });

  it('gives up waiting at the deadline when a child never goes', async () => {
    const told: Drainee['told'] = [];
    const sup = await pool(3, told, new Set([1]));
    const start = Date.now();
    await drainConnections(sup, 0, start + 600);
    expect(Date.now() - start).to.be.at.least(590).and.below(3_000);
    expect(told.map(({ id }) => id)).to.deep.equal([0, 1, 2]);
    expect(countChildren(sup).active).to.equal(1);
  });

  it('resolves at once with nothing to drain', async () => {
    const sup = await pool(0, []);
    const start = Date.now();
    await drainConnections(sup, 10_000, start + 10_000);
    expect(Date.now() - start).to.be.below(1_000);
  });
});
