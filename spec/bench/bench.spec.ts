// The benchmark's pure parts: its command line, the expected deliveries, the
// frames it writes and reads, its pacing under the rate limit, percentile
// math and the summary line scripts read; and a tiny reconnect storm against
// a real daemon, for what it reports (never for how fast).
import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { niceCeiling, renderChart } from '../../bench/chart';
import { summarizeProfile } from '../../bench/cpu_profile';
import { paddingFor, replayedNumberOf, sayFrame, sentUsOf } from '../../bench/frames';
import type { FanoutResult, IdleResult } from '../../bench/measure';
import { DEFAULT_IDLE, DEFAULT_STORM, DEFAULTS, expectedDeliveries, parseOptions, roomSizes, roomSummary, UsageError } from '../../bench/options';
import { saysAllowed } from '../../bench/pacing';
import { describeFanout, describeIdle, fanoutSummary, idleSummary, stormSummary } from '../../bench/report';
import { measureStorm, stormDaemonEnv, type StormResult } from '../../bench/storm';
import { percentile, percentiles, timeSeries } from '../../bench/stats';
import { decodeClientFrame } from '../../lib/protocol/client_frames';
import { encodeMessage, encodeReplay } from '../../lib/protocol/server_frames';
import { RateLimiter } from '../../lib/rate_limiter';
import { useDaemon } from '../support/lifecycle';
import { daemonTarget } from './targets';

