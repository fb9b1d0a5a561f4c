import { expect } from 'chai';
import { FIGURES, type Point, NodeSeries, recordMarks } from '../lib/node_series';
import { crashReport, restartReport } from '../lib/otp/reports';
import { Readiness } from '../lib/readiness';
import { captureLogs } from './support/logs';

/** A point at `at` whose every figure is `value`. */
const point = (at: number, value = at): Point => ({ at, ...Object.fromEntries(FIGURES.map((figure) => [figure, value])) }) as Point;

describe('NodeSeries: the node\'s last minutes in a ring buffer', () => {
  it('keeps the newest `capacity` points, oldest first, one array per figure', () => {
    const series = new NodeSeries(3, 10);
    for (const at of [1, 2, 3, 4, 5]) series.add(point(at, at * 10));
    const { series: columns } = series.since();
    expect(series.points).to.equal(3);
    expect(columns.at).to.deep.equal([3, 4, 5]);
    for (const figure of FIGURES) expect(columns[figure], figure).to.deep.equal([30, 40, 50]);
  });

  it('answers only what came after `since`', () => {
    const series = new NodeSeries(10, 10);
    for (const at of [100, 200, 300]) series.add(point(at));
    series.mark({ at: 150, kind: 'broker', state: 'reconnecting' });
    series.mark({ at: 200, kind: 'broker', state: 'disconnected' });
    series.mark({ at: 250, kind: 'broker', state: 'connected' });
    const after = series.since(200);
    expect(after.series.at).to.deep.equal([300]);
    expect(after.marks).to.deep.equal([{ at: 250, kind: 'broker', state: 'connected' }]);
    expect(series.since(300).series.connections).to.deep.equal([]);
  });

  it('keeps the newest marks past its mark capacity', () => {
    const series = new NodeSeries(10, 2);
    for (const state of ['a', 'b', 'c']) series.mark({ at: 1, kind: 'broker', state });
    expect(series.since().marks.map((mark) => (mark.kind === 'broker' ? mark.state : ''))).to.deep.equal(['b', 'c']);
  });

  it('marks broker state changes, crashes and restarts, until told to stop', () => {
    const series = new NodeSeries(10, 10);
    const readiness = new Readiness();
    const stop = recordMarks(series, readiness);
    const logs = captureLogs('fatal'); // the reports' own lines
    try {
      readiness.broker = 'connected';
      readiness.broker = 'connected'; // no change, no mark
      crashReport('/warren_sup/relay', 'relay', 'batch', new Error('boom'));
      restartReport('/warren_sup/relay', 'relay', new Error('boom'), 1);
      stop();
      readiness.broker = 'reconnecting';
      crashReport('/warren_sup/relay', 'relay', 'batch', new Error('after'));
      restartReport('/warren_sup/relay', 'relay', new Error('after'), 2);
    } finally {
      logs.restore();
    }
    const marks = series.since().marks.map(({ at, ...mark }) => (expect(at).to.be.closeTo(Date.now(), 1000), mark));
    expect(marks).to.deep.equal([
      { kind: 'broker', state: 'connected' },
      { kind: 'crash', path: '/warren_sup/relay', reason: 'Error: boom' },
      { kind: 'restart', path: '/warren_sup/relay', reason: 'Error: boom' },
    ]);
  });
});
