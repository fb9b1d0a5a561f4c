import { expect } from 'chai';
import { CONSUMER_REST_MS, FAULT_KINDS, type FaultKind, FaultSchedule, TOP_LEVEL_BUDGET, TOP_LEVEL_WINDOW_MS, isTopLevel, prng } from '../../tools/chaos/schedule';

/** The kinds a schedule draws for faults every `everyMs`, from 0 until `untilMs`, with their times. */
function draw(seed: number, everyMs: number, untilMs: number): Array<{ at: number; kind: FaultKind }> {
  const schedule = new FaultSchedule(prng(seed));
  const drawn = [];
  for (let at = 0; at < untilMs; at += everyMs) drawn.push({ at, kind: schedule.next(at) });
  return drawn;
}

describe('the chaos run\'s fault schedule (tools/chaos)', () => {
  it('replays the same faults for the same seed, and others for another', () => {
    expect(draw(42, 1_000, 60_000)).to.deep.equal(draw(42, 1_000, 60_000));
    expect(draw(42, 1_000, 60_000)).to.not.deep.equal(draw(43, 1_000, 60_000));
  });

  it('kills no more top-level actors in any window than warren_sup\'s intensity allows, however fast the faults come', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const topLevel = draw(seed, 500, 10 * 60_000).filter(({ kind }) => isTopLevel(kind));
      expect(topLevel.length, 'the budget is used').to.be.at.least(TOP_LEVEL_BUDGET * 8);
      for (const [i, { at }] of topLevel.entries()) {
        const later = topLevel[i + TOP_LEVEL_BUDGET];
        if (later) expect(later.at - at, `seed ${seed}: top-level kills at ${at} and ${later.at}`).to.be.at.least(TOP_LEVEL_WINDOW_MS);
      }
    }
    expect(TOP_LEVEL_BUDGET).to.equal(3);
    expect(TOP_LEVEL_WINDOW_MS).to.be.above(60_000);
  });

  it('draws every kind once a round, when faults come slowly enough for the top-level ones', () => {
    // At most three faults in any window, so no top-level kind has to wait.
    const everyMs = Math.ceil(TOP_LEVEL_WINDOW_MS / 3);
    const kinds = draw(7, everyMs, FAULT_KINDS.length * everyMs).map(({ kind }) => kind);
    expect([...kinds].sort()).to.deep.equal([...FAULT_KINDS].sort());
  });

  it('spares a consumer killed less than CONSUMER_REST_MS ago, and picks among those left', () => {
    const schedule = new FaultSchedule(prng(3));
    const paths = ['/c1/consumer', '/c2/consumer'];
    const first = schedule.target('consumer', 0, paths)!;
    const second = schedule.target('consumer', 1_000, paths)!;
    expect([first, second].sort()).to.deep.equal(paths);
    expect(schedule.target('consumer', 2_000, paths)).to.equal(undefined);
    expect(schedule.target('consumer', CONSUMER_REST_MS, paths)).to.equal(first);
    expect(schedule.target('connection', CONSUMER_REST_MS, paths)).to.be.oneOf(paths);
  });
});
