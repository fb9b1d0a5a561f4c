import { expect } from 'chai';
import fc from 'fast-check';
import { RateLimiter, type Admission } from '../lib/rate_limiter';

const DEFAULTS = { rate: { perSecond: 50, burst: 200 }, ratePolicy: { maxDropped: 100, windowMs: 10_000 } };

function admitMany(limiter: RateLimiter, count: number, nowMs: number): Admission[] {
  return Array.from({ length: count }, () => limiter.admit(nowMs));
}

const tally = (results: Admission[]) => ({
  ok: results.filter((r) => r === 'ok').length,
  limited: results.filter((r) => r === 'limited').length,
  close: results.filter((r) => r === 'close').length,
});

describe('RateLimiter', () => {
  it('admits a burst of 200 frames at once, then limits', () => {
    const limiter = new RateLimiter(DEFAULTS);
    expect(tally(admitMany(limiter, 250, 1000))).to.deep.equal({ ok: 200, limited: 50, close: 0 });
  });

  it('refills 50 frames per second, up to the burst', () => {
    const limiter = new RateLimiter(DEFAULTS);
    admitMany(limiter, 200, 0);
    expect(tally(admitMany(limiter, 60, 1000))).to.include({ ok: 50 });
    expect(limiter.admit(1019)).to.equal('limited');
    expect(limiter.admit(1020)).to.equal('ok');
    expect(tally(admitMany(limiter, 300, 3_600_000))).to.include({ ok: 200 });
  });

  it('never limits a client that keeps to 50 frames per second', () => {
    const limiter = new RateLimiter(DEFAULTS);
    admitMany(limiter, 200, 0);
    for (let t = 20; t <= 60_000; t += 20) expect(limiter.admit(t), `at ${t} ms`).to.equal('ok');
  });

  it('closes on the 101st frame dropped within 10 s, and from then on', () => {
    const limiter = new RateLimiter(DEFAULTS);
    admitMany(limiter, 200, 0);
    expect(tally(admitMany(limiter, 100, 0))).to.deep.equal({ ok: 0, limited: 100, close: 0 });
    expect(admitMany(limiter, 3, 0)).to.deep.equal(['close', 'close', 'close']);
  });

  it('counts drops across the slots of the window', () => {
    const limiter = new RateLimiter(DEFAULTS);
    admitMany(limiter, 200, 0);
    admitMany(limiter, 60, 0);
    admitMany(limiter, 200, 8_999);
    expect(tally(admitMany(limiter, 40, 8_999))).to.include({ limited: 40 });
    expect(limiter.admit(8_999)).to.equal('close');
  });

  it('forgets drops older than the window', () => {
    const limiter = new RateLimiter(DEFAULTS);
    admitMany(limiter, 200, 0);
    admitMany(limiter, 100, 0);
    admitMany(limiter, 200, 10_000);
    expect(tally(admitMany(limiter, 100, 10_000))).to.include({ limited: 100 });
    expect(limiter.admit(10_000)).to.equal('close');
  });

  // Small rates, bursts and windows, so that short random runs reach every state.
  const options = fc.record({
    rate: fc.record({ perSecond: fc.integer({ min: 1, max: 100 }), burst: fc.integer({ min: 1, max: 30 }) }),
    ratePolicy: fc.record({ maxDropped: fc.integer({ min: 1, max: 20 }), windowMs: fc.integer({ min: 10, max: 200 }).map((t) => t * 10) }),
  });
  // Frame times in whole ms, never going back: runs of frames at once, steady
  // streams and pauses, so that runs fill and drain both bucket and window.
  const gap = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 300 }));
  const times = fc.array(gap, { minLength: 1, maxLength: 300, size: 'max' }).map((gaps) => {
    let now = 0;
    return gaps.map((gap) => (now += gap));
  });

  function run(limits: typeof DEFAULTS, at: number[]): Admission[] {
    const limiter = new RateLimiter(limits);
    return at.map((t) => limiter.admit(t));
  }

  it('never admits more than burst + rate × t frames in any span of t ms', () => {
    fc.assert(
      fc.property(options, times, (limits, at) => {
        const results = run(limits, at);
        const admitted = at.filter((_, i) => results[i] === 'ok');
        let worstExcess = -Infinity;
        for (let i = 0; i < admitted.length; i++) {
          for (let j = i; j < admitted.length; j++) {
            const allowed = limits.rate.burst + (limits.rate.perSecond * (admitted[j]! - admitted[i]!)) / 1000;
            worstExcess = Math.max(worstExcess, j - i + 1 - allowed);
          }
        }
        expect(worstExcess).to.be.at.most(0);
      }),
      { numRuns: 200 },
    );
  });

  it('closes only after more than maxDropped drops within windowMs, and always after more within 90% of it', () => {
    fc.assert(
      fc.property(options, times, (limits, at) => {
        const results = run(limits, at);
        const { maxDropped, windowMs } = limits.ratePolicy;
        results.forEach((result, i) => {
          if (result === 'ok') return;
          const now = at[i]!;
          const droppedWithin = (spanMs: number) =>
            results.slice(0, i + 1).filter((r, k) => r !== 'ok' && now - at[k]! <= spanMs).length;
          if (result === 'close') expect(droppedWithin(windowMs - 1), `close at ${now} ms`).to.be.greaterThan(maxDropped);
          if (droppedWithin(0.9 * windowMs) > maxDropped) expect(result, `at ${now} ms`).to.equal('close');
        });
      }),
      { numRuns: 200 },
    );
  });
});
