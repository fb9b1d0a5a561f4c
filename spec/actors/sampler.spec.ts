import { expect } from 'chai';
import { sampler } from '../../lib/actors/sampler';
import { deliveries, publishes } from '../../lib/metrics';
import { MARKS, NodeSeries, POINTS } from '../../lib/node_series';
import { Application } from '../../lib/otp/application';
import { type GenServer, call, cast, startLink } from '../../lib/otp/gen_server';
import type { Link } from '../../lib/otp/process';
import { whereis } from '../../lib/otp/sys';
import { eventually } from '../support/eventually';
import { type ProbeRef, probeSpec } from '../support/probe';

/** Stands for a socket's process: the sampler counts the processes of this behaviour. */
const connection: GenServer<undefined, undefined> = { behaviour: 'connection', init: () => undefined };
const connectionSpec = (id: string) => ({ id, start: (link: Link) => startLink(link, connection, undefined) });

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
            connectionSpec('connection-1'),
            connectionSpec('connection-2'),
            { id: 'sampler', start: (link: Link) => startLink(link, sampler, { root: link.parent, series, intervalMs: 50 }) },
          ],
        }),
      },
      args: undefined,
      onRootExit: () => undefined,
    });
  });
  afterEach(() => app.stop());
  const latest = () => {
    const { series: columns } = series.since();
    return Object.fromEntries(Object.entries(columns).map(([figure, values]) => [figure, values.at(-1)]));
  };

  it('writes a point each interval: connections, the relay\'s mailbox, rates from the counters and the tree, memory', async () => {
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
});
