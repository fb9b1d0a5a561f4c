import { expect } from 'chai';
import { LagMeter, microsToMs, perSecond, sampler } from '../../lib/actors/sampler';
import { deliveries, publishes } from '../../lib/metrics';
import { MARKS, NodeSeries, POINTS } from '../../lib/node_series';
import { Application } from '../../lib/otp/application';
import { type SamplerRef, type SamplerState } from '../../lib/actors/sampler';
import { call, cast, startLink } from '../../lib/otp/gen_server';
import { type Link, messagesHandled } from '../../lib/otp/process';
import { startLink as startSupervisor } from '../../lib/otp/supervisor';
import { getState, whereis } from '../../lib/otp/sys';
import { top } from '../../lib/otp/top';
import { eventually } from '../support/eventually';
import { type ProbeRef, probeSpec } from '../support/probe';

/** connection_sup as the sampler finds it: the open sockets are its children. */
const connectionSup = (ids: string[]) => ({
  id: 'connection_sup',
  type: 'supervisor' as const,
  start: (link: Link) => startSupervisor(link, { init: () => ({ flags: { strategy: 'one_for_one' as const }, children: ids.map((id) => probeSpec({ id, journal: [] })) }) }, undefined),
});

describe('sampler: the node\'s figures each interval', function () {
  let app: Application;
  let series: NodeSeries;
  beforeEach(async () => {
    series = new NodeSeries(POINTS, MARKS);
    // Counted before the sampler started: none of it is in its rates.
    publishes.inc('acked', 7);
    deliveries.inc(9);
    app = await Application.start({
      name: 'node_sup',
      supervisor: {
        init: () => ({
          flags: { strategy: 'one_for_one' as const, intensity: 10 },
          children: [
            probeSpec({ id: 'relay', journal: [] }),
            connectionSup(['connection-1', 'connection-2']),
            { id: 'sampler', start: (link: Link) => startLink(link, sampler, { root: link.parent, series, intervalMs: 50, observedMs: 300 }) },
          ],
        }),
      },
      args: undefined,
      onRootExit: () => undefined,
    });
  });
  afterEach(() => app.stop());
  const samplerRef = () => whereis(app.root, '/node_sup/sampler')!.self as SamplerRef;
  const latest = () => {
    const { series: columns } = series.since();
    return Object.fromEntries(Object.entries(columns).map(([figure, values]) => [figure, values.at(-1)]));
  };

  it('writes a point each interval: connections, the relay\'s mailbox, rates from the counters, memory', async () => {
    const relay = whereis(app.root, '/node_sup/relay')!.self as ProbeRef;
    await eventually(() => expect(series.points).to.be.at.least(1));
    expect(series.since().series.messages, 'what came before it started').to.deep.equal(new Array(series.points).fill(0));
    expect(series.since().series.deliveries).to.deep.equal(new Array(series.points).fill(0));
    const stalled = call(relay, { type: 'slow', ms: 300 });
    for (const text of ['a', 'b', 'c']) cast(relay, { type: 'note', text });
    publishes.inc('acked', 50);
    deliveries.inc(200);
    await eventually(() => expect(latest()).to.include({ connections: 2, relayMailbox: 3 }));
    const after = series.points;
    await eventually(() => expect(series.points, 'a few points more, each counting only its own interval').to.be.at.least(after + 3));
    // A rate times its interval gives the count back, however long the interval was.
    const counted = (figure: 'messages' | 'deliveries' | 'actorMessages') => {
      const { series: columns } = series.since();
      return columns[figure].reduce((sum, rate, i) => (i === 0 ? sum : sum + (rate * (columns.at[i]! - columns.at[i - 1]!)) / 1000), 0);
    };
    expect(counted('messages')).to.be.closeTo(50, 1);
    expect(counted('deliveries')).to.be.closeTo(200, 1);
    // The relay's call and notes, the sampler's ticks: each message in one interval only, so no more than were ever handled.
    expect(counted('actorMessages')).to.be.within(4, messagesHandled());
    expect(latest()['rss']).to.be.above(10_000_000);
    expect(latest()['heapUsed']).to.be.above(1_000_000);
    expect(latest()['lagMs']).to.be.at.least(0);
    await stalled;
    await eventually(() => expect(Math.max(...series.since().series.actorMessages), 'the relay\'s four messages').to.be.above(0));
    expect(getState<SamplerState>(samplerRef())!.intervalMs, 'nobody asked for the processes\' rates').to.equal(0);
    const at = series.since().series.at;
    expect(at.every((time, i) => i === 0 || time > at[i - 1]!), 'in time order').to.equal(true);
  });

  it('sees the event loop blocked as lag, p99 and max, and starts each interval afresh', async () => {
    await eventually(() => expect(series.points).to.be.at.least(1));
    const blocked = series.points;
    const until = performance.now() + 120;
    while (performance.now() < until); // the loop cannot tick for 120 ms
    await eventually(() => expect(series.points).to.be.above(blocked));
    const { series: columns } = series.since();
    expect(Math.max(...columns.lagMaxMs.slice(blocked))).to.be.at.least(90);
    expect(Math.max(...columns.lagMs.slice(blocked)), 'one gap of 120 ms in some five ticks is their p99').to.be.at.least(90);
    await eventually(() => expect(series.since().series.lagMaxMs.at(-1), 'the next interval has its own max').to.be.below(90));
  });

  it('writes into the application\'s series across its own restarts', async () => {
    await eventually(() => expect(series.points).to.be.at.least(2));
    const before = series.points;
    app.kill('/node_sup/sampler');
    await eventually(() => expect(whereis(app.root, '/node_sup/sampler')!.link.restarts).to.equal(1));
    await eventually(() => expect(series.points).to.be.above(before + 1));
  });

  it('keeps the processes\' rates up while someone observes them, and stops walking the tree when nobody has for a while', async () => {
    const relay = whereis(app.root, '/node_sup/relay')!.self as ProbeRef;
    const state = () => getState<SamplerState>(samplerRef())!;
    cast(samplerRef(), { type: 'observed' });
    await eventually(() => expect(state().intervalMs).to.be.above(0));
    cast(samplerRef(), { type: 'observed' });
    await call(relay, { type: 'seen' });
    expect(state().intervalMs, 'asked again while observed: the interval goes on').to.be.above(0);
    for (const text of ['a', 'b', 'c']) cast(relay, { type: 'note', text });
    await eventually(() => expect(top(app.root, { by: 'rate', n: 1, intervalMs: state().intervalMs }).top[0]).to.include({ path: '/node_sup/relay' }));
    // 300 ms after the last `observed`: no more walks, and no rates to show.
    await eventually(() => expect(state().intervalMs).to.equal(0), 2_000);
    const frozen = whereis(app.root, '/node_sup/relay')!.processedAtSample;
    cast(relay, { type: 'note', text: 'unobserved' });
    await call(relay, { type: 'seen' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(whereis(app.root, '/node_sup/relay')!.processedAtSample, 'not sampled').to.equal(frozen);

    // Asked again after the quiet: the first interval starts at the request, not at the last walk before the quiet.
    cast(samplerRef(), { type: 'observed' });
    await eventually(() => expect(state().intervalMs).to.be.above(0));
    expect(state().intervalMs, 'one period of 50 ms, not the 300 ms of quiet').to.be.below(150);
  });

  it('shows its points, capacity, period, interval and whether it is observed, as the sampler behaviour', async () => {
    await eventually(() => expect(series.points).to.be.at.least(1));
    const described = app.describe()!.children.find((child) => child.name === 'sampler')!;
    expect(described.behaviour).to.equal('sampler');
    expect(described.info).to.deep.include({ capacity: POINTS, periodMs: 50, intervalMs: 0, observed: false });
    expect(described.info['points']).to.be.at.least(1);
    cast(samplerRef(), { type: 'observed' });
    await eventually(() => expect(app.describe()!.children.find((child) => child.name === 'sampler')!.info).to.include({ observed: true }));
  });

  it('turns counts into rates to one decimal, and µs of lateness into ms of lag to two decimals', () => {
    expect([perSecond(50, 0.5), perSecond(1, 3), perSecond(5, 0)]).to.deep.equal([100, 0.3, 0]);
    expect([microsToMs(1), microsToMs(15_000), microsToMs(2_345.6), microsToMs(12)]).to.deep.equal([0, 15, 2.35, 0.01]);
  });

  it('LagMeter: a stall right after a read is in the next read, which then starts afresh', async () => {
    const meter = new LagMeter();
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      meter.read();
      const until = performance.now() + 120;
      while (performance.now() < until); // no tick can come for 120 ms
      await new Promise((resolve) => setTimeout(resolve, 30));
      const stalled = meter.read();
      expect(stalled.max).to.be.at.least(100);
      expect(stalled.p99).to.be.at.least(100);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(meter.read().max, 'the stall is in no later interval').to.be.below(100);
      meter.stop();
      meter.read();
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(meter.read(), 'stopped: no ticks').to.deep.equal({ p99: 0, max: 0 });
    } finally {
      meter.stop();
    }
  });
});
