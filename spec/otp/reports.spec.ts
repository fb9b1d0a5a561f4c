import { expect } from 'chai';
import type { ExitReason } from '../../lib/otp/exit_reason';
import { cast } from '../../lib/otp/gen_server';
import { Process, send } from '../../lib/otp/process';
import { deadLetterReport, describeMessage, reports } from '../../lib/otp/reports';
import { startLink, whichChildren } from '../../lib/otp/supervisor';
import { eventually } from '../support/eventually';
import { captureLogs } from '../support/logs';
import { type ProbeRef, probeSpec, startProbe } from '../support/probe';
import { useSystem } from '../support/system';

const DEAD_LETTER_WINDOW_MS = 1_000;
const pastTheWindow = () => new Promise((resolve) => setTimeout(resolve, DEAD_LETTER_WINDOW_MS + 100));

describe('reports', () => {
  const system = useSystem();

  it('names a message by its describe(), else its string type, else its class, else a symbol\'s description, else its typeof', () => {
    class Deliver {}
    expect(describeMessage({ describe: () => 'envelope of note' })).to.equal('envelope of note');
    expect(describeMessage({ type: 'note', describe: 'not a function' })).to.equal('note');
    expect(describeMessage({ type: 7 })).to.equal('Object');
    expect(describeMessage(new Deliver())).to.equal('Deliver');
    expect(describeMessage(Object.create(null))).to.equal('object');
    expect(describeMessage(null)).to.equal('object');
    expect(describeMessage('hello')).to.equal('string');
    expect(describeMessage(Symbol('tick'))).to.equal('tick');
    expect(describeMessage(Symbol())).to.equal('symbol');
  });

  it('emits crash and restart events, with path, behaviour and reason, and logs the restart with its count', async () => {
    const events: Array<[string, string, string, string]> = [];
    const onCrash = (path: string, behaviour: string, reason: ExitReason) => void events.push(['crash', path, behaviour, String(reason)]);
    const onRestart = (path: string, behaviour: string, reason: ExitReason) => void events.push(['restart', path, behaviour, String(reason)]);
    reports.on('crash', onCrash).on('restart', onRestart);
    const logs = captureLogs('warn');
    try {
      const journal: string[] = [];
      const sup = await startLink(system.link('sup'), { init: () => ({ flags: { strategy: 'one_for_all' as const, intensity: 5 }, children: [probeSpec({ id: 'a', journal }), probeSpec({ id: 'b', journal })] }) }, undefined);
      const b = whichChildren(sup)[1]!.ref as ProbeRef;
      cast(b, { type: 'crash' });
      await eventually(() => expect(events).to.have.length(3));
      expect(events).to.deep.equal([
        ['crash', '/sup/b', 'probe', 'Error: b crashed on purpose'],
        ['restart', '/sup/a', 'probe', 'shutdown'],
        ['restart', '/sup/b', 'probe', 'Error: b crashed on purpose'],
      ]);
      const restarts = logs.lines.filter((line) => line.msg.includes('restarted'));
      expect(restarts.map(({ actor, behaviour, restarts: count, reason, msg }) => ({ actor, behaviour, count, reason, msg }))).to.deep.equal([
        { actor: '/sup/a', behaviour: 'probe', count: 1, reason: 'shutdown', msg: '/sup/a restarted (1 so far) after: shutdown' },
        { actor: '/sup/b', behaviour: 'probe', count: 1, reason: 'Error: b crashed on purpose', msg: '/sup/b restarted (1 so far) after: Error: b crashed on purpose' },
      ]);
    } finally {
      logs.restore();
      reports.off('crash', onCrash).off('restart', onRestart);
    }
  });

  it('logs the first dead letter of a second in full, and sums up the rest of that second in one line', async function () {
    this.timeout(10_000);
    const target = await startProbe(system.link('gone'), { id: 'gone', journal: [] });
    await Process.of(target)!.shutdown('shutdown');
    const counted: string[] = [];
    const onDeadLetter = (path: string, type: string) => void counted.push(`${path} ${type}`);
    reports.on('dead_letter', onDeadLetter);
    await pastTheWindow(); // other specs' dead letters may have opened a window
    const logs = captureLogs('warn');
    // The first dead letter also sums up what earlier specs left suppressed: what counts starts with it.
    const lines = () => logs.lines.slice(logs.lines.findIndex((line) => line.msg.endsWith('dropped: first')));
    try {
      for (const type of ['first', 'second', 'third']) send(target, { type });
      await pastTheWindow();
      send(target, { type: 'fourth' });
      deadLetterReport('/gone', { type: 'fifth' }); // in the window the fourth opened
      await pastTheWindow();
      deadLetterReport('/gone', { type: 'sixth' });
      expect(lines().map(({ msg, dropped }) => (dropped === undefined ? msg : `${msg} (${String(dropped)})`))).to.deep.equal([
        'message to stopped actor /gone dropped: first',
        '2 more messages to stopped actors were dropped (2)',
        'message to stopped actor /gone dropped: fourth',
        '1 more messages to stopped actors were dropped (1)',
        'message to stopped actor /gone dropped: sixth',
      ]);
      expect(counted, 'every dead letter is counted').to.have.length(6);
    } finally {
      logs.restore();
      reports.off('dead_letter', onDeadLetter);
    }
  });
});
