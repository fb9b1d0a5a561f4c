// The presence run of the bench (bench/presence.ts): its options, the pure
// figures it reports (diff arrival rates, the coalescing verdict, the
// summary line), and a tiny real run against a daemon on the in-process
// broker, for what it reports (never for how fast).
import { expect } from 'chai';
import { DEFAULT_PRESENCE, parseOptions, UsageError } from '../../bench/options';
import { measurePresence, type PresenceResult, windowJoins, withinCoalescingBound } from '../../bench/presence';
import { diffRates } from '../../bench/presence_group';
import { coalescingVerdict, joinAloneUs, presenceSummary } from '../../bench/report';
import { spread } from '../../bench/threads';
import { useDaemon } from '../support/lifecycle';
import { daemonTarget } from './targets';

describe('bench --presence', () => {
  describe('options', () => {
    it('takes --presence with or without a count', () => {
      expect(DEFAULT_PRESENCE).to.equal(10_000);
      expect(parseOptions(['--presence', '--broker', 'rabbitmq'])).to.include({ presence: DEFAULT_PRESENCE, broker: 'rabbitmq' });
      expect(parseOptions(['--presence', '50', '--no-baseline'])).to.include({ presence: 50, baseline: false });
    });

    it('refuses the combinations that make no sense, saying why', () => {
      const refused = (argv: string[], reason: RegExp) => expect(() => parseOptions(argv)).to.throw(UsageError, reason);
      refused(['--presence', '2'], /at least 3/);
      refused(['--presence', '--idle'], /three modes/);
      refused(['--presence', '--reconnect-storm', '10'], /three modes/);
      refused(['--presence', '--auth'], /not --presence/);
      refused(['--presence', '--repeat', '3'], /not --presence/);
    });
  });

  describe('figures', () => {
    it('counts the most diffs within any one second, half-open, and the shortest gap', () => {
      expect(diffRates([0, 250, 500, 750, 1000, 1250])).to.deep.equal({ maxInSecond: 4, minGapMs: 250 });
      expect(diffRates([0, 250, 500, 749, 1000])).to.deep.equal({ maxInSecond: 4, minGapMs: 249 });
      expect(diffRates([0, 241, 491, 741, 991])).to.deep.equal({ maxInSecond: 5, minGapMs: 241 });
      expect(diffRates([5000, 5100, 9000])).to.deep.equal({ maxInSecond: 2, minGapMs: 100 });
      expect(diffRates([7])).to.deep.equal({ maxInSecond: 1, minGapMs: Infinity });
      expect(diffRates([])).to.deep.equal({ maxInSecond: 0, minGapMs: Infinity });
    });

    it('is within the bound at 4 per second and 250 ms apart, not a diff more or a millisecond less', () => {
      expect(withinCoalescingBound({ maxInSecond: 4, minGapMs: 250 })).to.equal(true);
      expect(withinCoalescingBound({ maxInSecond: 1, minGapMs: Infinity })).to.equal(true);
      expect(withinCoalescingBound({ maxInSecond: 5, minGapMs: 250 })).to.equal(false);
      expect(withinCoalescingBound({ maxInSecond: 4, minGapMs: 249.9 })).to.equal(false);
    });

    it('measures 1000 joins at each end of the room, fewer when the room is small', () => {
      expect(windowJoins(10_000)).to.equal(1000);
      expect(windowJoins(2001)).to.equal(1000);
      expect(windowJoins(2000)).to.equal(999);
      expect(windowJoins(50)).to.equal(24);
    });

    it('spreads the clients over the threads, from a first index', () => {
      expect(spread(7, 3)).to.deep.equal([[0, 3, 6], [1, 4], [2, 5]]);
      expect(spread(7, 2, 1)).to.deep.equal([[1, 3, 5], [2, 4, 6]]);
      expect(spread(2, 4, 1)).to.deep.equal([[1]]);
    });

    const result = (fields: Partial<PresenceResult>): PresenceResult => ({
      target: 'warren/local',
      clients: 10_000,
      room: 'presence-bench',
      connectSeconds: 5,
      early: { from: 0, to: 1000, cpuUs: { daemon: 30_000 }, usPerJoin: 30, diffFrames: 500, seconds: 0.4 },
      late: { from: 8999, to: 9999, cpuUs: { daemon: 33_000 }, usPerJoin: 33, diffFrames: 20_000, seconds: 0.5 },
      last: { totalUs: 2410, presence: { index: 9999, users: 10_000, listed: 101, truncated: true } },
      splits: [
        { joinUs: 40, nextJoinUs: 30, fanOutUs: 2300, separated: true },
        { joinUs: 20, nextJoinUs: 10, fanOutUs: 2400, separated: false },
        { joinUs: 44, nextJoinUs: 34, fanOutUs: 2200, separated: true },
      ],
      coalescing: { diffs: 300_000, observer: { maxInSecond: 4, minGapMs: 250.2 }, anyMember: { maxInSecond: 5, minGapMs: 190 }, withinBound: true },
      errors: {},
      runWindow: { fromUs: 0, toUs: 1 },
      ...fields,
    });

    it('takes the join alone from the splits whose diff came after it was read, and none when none did', () => {
      expect(joinAloneUs(result({}))).to.equal(42);
      expect(joinAloneUs(result({}), true)).to.equal(32);
      expect(joinAloneUs(result({ splits: [{ joinUs: 20, nextJoinUs: 10, fanOutUs: 2400, separated: false }] }))).to.equal(undefined);
    });

    it('ends with the one-line summary, against the baseline when there is one', () => {
      const baseline = result({ target: 'bare uWS', late: { ...result({}).late, usPerJoin: 11 }, last: { totalUs: 1205 }, splits: [{ joinUs: 21, nextJoinUs: 16, fanOutUs: 1000, separated: true }] });
      expect(presenceSummary(result({}), baseline)).to.equal(
        'warren/local presence 10000: join alone 42 µs (2.00x bare uWS) (target 50: met), the next in its window 32 µs (2.00x bare uWS), last join with its diff\'s fan-out 2410 µs (2.00x bare uWS), ' +
          'joins 1-1000 30 µs, 9000-9999 33 µs each (3.00x bare uWS), diffs at most 4/s, min gap 250 ms: within the bound',
      );
      const missed = result({ splits: [{ joinUs: 61, nextJoinUs: 45, fanOutUs: 2000, separated: true }], coalescing: { ...result({}).coalescing, observer: { maxInSecond: 5, minGapMs: 241 }, withinBound: false }, errors: { 'error rate_limited': 2 } });
      expect(presenceSummary(missed)).to.equal(
        'warren/local presence 10000: join alone 61 µs (target 50: NOT met), the next in its window 45 µs, last join with its diff\'s fan-out 2410 µs, joins 1-1000 30 µs, 9000-9999 33 µs each, ' +
          'diffs at most 5/s, min gap 241 ms: OUTSIDE the bound, errors error rate_limited ×2',
      );
    });

    it('calls arrivals outside the bound delivery jitter only when the baseline, which waits 250 ms by construction, saw them as close', () => {
      const arrivals = (maxInSecond: number, minGapMs: number) => result({ coalescing: { ...result({}).coalescing, observer: { maxInSecond, minGapMs }, withinBound: withinCoalescingBound({ maxInSecond, minGapMs }) } });
      expect(coalescingVerdict(arrivals(4, 250))).to.equal('within the bound');
      expect(coalescingVerdict(arrivals(4, 244), arrivals(4, 227))).to.equal('within the bound but for delivery jitter (bare uWS, whose timer waits 250 ms, saw 4/s and 227 ms)');
      expect(coalescingVerdict(arrivals(5, 244), arrivals(5, 227))).to.match(/^within the bound but for delivery jitter/);
      expect(coalescingVerdict(arrivals(4, 226), arrivals(4, 227))).to.equal('OUTSIDE the bound');
      expect(coalescingVerdict(arrivals(5, 244), arrivals(4, 227))).to.equal('OUTSIDE the bound');
      expect(coalescingVerdict(arrivals(4, 244))).to.equal('OUTSIDE the bound');
    });
  });

  describe('a tiny run', () => {
    const daemon = useDaemon();

    it('has 50 connections join one room, the last told of all 50, and says what it measured', async function () {
      this.timeout(60_000);
      const result = await measurePresence(daemonTarget(daemon()), { clients: 50, workers: 2, timeoutMs: 20_000 });
      expect(result).to.include({ target: 'warren/local', clients: 50, room: 'presence-bench' });
      expect(result.errors).to.deep.equal({});
      expect(result.early).to.include({ from: 0, to: 24 });
      expect(result.late).to.include({ from: 25, to: 49 });
      // Under maxListed (100): every member listed, the last joiner among them.
      expect(result.last.presence).to.deep.equal({ index: 49, users: 50, listed: 50, truncated: false });
      for (const window of [result.early, result.late]) {
        expect(window.cpuUs).to.have.keys('daemon');
        expect(window.usPerJoin).to.be.above(0);
        expect(window.diffFrames).to.be.above(0);
      }
      expect(result.last.totalUs).to.be.above(0);
      expect(result.splits).to.have.length(5);
      for (const split of result.splits) expect([split.joinUs, split.nextJoinUs, split.fanOutUs].every((us) => us > 0), JSON.stringify(split)).to.equal(true);
      // Every member was told of every change, and at least of the last join, the leaves and rejoins.
      expect(result.coalescing.observer.maxInSecond).to.be.at.least(1);
      expect(result.coalescing.diffs).to.be.at.least(48 * 12);
      expect(result.coalescing.withinBound).to.equal(withinCoalescingBound(result.coalescing.observer));
      expect(result.scrapeUs).to.be.above(0);
      expect(presenceSummary(result)).to.match(/^warren\/local presence 50: join alone .* µs .*, last join with its diff's fan-out [\d.]+ µs, joins 1-24 [\d.]+ µs, 26-49 [\d.]+ µs each, diffs at most \d+\/s, min gap [\d.]+ ms: (within|OUTSIDE) the bound$/);
    });
  });
});
