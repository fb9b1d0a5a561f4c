import { expect } from 'chai';
import { Chatter } from '../../tools/traffic/chatters';
import { Ledger, describeVerdict } from '../../tools/traffic/ledger';
import { useDaemon } from '../support/lifecycle';
import { atExit } from '../support/hooks';
import { eventually } from '../support/eventually';

describe('chatters (tools/traffic)', () => {
  const daemon = useDaemon();

  it('say in turn and account for every say and delivery, across a dropped socket', async () => {
    const ledger = new Ledger();
    const url = `ws://127.0.0.1:${daemon().port}/websocket`;
    const chatters = ['a', 'b', 'c'].map((name) => new Chatter({ name, room: 'chat', url, ledger, intervalMs: 20, backoff: { baseMs: 20, maxMs: 100 } }));
    atExit(async () => chatters.forEach((chatter) => chatter.close()));
    await Promise.all(chatters.map((chatter) => chatter.connect()));
    chatters.forEach((chatter) => chatter.start());
    const acked = (count: number) => eventually(() => expect(ledger.verdict().acked).to.be.at.least(count), 10_000);
    await acked(30);
    chatters[0]!.sockets.at(-1)!.terminate();
    await eventually(() => expect(chatters[0]!.sockets).to.have.length(2) && expect(chatters[0]!.client.state).to.equal('open'), 10_000);
    await acked(ledger.verdict().acked + 30);
    await Promise.all(chatters.map((chatter) => chatter.stop()));

    // The last says' messages may still be on their way to the others.
    const verdict = await eventually(() => {
      const latest = ledger.verdict();
      expect(latest.violations, describeVerdict(latest)).to.deep.equal([]);
      return latest;
    }, 5_000);
    expect(verdict.says).to.equal(verdict.acked);
    expect(verdict.deliveries, 'each say reached the three').to.equal(3 * verdict.acked);
  });
});