describe('bench', () => {
  describe('options', () => {
    it('has the defaults of the issue', () => {
      expect(parseOptions([])).to.deep.equal(DEFAULTS);
      expect(DEFAULTS).to.include({ clients: 100, messages: 100, rooms: 1, broker: 'local', baseline: true, rate: 50, burst: 200 });
    });

    it('reads every option', () => {
      const options = parseOptions(['--clients', '200', '--messages', '50', '--rooms', '4', '--payload', '100', '--broker', 'rabbitmq', '--amqp-url', 'amqp://x', '--timeout', '5', '--no-baseline', '--workers', '3', '--repeat', '5', '--profile']);
      expect(options).to.include({ clients: 200, messages: 50, rooms: 4, payload: 100, broker: 'rabbitmq', amqpUrl: 'amqp://x', timeoutSeconds: 5, baseline: false, workers: 3, repeat: 5, profile: true });
      expect(parseOptions(['--url', 'ws://127.0.0.1:8081/', '--pid', '42'])).to.include({ url: 'ws://127.0.0.1:8081', pid: 42 });
    });

    it('takes --idle with or without a count', () => {
      expect(parseOptions(['--idle']).idle).to.equal(DEFAULT_IDLE);
      expect(parseOptions(['--idle', '--broker', 'local']).idle).to.equal(DEFAULT_IDLE);
      expect(parseOptions(['--idle', '500']).idle).to.equal(500);
    });

    it('takes --reconnect-storm with or without a count, the missed messages from --messages', () => {
      expect(parseOptions(['--reconnect-storm', '--broker', 'rabbitmq'])).to.include({ reconnectStorm: DEFAULT_STORM, broker: 'rabbitmq', messages: 100 });
      expect(DEFAULT_STORM).to.equal(1000);
      expect(parseOptions(['--reconnect-storm', '20', '--messages', '10'])).to.include({ reconnectStorm: 20, messages: 10 });
      expect(() => parseOptions(['--reconnect-storm', '--idle'])).to.throw(UsageError, /two modes/);
    });

    it('refuses what it cannot run, saying why', () => {
      const refused = (argv: string[], reason: RegExp) => expect(() => parseOptions(argv)).to.throw(UsageError, reason);
      refused(['--clients', '0'], /--clients must be an integer >= 1/);
      refused(['--clients', '1.5'], /--clients must be an integer/);
      refused(['--clients'], /--clients needs a value/);
      refused(['--broker', 'kafka'], /local or rabbitmq/);
      refused(['--payload', '10'], />= 17/);
      refused(['--url', 'http://x'], /ws:\/\/host:port/);
      refused(['--rooms', '5', '--clients', '4'], /cannot exceed --clients/);
      refused(['--pid', '1'], /only goes with --url/);
      refused(['--amqp-url', 'amqp://x'], /only goes with --broker rabbitmq/);
      refused(['--frobnicate'], /unknown option --frobnicate/);
    });

    it('takes --direct as pairs of clients, each pair a room of two, and refuses what pairs cannot be', () => {
      expect(parseOptions(['--direct', '--clients', '1000'])).to.include({ direct: true, clients: 1000, rooms: 500 });
      expect(roomSizes(1000, 500).every((size) => size === 2)).to.equal(true);
      const refused = (argv: string[], reason: RegExp) => expect(() => parseOptions(argv)).to.throw(UsageError, reason);
      refused(['--direct', '--clients', '7'], /even --clients/);
      refused(['--direct', '--rooms', '2'], /not with --rooms/);
      refused(['--rooms', '2', '--direct'], /not with --rooms/);
      refused(['--direct', '--idle'], /--direct goes with the fanout/);
    });

    it('takes --duration alone (the sweep) or with --rate-per-client, and refuses a rate the daemon would refuse', () => {
      expect(parseOptions(['--duration', '5'])).to.include({ duration: 5 }).and.not.have.property('ratePerClient');
      expect(parseOptions(['--duration', '1', '--rate-per-client', '2.5', '--direct'])).to.include({ duration: 1, ratePerClient: 2.5, direct: true });
      expect(parseOptions(['--duration', '1', '--rate-per-client', '50', '--url', 'ws://127.0.0.1:1'])).to.include({ ratePerClient: 50 });
      const refused = (argv: string[], reason: RegExp) => expect(() => parseOptions(argv)).to.throw(UsageError, reason);
      refused(['--rate-per-client', '5'], /only goes with --duration/);
      refused(['--duration', '1', '--rate-per-client', '0'], /above 0/);
      refused(['--duration', '1', '--rate-per-client', '51', '--url', 'ws://127.0.0.1:1'], /above the daemon's rate limit of 50 frames\/s/);
      refused(['--duration', '1', '--rate-per-client', '90', '--rate', '80', '--url', 'ws://127.0.0.1:1'], /rate limit of 80 frames\/s/);
      refused(['--duration', '1', '--url', 'ws://127.0.0.1:1'], /give --rate-per-client/);
      refused(['--duration', '1', '--no-baseline'], /against the baseline/);
      refused(['--duration', '1', '--idle'], /mode of the fanout/);
      refused(['--duration', '1', '--repeat', '3'], /not --duration/);
    });
  });

  describe('expected deliveries', () => {
    it('is N × N × M in one room', () => {
      expect(expectedDeliveries(100, 100, 1)).to.equal(1_000_000);
      expect(expectedDeliveries(200, 50, 1)).to.equal(2_000_000);
    });

    it('sums up how the clients fall into rooms', () => {
      expect(roomSummary(1000, 1000)).to.equal('1000 rooms of 1 client');
      expect(roomSummary(100, 1)).to.equal('1 room of 100 clients');
      expect(roomSummary(1000, 334)).to.equal('332 rooms of 3 clients, 2 of 2');
      expect(roomSummary(11, 3)).to.equal('2 rooms of 4 clients, 1 of 3');
      expect(roomSummary(1000, 500, true)).to.equal('direct messages: 500 pairs');
    });

    it('is the sum over rooms of size² × M, client i in room i mod R', () => {
      expect(roomSizes(10, 3)).to.deep.equal([4, 3, 3]);
      expect(expectedDeliveries(10, 5, 3)).to.equal((16 + 9 + 9) * 5);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 500 }), (clients, r) => {
          const rooms = Math.min(clients, r);
          const sizes = roomSizes(clients, rooms);
          expect(sizes.reduce((a, b) => a + b, 0)).to.equal(clients);
          const byModulo = Array.from({ length: rooms }, (_, room) => Array.from({ length: clients }, (_, i) => i).filter((i) => i % rooms === room).length);
          expect(sizes).to.deep.equal(byModulo);
        }),
        { numRuns: 50 },
      );
    });
  });

  describe('frames', () => {
    it('reads the send time back from the message frame the daemon encodes', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 17, max: 4000 }), fc.string({ minLength: 1, maxLength: 64 }), (sentUs, payload, room) => {
          const say = decodeClientFrame(sayFrame(sentUs, 'c1', paddingFor(payload)), { maxTextChars: 4000 });
          expect(say).to.include({ type: 'say', id: 'c1' });
          const text = (say as { text: string }).text;
          expect([...text]).to.have.length(payload);
          const frame = encodeMessage({ room, msgId: 'vm-1-42', pos: '42', from: 'bench-7', user: 'anon:s7', text, ts: 1_764_100_000_000 });
          expect(sentUsOf(Buffer.from(frame))).to.equal(sentUs);
        }),
      );
    });

    it('reads the number back from a replayed message, and only from a replay', () => {
      const frame = encodeMessage({ room: 'storm', msgId: 'vm-1-42', pos: '42', from: 'sender', user: 'anon:s', text: 'xx 0000000000000042', ts: 1_764_100_000_000 });
      expect(replayedNumberOf(Buffer.from(encodeReplay(frame)))).to.equal(42);
      expect(replayedNumberOf(Buffer.from(frame))).to.be.NaN;
      expect(sentUsOf(Buffer.from(encodeReplay(frame)))).to.be.NaN;
    });

    it('reads nothing from other frames', () => {
      for (const frame of ['{"type":"ack","id":"1","msgId":"x"}', '{"type":"message","text":"hi","ts":1764100000000}', '{"type":"error","code":"x","message":"y"}']) {
        expect(sentUsOf(Buffer.from(frame)), frame).to.be.NaN;
      }
    });
  });

  describe('pacing', () => {
    it('never trips the daemon rate limiter, even when the daemon reads late', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 50 }), (messages, lags) => {
          const limiter = new RateLimiter({ rate: { perSecond: 50, burst: 200 }, ratePolicy: { maxDropped: 100, windowMs: 10_000 } });
          let sent = 0;
          // The load generator's 10 ms ticks; the daemon reads each tick's frames up to 300 ms late but in order.
          let readAt = 0;
          for (let tick = 0; sent < messages; tick += 10) {
            const allowed = saysAllowed(tick, messages, 50, 200);
            readAt = Math.max(readAt, tick + lags[(tick / 10) % lags.length]!);
            for (; sent < allowed; sent++) expect(limiter.admit(1000 + readAt), `say ${sent} at ${tick} ms`).to.equal('ok');
          }
        }),
        { numRuns: 50 },
      );
    });

    it('sends 100 messages at once, within the burst', () => {
      expect(saysAllowed(0, 100, 50, 200)).to.equal(100);
      expect(saysAllowed(0, 1000, 50, 200)).to.equal(180);
      expect(saysAllowed(1000, 1000, 50, 200)).to.equal(225);
    });
  });

  describe('statistics', () => {
    it('takes nearest-rank percentiles', () => {
      const sorted = Float32Array.from({ length: 100 }, (_, i) => i + 1);
      expect([percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99), percentile(sorted, 100)]).to.deep.equal([50, 95, 99, 100]);
      expect(percentile([7], 99)).to.equal(7);
      expect(percentile([], 50)).to.be.NaN;
      expect(percentiles(Float32Array.from([5, 1, 4, 2, 3]))).to.deep.equal({ p50: 3, p95: 5, p99: 5, max: 5 });
    });

    it('splits the run into slices of rate and latency', () => {
      const receivedAt = Float32Array.from([0, 10, 20, 150, 199]);
      const latency = Float32Array.from([1, 2, 3, 40, 50]);
      const series = timeSeries(receivedAt, latency, 200, 2);
      expect(series.map((s) => s.atMs)).to.deep.equal([0, 100]);
      expect(series.map((s) => s.deliveriesPerSecond)).to.deep.equal([30, 20]);
      expect(series.map((s) => s.latency?.p50)).to.deep.equal([2, 40]);
      expect(timeSeries(Float32Array.from([5]), Float32Array.from([1]), 100, 4)[1]).to.not.have.property('latency');
    });

    it('rounds chart axes to 1, 2 or 5 × 10^n', () => {
      expect([0.7, 1, 1.3, 3, 7, 740, 1_440_000].map(niceCeiling)).to.deep.equal([1, 1, 2, 5, 10, 1000, 2_000_000]);
    });
  });

  describe('cpu profile', () => {
    it('finds the longest run of samples without a pause, within the window', () => {
      const frame = (functionName: string) => ({ functionName, url: '', lineNumber: 0 });
      const file = join(mkdtempSync(join(tmpdir(), 'warren-profile-')), 'CPU.cpuprofile');
      // Each sample covers the time delta before it: busy 0-25, idle 25-35, busy 35-45, idle 45-55.
      const profile = { startTime: 0, nodes: [{ id: 1, callFrame: frame('(idle)') }, { id: 2, callFrame: frame('work') }], samples: [2, 2, 2, 1, 2, 1], timeDeltas: [5, 10, 10, 10, 10, 10] };
      writeFileSync(file, JSON.stringify(profile));
      expect(summarizeProfile(file)).to.include({ totalMs: 0.055, busyMs: 0.035, longestBusyMs: 0.025 });
      expect(summarizeProfile(file, { fromUs: 30, toUs: 60 })).to.include({ busyMs: 0.01, longestBusyMs: 0.01 });
    });
  });

  describe('report', () => {
    const result = (fields: Partial<FanoutResult>): FanoutResult => ({
      target: 'warren/rabbitmq',
      says: 10_000,
      expected: 1_000_000,
      delivered: 1_000_000,
      lost: 0,
      acks: 10_000,
      errors: {},
      ended: 'complete',
      connectSeconds: 0.2,
      completionSeconds: 1.42,
      deliveriesPerSecond: 704_225.4,
      latencyMs: { p50: 90, p95: 160, p99: 180.4, max: 200 },
      latencySamples: 1_000_000,
      cpuSeconds: { daemon: 1.0, rabbitmq: 0.3 },
      loadGeneratorCpuSeconds: 1,
      peakRssBytes: {},
      series: [],
      runWindow: { fromUs: 0, toUs: 1 },
      auth: false,
      ...fields,
    });

    it('ends with the one-line summary of the issue', () => {
      const baseline = result({ target: 'bare uWS', completionSeconds: 0.75, cpuSeconds: { 'bare uWS': 0.2 } });
      expect(fanoutSummary(result({}), '100x100', baseline)).to.equal('warren/rabbitmq 100x100, auth off: 1.42 s, 704225 deliveries/s, 1.30 us/delivery, 130.00 us/say (6.50x bare uWS), p99 180 ms, 1.89x bare uWS, lost 0');
      expect(fanoutSummary(result({}), '100x100')).to.equal('warren/rabbitmq 100x100, auth off: 1.42 s, 704225 deliveries/s, 1.30 us/delivery, 130.00 us/say, p99 180 ms, lost 0');
      expect(fanoutSummary(result({ auth: true }), '100x100')).to.equal('warren/rabbitmq 100x100, auth on: 1.42 s, 704225 deliveries/s, 1.30 us/delivery, 130.00 us/say, p99 180 ms, lost 0');
    });

    it('gives the server CPU per say beside that per delivery: equal in rooms of one, half in pairs', () => {
      const alone = result({ says: 1000, delivered: 1000, expected: 1000, cpuSeconds: { daemon: 0.002 } });
      expect(describeFanout(alone)).to.include('daemon 0.00 s (2.00 µs/delivery); 2.00 µs per say (1,000 says)');
      const pairs = result({ says: 1000, delivered: 2000, expected: 2000, cpuSeconds: { daemon: 0.002 } });
      const baseline = result({ target: 'bare uWS', says: 1000, delivered: 2000, expected: 2000, completionSeconds: 1, cpuSeconds: { 'bare uWS': 0.001 } });
      expect(describeFanout(pairs, baseline)).to.include('(1.00 µs/delivery); 2.00 µs per say (1,000 says)').and.include('2.00x the server CPU per delivery, 2.00x per say');
      expect(fanoutSummary(pairs, '1000x1/direct', baseline)).to.include('1.00 us/delivery, 2.00 us/say (2.00x bare uWS)');
    });

    it('says when a run did not complete, and its errors', () => {
      const failed = result({ completionSeconds: undefined, deliveriesPerSecond: undefined, delivered: 999_000, lost: 1000, ended: 'timed out after 60 s', errors: { rate_limited: 10 } });
      expect(fanoutSummary(failed, '100x100')).to.equal('warren/rabbitmq 100x100, auth off: incomplete (timed out after 60 s), - deliveries/s, 1.30 us/delivery, 130.00 us/say, p99 180 ms, lost 1000, errors 10');
    });

    it('summarises the idle mode: memory per connection and accepts/s, each against the baseline, and whether auth was on', () => {
      const idle = (target: string, perConnection: number, acceptsPerSecond: number, auth = false): IdleResult => ({
        target,
        connections: 10_000,
        connectSeconds: 3,
        acceptSeconds: 10_000 / acceptsPerSecond,
        acceptsPerSecond,
        connectsInFlight: 200,
        auth,
        rssBeforeBytes: 0,
        rssAfterBytes: 0,
        rssPerConnectionBytes: perConnection,
      });
      expect(idleSummary(idle('warren/local', 3174, 2000), idle('bare uWS', 2645, 2500))).to.equal('warren idle 10000, auth off: 3.1 KiB/conn (1.20x bare uWS), 2000 accepts/s (0.80x bare uWS)');
      expect(idleSummary(idle('warren/local', 3174, 1500.4, true), idle('bare uWS', 2645, 2500, true))).to.equal('warren idle 10000, auth on: 3.1 KiB/conn (1.20x bare uWS), 1500 accepts/s (0.60x bare uWS)');
      expect(idleSummary(idle('warren/url', 3174, 1500, true))).to.equal('warren idle 10000, auth on: 3.1 KiB/conn, 1500 accepts/s');
    });

    it('gives what observing the idle node cost it: the dearest sort of /debug/top in the summary, every sort in the report', () => {
      const cost = (cpuMs: number) => ({ requests: 20, cpuMs, wallMs: { mean: cpuMs + 1, max: cpuMs + 5 } });
      const observed: IdleResult = {
        target: 'warren/local', connections: 10_000, connectSeconds: 3, acceptSeconds: 5, acceptsPerSecond: 2000, connectsInFlight: 200, auth: false,
        rssBeforeBytes: 0, rssAfterBytes: 0, rssPerConnectionBytes: 3174,
        observer: { n: 50, actors: 20_012, idleSeconds: 10, idleCpuPercent: 0.321, observedCpuPercent: 1.234, top: { mailbox: cost(6.21), rate: cost(7.5), restarts: cost(12.3) } },
      };
      expect(idleSummary(observed)).to.equal('warren idle 10000, auth off: 3.1 KiB/conn, 2000 accepts/s, /debug/top 12 ms CPU, idle 0.3% CPU (1.2% observed)');
      const report = describeIdle(observed);
      expect(report).to.include(
        "  idle CPU     0.32% of a core over 10 s with nothing asked (the sampler's point a second, and the node's timers); 1.23% while observed (the sampler's walk of 20,012 actors each second for their rates)",
      );
      expect(report).to.include(
        '  /debug/top   n=50, 20 requests each, one after the other: by mailbox 6.2 ms CPU, 7.2 ms wall (max 11); by rate 7.5 ms CPU, 8.5 ms wall (max 13); by restarts 12 ms CPU, 13 ms wall (max 17) (target: under 20 ms of daemon CPU)',
      );
    });

    it('names every storm client that did not recover, and gives no storm time then', () => {
      const storm: StormResult = {
        target: 'warren/rabbitmq',
        clients: 20,
        messages: 10,
        room: 'storm',
        recovered: 17,
        outcomes: { recovered: 17, 'welcome recovered: false': 2, 'closed 1006': 1 },
        live: 17,
        recoveryMs: { p50: 12, p95: 20, p99: 30.4, max: 31 },
        welcomeMs: { p50: 10, p95: 20, p99: 30, max: 31 },
        eventLoopLag: { maxMs: 4.2, p99Ms: 4, meanMs: 1 },
        idleLoopLag: { maxMs: 1, p99Ms: 1, meanMs: 0.1 },
        cpuSeconds: { daemon: 0.5, rabbitmq: 0.01 },
        loadGeneratorCpuSeconds: 0.2,
        connectSeconds: 1,
        runWindow: { fromUs: 0, toUs: 1 },
      };
      expect(stormSummary(storm)).to.equal('warren/rabbitmq storm 20x10: 17/20 recovered (p50 12 ms, p99 30 ms, max 31 ms), FAILED: welcome recovered: false ×2, closed 1006 ×1, event-loop lag max 4.2 ms, daemon CPU 0.50 s');
    });

    it('draws a chart that is one well-formed SVG', () => {
      const series = timeSeries(Float32Array.from([0, 50, 99]), Float32Array.from([1, 2, 3]), 100, 4);
      const svg = renderChart('a <title> & more', [{ label: 'bare uWS', series }, { label: 'warren/local', series }]);
      expect(svg).to.match(/^<svg [^]*<\/svg>\n$/);
      expect(svg).to.include('a &lt;title&gt; &amp; more');
      expect(svg.match(/<polyline /g)).to.have.length(6);
    });
  });

  describe('reconnect storm', () => {
    const daemon = useDaemon(undefined, { env: stormDaemonEnv(10) });

    it('has every client recover the 10 messages it missed, and says so in its report', async function () {
      this.timeout(60_000);
      const result = await measureStorm(daemonTarget(daemon()), { clients: 20, messages: 10, payload: 64, workers: 2, timeoutMs: 20_000, rate: 50, burst: 200 });
      expect(result).to.include({ target: 'warren/local', clients: 20, messages: 10, recovered: 20, live: 20 });
      expect(result.outcomes).to.deep.equal({ recovered: 20 });
      expect(result.daemonRecoveries).to.deep.equal({ recovered: 20, not_recovered: 0 });
      expect(result.stormSeconds).to.be.a('number').above(0);
      // Percentiles are taken over a Float32Array: the storm's length rounded the same way bounds them.
      expect(result.recoveryMs.max).to.be.at.least(result.recoveryMs.p50).and.at.most(Math.fround(result.stormSeconds! * 1000));
      expect(result.eventLoopLag?.maxMs).to.be.a('number').at.least(0);
      expect(result.cpuSeconds).to.have.keys('daemon');
      expect(stormSummary(result)).to.match(/^warren\/local storm 20x10: 20\/20 recovered in [\d.]+ s \(p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms\), event-loop lag max [\d.]+ ms, daemon CPU [\d.]+ s$/);
    });
  });
});
