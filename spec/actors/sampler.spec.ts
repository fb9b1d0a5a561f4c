import { expect } from 'chai';
import { sampler } from '../../lib/actors/sampler';
import { deliveries, publishes } from '../../lib/metrics';
import { MARKS, NodeSeries, POINTS } from '../../lib/node_series';
import { Application } from '../../lib/otp/application';
import { type SamplerRef, type SamplerState } from '../../lib/actors/sampler';
import { call, cast, startLink } from '../../lib/otp/gen_server';
import type { Link } from '../../lib/otp/process';
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
    const stalled = call(relay, { type: 'slow', ms: 300 });
    for (const text of ['a', 'b', 'c']) cast(relay, { type: 'note', text });
    publishes.inc('acked', 50);
    deliveries.inc(200);
    await eventually(() => expect(latest()).to.include({ connections: 2, relayMailbox: 3 }));
    // A rate times its interval gives the count back, however long the interval was.
    const counted = (figure: 'messages' | 'deliveries') => {
      const { series: columns } = series.since();
      return columns[figure].reduce((sum, rate, i) => (i === 0 ? sum : sum + (rate * (columns.at[i]! - columns.at[i - 1]!)) / 1000), 0);
    };
    expect(counted('messages')).to.be.closeTo(50, 1);
    expect(counted('deliveries')).to.be.closeTo(200, 1);
    expect(latest()['rss']).to.be.above(10_000_000);
    expect(latest()['heapUsed']).to.be.above(1_000_000);
    expect(latest()['lagMs']).to.be.at.least(0);
    await stalled;
    await eventually(() => expect(Math.max(...series.since().series.actorMessages), 'the relay\'s four messages').to.be.above(0));
    expect(getState<SamplerState>(samplerRef())!.intervalMs, 'nobody asked for the processes\' rates').to.equal(0);
    const at = series.since().series.at;
    expect(at.every((time, i) => i === 0 || time > at[i - 1]!), 'in time order').to.equal(true);
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
    for (const text of ['a', 'b', 'c']) cast(relay, { type: 'note', text });
    await eventually(() => expect(top(app.root, { by: 'rate', n: 1, intervalMs: state().intervalMs }).top[0]).to.include({ path: '/node_sup/relay' }));
    // 300 ms after the last `observed`: no more walks, and no rates to show.
    await eventually(() => expect(state().intervalMs).to.equal(0), 2_000);
    const frozen = whereis(app.root, '/node_sup/relay')!.processedAtSample;
    cast(relay, { type: 'note', text: 'unobserved' });
    await call(relay, { type: 'seen' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(whereis(app.root, '/node_sup/relay')!.processedAtSample, 'not sampled').to.equal(frozen);
  });
});
