// The paced mode of the benchmark: its schedule, the search for the highest
// rate under the bound, its summary lines, and one tiny paced run against a
// real daemon for what it reports (never for how fast).
import { expect } from 'chai';
import fc from 'fast-check';
import type { FanoutResult } from '../../bench/measure';
import { findHighest, measurePaced, nextRate, pacedDaemonEnv, type PacedResult, passes, WARMUP_SECONDS } from '../../bench/paced';
import { describePaced, pacedSummary, sweepSummary } from '../../bench/paced_report';
import { burstSchedule, pacedSchedule } from '../../bench/pacing';
import { useDaemon } from '../support/lifecycle';
import { daemonTarget, idleLoad } from './targets';

describe('bench paced mode', () => {
  describe('schedule', () => {
    it('sends each client its says one period apart, the clients a fraction of a period apart', () => {
      // 4 clients at 10/s: a period of 100 ms, the clients' phases 25 ms apart.
      const schedule = pacedSchedule(4, 3, 10);
      const stamps = (index: number) => [0, 1, 2].map((k) => schedule.stampUs(index, k, 1_000_000, 0) - 1_000_000);
      expect(stamps(0)).to.deep.equal([0, 100_000, 200_000]);
      expect(stamps(1)).to.deep.equal([25_000, 125_000, 225_000]);
      expect(stamps(3)).to.deep.equal([75_000, 175_000, 275_000]);
    });

    it('is due to have sent exactly the says whose scheduled time has come, and no more than M', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 200 }), fc.double({ min: 0.1, max: 5000, noNaN: true }), fc.nat(), fc.integer({ min: 0, max: 100_000_000 }), (clients, messages, rate, i, elapsedUs) => {
          const schedule = pacedSchedule(clients, messages, rate);
          const index = i % clients;
          const scheduled = Array.from({ length: messages }, (_, k) => schedule.stampUs(index, k, 0, 0)).filter((at) => at <= elapsedUs).length;
          expect(schedule.due(index, elapsedUs)).to.equal(scheduled);
        }),
        { numRuns: 300 },
      );
    });

    it('spreads the first says of all clients evenly over one period', () => {
      const schedule = pacedSchedule(8, 5, 50);
      const firsts = Array.from({ length: 8 }, (_, i) => schedule.stampUs(i, 0, 0, 0));
      expect(firsts).to.deep.equal([0, 2500, 5000, 7500, 10_000, 12_500, 15_000, 17_500]);
    });

    it('stamps each say with its scheduled time, however late it goes; a burst stamps the time it goes', () => {
      const late = 10_000_000_000;
      expect(pacedSchedule(4, 3, 10).stampUs(1, 2, 1_000_000, late)).to.equal(1_225_000);
      expect(burstSchedule(100, 50, 200).stampUs(1, 2, 1_000_000, late)).to.equal(late);
    });
  });

  describe('highest rate under the bound', () => {
    const result = (fields: Partial<FanoutResult>): FanoutResult => ({
      target: 'warren/local', says: 100, expected: 100, delivered: 100, lost: 0, acks: 100, errors: {}, ended: 'complete', connectSeconds: 0.1,
      completionSeconds: 1, deliveriesPerSecond: 100, latencyMs: { p50: 1, p95: 2, p99: 3, max: 4 }, latencySamples: 100, cpuSeconds: { daemon: 0.01 }, loadGeneratorCpuSeconds: 0.01,
      peakRssBytes: {}, series: [], runWindow: { fromUs: 0, toUs: 1 }, auth: false, ...fields,
    });

    it('passes a run only when complete, with nothing lost, no error and p99 under 100 ms', () => {
      expect(passes(result({}))).to.equal(true);
      expect(passes(result({ latencyMs: { p50: 1, p95: 2, p99: 99.9, max: 400 } }))).to.equal(true);
      expect(passes(result({ latencyMs: { p50: 1, p95: 2, p99: 100, max: 400 } }))).to.equal(false);
      expect(passes(result({ lost: 1 }))).to.equal(false);
      expect(passes(result({ errors: { rate_limited: 1 } }))).to.equal(false);
      expect(passes(result({ ended: 'timed out after 11 s' }))).to.equal(false);
    });

    it('climbs a ladder of 20% rungs to the first failure, then bisects three times', async () => {
      const highest = await findHighest(1000, async (rate) => rate < 500);
      expect(highest.tried.map((probe) => probe.rate)).to.deep.equal([200, 400, 600, 500, 450, 475]);
      expect(highest).to.include({ rate: 475, capped: false });
    });

    it('stops climbing at a loss: no rung above it is tried', async () => {
      const outcome = (rate: number) => result({ lost: rate >= 400 ? 1 : 0 });
      const highest = await findHighest(1000, async (rate) => passes(outcome(rate)));
      expect(Math.max(...highest.tried.map((probe) => probe.rate))).to.equal(400);
      expect(highest.rate).to.equal(375);
    });

    it('says when every rung passed, and when none did', async () => {
      expect(await findHighest(1000, async () => true)).to.include({ rate: 2000, capped: true });
      const none = await findHighest(1000, async () => false);
      expect(none.tried.map((probe) => probe.rate)).to.deep.equal([200, 100, 50, 25]);
      expect(none).to.not.have.property('rate');
      expect(nextRate(1000, none.tried)).to.equal(undefined);
    });

    it('raises the rate limit of the daemon it starts only when a paced run may exceed it', () => {
      expect(pacedDaemonEnv({ rate: 50 })).to.deep.equal({});
      expect(pacedDaemonEnv({ rate: 50, duration: 5, ratePerClient: 50 })).to.deep.equal({});
      expect(pacedDaemonEnv({ rate: 50, duration: 5, ratePerClient: 51 })).to.deep.equal({ FRAME_RATE: '100000', FRAME_BURST: '100000' });
      expect(pacedDaemonEnv({ rate: 50, duration: 5 })).to.deep.equal({ FRAME_RATE: '100000', FRAME_BURST: '100000' });
    });

    it('sums up each target in one line, warren against the baseline', () => {
      const paced = (target: string, p99: number, cpu: number, rate: number): PacedResult => ({
        ...result({ target, says: 10_000, expected: 1_000_000, delivered: 1_000_000, latencyMs: { p50: 2, p95: 5, p99, max: 2 * p99 }, cpuSeconds: { daemon: cpu }, loadGeneratorCpuSeconds: 0.5 }),
        ratePerClient: rate / 100, durationSeconds: 5, warmupSeconds: 1, offeredSaysPerSecond: rate, offeredDeliveriesPerSecond: rate * 100,
      });
      const baseline = paced('bare uWS', 10, 0.01, 2000);
      expect(describePaced(paced('warren/local', 30, 0.03, 2000), 0.5, baseline)).to.equal(
        "warren/local at 2,000 says/s (20.0/s per client, 50% of bare uWS's saturation, 1 s warm-up + 5 s): 200,000 deliveries/s offered; latency from the scheduled send p50 2.0 ms (1.00x bare uWS), " +
          'p99 30 ms (3.00x bare uWS), max 60 ms; delivered 1,000,000 of 1,000,000, lost 0, errors none; 3.00 us/say (3.00x bare uWS) server CPU, load generator CPU 0.5 s',
      );
      expect(pacedSummary(paced('warren/local', 30, 0.03, 2000), '100 clients', baseline)).to.equal(
        'warren/local paced 100 clients at 20/s per client for 5 s: 2000 says/s, 200000 deliveries/s offered, p50 2.0 ms, p99 30 ms (3.00x bare uWS), max 60 ms, 3.00 us/say (3.00x bare uWS), lost 0',
      );
      const outcome = (target: string, p99: number, cpu: number, highest: number) => ({
        target,
        points: [{ share: 0.5, result: paced(target, p99, cpu, 2000) }, { share: 0.8, result: paced(target, 2 * p99, cpu, 3200) }],
        highest: { rate: highest, capped: false, tried: [] },
      });
      const theirs = outcome('bare uWS', 10, 0.01, 3600);
      expect(sweepSummary(theirs, '100 clients', 5, 4000)).to.equal(
        'bare uWS paced 100 clients for 5 s: saturation 4000 says/s (a burst); 50% (2000 says/s) p50 2.0 ms, p99 10 ms, max 20 ms; 80% (3200 says/s) p50 2.0 ms, p99 20 ms, max 40 ms; p99 < 100 ms up to 3600 says/s; 1.00 us/say at 80%; lost 0',
      );
      expect(sweepSummary(outcome('warren/local', 40, 0.02, 1800), '100 clients', 5, 4000, theirs)).to.equal(
        'warren/local paced 100 clients for 5 s: 50% (2000 says/s) p50 2.0 ms (1.00x bare uWS), p99 40 ms (4.00x bare uWS), max 80 ms; 80% (3200 says/s) p50 2.0 ms (1.00x bare uWS), p99 80 ms (4.00x bare uWS), max 160 ms; ' +
          'p99 < 100 ms up to 1800 says/s (0.50x bare uWS); 2.00 us/say (2.00x bare uWS) at 80%; lost 0',
      );
    });
  });

  describe('a paced run', () => {
    const daemon = useDaemon();

    it('sends every client R says a second for a warm-up and S seconds, and reports the deliveries, the offered load and the percentiles after the warm-up', async function () {
      this.timeout(30_000);
      const load = idleLoad(`ws://127.0.0.1:${daemon().port}`, 4);
      const result = await measurePaced(daemonTarget(daemon()), load, 80, 1, 2, 20);
      expect(WARMUP_SECONDS).to.equal(1);
      expect(result).to.include({ target: 'warren/local', ratePerClient: 20, durationSeconds: 1, warmupSeconds: 1, says: 160, expected: 640, delivered: 640, lost: 0, acks: 160, ended: 'complete' });
      // Client i's say k is scheduled at (i / 4 + k) / 20 s: from k = 20 on, after the warm-up; 4 deliveries each.
      expect(result.latencySamples).to.equal(320);
      expect(result).to.include({ offeredSaysPerSecond: 80, offeredDeliveriesPerSecond: 320 });
      expect(result.errors).to.deep.equal({});
      const { p50, p99, max } = result.latencyMs;
      expect(p50).to.be.a('number').at.least(0).and.at.most(p99);
      expect(max).to.be.at.least(p99);
      // The last say is scheduled (3/4 + 39) / 20 s after the start signal: paced, not a burst.
      expect(result.completionSeconds).to.be.at.least(1.9875);
      expect(result.cpuSeconds).to.have.keys('daemon');
      expect(pacedSummary(result, '4 clients')).to.match(/^warren\/local paced 4 clients at 20\/s per client for 1 s: 80 says\/s, 320 deliveries\/s offered, p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms, [\d.]+ us\/say, lost 0$/);
    });
  });
});
