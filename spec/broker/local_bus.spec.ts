// The in-process broker's log: the same promises as the RabbitMQ stream
// (offsets, reading back from a time, retention), in this process's memory.
import { expect } from 'chai';
import { LocalAdapter, LocalExchange } from '../../lib/broker/local_bus';
import { eventually } from '../support/eventually';

const batch = (text: string) => Buffer.from(text);

/** A reader's view of the log: each batch's text with its offset. */
function reader(exchange: LocalExchange, since: number) {
  const read: string[] = [];
  const reading = exchange.read((bytes, offset) => read.push(`${bytes.toString()}@${offset}`), since);
  return { read, ...reading };
}

describe('broker/local_bus', () => {
  it('gives every batch the next offset, and every reader the same batches with the same offsets, in order', async () => {
    const exchange = new LocalExchange();
    const [one, two] = [reader(exchange, 0), reader(exchange, 0)];
    for (const text of ['a', 'b', 'c']) exchange.publish(batch(text));
    await eventually(() => expect(one.read).to.deep.equal(['a@0', 'b@1', 'c@2']));
    await eventually(() => expect(two.read).to.deep.equal(one.read));
    expect(exchange.published).to.equal(3);
    two.unbind();
    exchange.publish(batch('d'));
    await eventually(() => expect(one.read).to.have.length(4));
    expect(two.read, 'unbound: no more').to.have.length(3);
  });

  it('reads back what it keeps from `since` on, all of it before it is caught up, then what comes next', async () => {
    const exchange = new LocalExchange();
    const now = Date.now();
    exchange.publish(batch('old'), now - 10_000);
    exchange.publish(batch('recent'), now - 1_000);
    exchange.publish(batch('at since'), now - 5_000);
    const late = reader(exchange, now - 5_000);
    exchange.publish(batch('live'), now);
    await late.caughtUp;
    expect(late.read, 'read back, and nothing newer yet, when caught up').to.deep.equal(['recent@1', 'at since@2']);
    await eventually(() => expect(late.read).to.deep.equal(['recent@1', 'at since@2', 'live@3']));
  });

  it('forgets batches past the retention, by age and by bytes, the oldest first, always keeping the newest', async () => {
    const exchange = new LocalExchange({ maxAgeMs: 1_000, maxBytes: 10 });
    const now = Date.now();
    exchange.publish(batch('aged'), now - 5_000);
    exchange.publish(batch('12345'), now);
    exchange.publish(batch('67890'), now);
    exchange.publish(batch('abcde'), now); // 15 bytes kept would pass 10
    const everything = reader(exchange, 0);
    await everything.caughtUp;
    expect(everything.read).to.deep.equal(['67890@2', 'abcde@3']);
    const alone = new LocalExchange({ maxAgeMs: 1_000, maxBytes: 1 });
    alone.publish(batch('larger than the budget'), now - 5_000);
    const newest = reader(alone, 0);
    await newest.caughtUp;
    expect(newest.read).to.deep.equal(['larger than the budget@0']);
  });

  it('forgets by age alone, past maxAgeMs; by default after an hour, or past 64 MiB', async () => {
    const now = Date.now();
    const aging = new LocalExchange({ maxAgeMs: 1_000, maxBytes: 1 << 20 });
    aging.publish(batch('past'), now - 1_001);
    aging.publish(batch('just in'), now - 1_000);
    aging.publish(batch('new'), now);
    const defaults = new LocalExchange();
    defaults.publish(batch('two hours old'), now - 7_200_000);
    defaults.publish(batch('59 minutes old'), now - 3_540_000);
    defaults.publish(Buffer.alloc(40 << 20), now); // 40 MiB
    defaults.publish(Buffer.alloc(30 << 20), now); // together past 64 MiB
    const [aged, defaulted] = [reader(aging, 0), reader(defaults, 0)];
    await Promise.all([aged.caughtUp, defaulted.caughtUp]);
    expect(aged.read).to.deep.equal(['just in@1', 'new@2']);
    expect(defaulted.read.map((entry) => entry.split('@')[1])).to.deep.equal(['3']);
    const young = new LocalExchange();
    young.publish(batch('59 minutes old'), now - 3_540_000);
    young.publish(Buffer.alloc(30 << 20), now);
    young.publish(Buffer.alloc(30 << 20), now); // 60 MiB in all
    const kept = reader(young, 0);
    await kept.caughtUp;
    expect(kept.read.map((entry) => entry.split('@')[1])).to.deep.equal(['0', '1', '2']);
  });

  it('stops handing batches to an adapter once it is closed, and refuses its publishes', async () => {
    const exchange = new LocalExchange();
    const adapter = new LocalAdapter(exchange);
    const changes: unknown[] = [];
    adapter.onStateChange((change) => changes.push(change));
    const read: number[] = [];
    await adapter.subscribe((_batch, offset) => read.push(offset), 0);
    await adapter.publish(batch('one'));
    await eventually(() => expect(read).to.deep.equal([0]));
    expect(adapter.info()).to.deep.include({ url: 'in-process', offset: 0, batchesDelivered: 1 });
    exchange.publish(batch('on its way'));
    await adapter.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(read).to.deep.equal([0]);
    expect(changes).to.deep.equal([{ state: 'closed' }]);
    await new LocalAdapter(exchange).close(); // never subscribed
    await adapter.publish(batch('closed')).then(
      () => expect.fail('published on a closed adapter'),
      (error: Error) => expect(`${error.name}: ${error.message}`).to.equal('BrokerUnavailable: the in-process broker is closed'),
    );
  });

  describe('presence', () => {
    /** Listens on `adapter`; the array fills with the texts heard. */
    function heard(adapter: LocalAdapter): string[] {
      const texts: string[] = [];
      adapter.presence.listen((message) => texts.push(message.toString()));
      return texts;
    }

    it('gives every adapter on the exchange every message, its own included, in order, one turn later', async () => {
      const exchange = new LocalExchange();
      const [one, two] = [new LocalAdapter(exchange), new LocalAdapter(exchange)];
      const [atOne, atTwo] = [heard(one), heard(two)];
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) {
        for (const [name, adapter] of [['one', one], ['two', two]] as const) {
          sent.push(`${name}-${i}`);
          expect(adapter.presence.publish(batch(`${name}-${i}`))).to.equal(true);
        }
      }
      expect([atOne, atTwo], 'nothing within the same turn').to.deep.equal([[], []]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(atOne).to.deep.equal(sent);
      expect(atTwo).to.deep.equal(sent);
      expect(exchange.published, 'not in the log').to.equal(0);
    });

    it('hands messages to the latest listener only (a presence process that restarted)', async () => {
      const exchange = new LocalExchange();
      const adapter = new LocalAdapter(exchange);
      const first = heard(adapter);
      adapter.presence.publish(batch('to the first'));
      await eventually(() => expect(first).to.deep.equal(['to the first']));
      const second = heard(adapter);
      adapter.presence.publish(batch('to the second'));
      await eventually(() => expect(second).to.deep.equal(['to the second']));
      expect(first, 'replaced, not added to').to.deep.equal(['to the first']);
    });

    it('refuses publishes once the adapter is closed, and no longer hands it what others publish', async () => {
      const exchange = new LocalExchange();
      const [closing, other] = [new LocalAdapter(exchange), new LocalAdapter(exchange)];
      const [atClosing, atOther] = [heard(closing), heard(other)];
      other.presence.publish(batch('on its way'));
      await closing.close();
      expect(closing.presence.publish(batch('closed'))).to.equal(false);
      other.presence.publish(batch('after'));
      await eventually(() => expect(atOther).to.deep.equal(['on its way', 'after']));
      expect(atClosing).to.deep.equal([]);
    });
  });
});
