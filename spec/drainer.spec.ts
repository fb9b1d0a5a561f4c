// The staged close's schedule (lib/drainer.ts); the drain itself, against a
// daemon: spec/integration/shutdown.spec.ts.
import { expect } from 'chai';
import { DRAIN_TICK_MS, drainBatches } from '../lib/drainer';

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
