import { expect } from 'chai';
import fc from 'fast-check';
import { Application } from '../../lib/otp/application';
import { call, cast } from '../../lib/otp/gen_server';
import { rateOf, whereis } from '../../lib/otp/sys';
import { TopList, sampleRates, top } from '../../lib/otp/top';
import { eventually } from '../support/eventually';
import { type ProbeRef, probeSpec } from '../support/probe';

describe('top: the processes by mailbox, rate, restarts (recon proc_count)', () => {
  describe('TopList', () => {
    it('keeps the n highest keys of all offered, highest first, equal keys in the order offered (as a stable sort would)', () => {
      fc.assert(
        fc.property(fc.array(fc.nat({ max: 20 }), { maxLength: 200 }), fc.integer({ min: 1, max: 30 }), (keys, n) => {
          const list = new TopList<number>(n);
          keys.forEach((key, index) => list.add(key, index));
          const expected = keys
            .map((key, index) => ({ key, index }))
            .sort((a, b) => b.key - a.key || a.index - b.index)
            .slice(0, n)
            .map(({ index }) => index);
          expect(list.items).to.deep.equal(expected);
        }),
      );
    });

    it('takes a key while there is room, then only a key above its lowest', () => {
      const list = new TopList<string>(2);
      expect(list.takes(0)).to.equal(true);
      list.add(5, 'five');
      list.add(3, 'three');
      expect([list.takes(3), list.takes(4)]).to.deep.equal([false, true]);
      list.add(3, 'another three');
      expect(list.items).to.deep.equal(['five', 'three']);
    });
  });

  describe('over a live tree', () => {
    let app: Application;
    const probes = ['quiet', 'busy', 'chatty'];
    const ref = (id: string) => whereis(app.root, `/top_sup/${id}`)!.self as ProbeRef;
    beforeEach(async () => {
      app = await Application.start({
        name: 'top_sup',
        supervisor: { init: () => ({ flags: { strategy: 'one_for_one' as const, intensity: 10 }, children: probes.map((id) => probeSpec({ id, journal: [] })) }) },
        args: undefined,
        onRootExit: () => undefined,
      });
    });
    afterEach(() => app.stop());

    it('lists the longest mailboxes first, with the fields of /debug/top, and counts every actor', async () => {
      const stalled = call(ref('busy'), { type: 'slow', ms: 200 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const text of ['a', 'b', 'c']) cast(ref('busy'), { type: 'note', text });
      cast(ref('chatty'), { type: 'note', text: 'one' });
      const answer = top(app.root, { by: 'mailbox', n: 2, intervalMs: 0 });
      expect(answer).to.deep.include({ actors: 4, matched: 4 });
      expect(answer.top).to.deep.equal([
        { path: '/top_sup/busy', name: 'busy', kind: 'worker', behaviour: 'probe', mailbox: 3, rate: 0, processed: 1, restarts: 0 },
        // Every other mailbox is empty: the first of them in tree order.
        { path: '/top_sup', name: 'top_sup', kind: 'supervisor', behaviour: 'supervisor', mailbox: 0, rate: 0, processed: 0, restarts: 0 },
      ]);
      await stalled;
    });

    it('filters on the path or the behaviour, case-insensitively, and says how many matched', () => {
      expect(top(app.root, { by: 'mailbox', n: 10, filter: 'ch', intervalMs: 0 })).to.deep.include({ actors: 4, matched: 1 });
      expect(top(app.root, { by: 'mailbox', n: 10, filter: 'ch', intervalMs: 0 }).top.map((row) => row.name)).to.deep.equal(['chatty']);
      expect(top(app.root, { by: 'mailbox', n: 10, filter: 'probe', intervalMs: 0 }).top.map((row) => row.name)).to.deep.equal(probes);
      expect(top(app.root, { by: 'mailbox', n: 10, filter: 'nothing', intervalMs: 0 })).to.deep.include({ matched: 0, top: [] });
    });

    it('ranks by restarts and by messages handled', async () => {
      app.kill('/top_sup/chatty');
      await eventually(() => expect(top(app.root, { by: 'restarts', n: 1, intervalMs: 0 }).top[0]).to.include({ name: 'chatty', restarts: 1 }));
      for (const text of ['a', 'b']) cast(ref('quiet'), { type: 'note', text });
      await call(ref('quiet'), { type: 'seen' });
      expect(top(app.root, { by: 'processed', n: 1, intervalMs: 0 }).top[0]).to.include({ name: 'quiet', processed: 3 });
    });

    it('turns the messages of the last interval into rates, and ranks by them', async () => {
      sampleRates(app.root);
      for (let n = 0; n < 5; n++) cast(ref('chatty'), { type: 'note', text: `${n}` });
      await call(ref('chatty'), { type: 'seen' });
      cast(ref('quiet'), { type: 'note', text: 'once' });
      await call(ref('quiet'), { type: 'seen' });
      const sample = sampleRates(app.root);
      expect(sample).to.deep.equal({ actors: 4, handled: 8 });
      const rates = top(app.root, { by: 'rate', n: 2, intervalMs: 2000 }).top;
      expect(rates.map(({ name, rate }) => [name, rate])).to.deep.equal([['chatty', 3], ['quiet', 1]]);
      expect(rateOf(whereis(app.root, '/top_sup/chatty')!, 0), 'no interval yet').to.equal(0);
      expect(sampleRates(app.root).handled, 'nothing since').to.equal(0);
      expect(top(app.root, { by: 'rate', n: 1, intervalMs: 1000 }).top[0]!.rate).to.equal(0);
    });
  });
});
