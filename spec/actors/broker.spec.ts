/**
 * The broker actor on the in-process bus (the real in-process broker, not a
 * stand-in), and on a stand-in adapter whose publishes the spec settles by
 * hand, for the outcomes the bus never has: a refused or unconfirmed
 * publish, a crash with batches pending, a predecessor's late outcome. The
 * same behaviour over RabbitMQ, outages included, is proven by the
 * integration specs.
 */
import { expect } from 'chai';
import { type BrokerRef, type PublishOutcome, broker } from '../../lib/actors/broker';
import type { RelayRef } from '../../lib/actors/relay';
import { type BrokerAdapter, BrokerUnavailable, type ConnectionState, type PresenceChannel, type StateChange } from '../../lib/broker/adapter';
import { decodeBatch, encodeBatch } from '../../lib/broker/batch';
import { LocalAdapter, LocalExchange } from '../../lib/broker/local_bus';
import { DuplicateWindow } from '../../lib/history/duplicate_window';
import { cast, startLink } from '../../lib/otp/gen_server';
import { Process, type Ref, send } from '../../lib/otp/process';
import { startLink as startSupervisor } from '../../lib/otp/supervisor';
import { childRef } from '../../lib/otp/sys';
import { Readiness } from '../../lib/readiness';
import { eventually } from '../support/eventually';
import { chatMessage } from '../support/chat_frames';
import { captureLogs } from '../support/logs';
import { type Recorded, startRecorder } from '../support/recorder';
import { useSystem } from '../support/system';

interface HeldPublish {
  readonly batch: Buffer;
  readonly deadline: number;
  confirm(): void;
  fail(reason: string): void;
}

/**
 * An adapter whose publishes wait until the spec confirms or fails them;
 * with `silent`, a broker that never confirms: each publish is rejected at
 * its deadline, as the adapter contract says.
 */
class HeldAdapter implements BrokerAdapter {
  readonly kind = 'local';
  state: ConnectionState = 'connected';
  closed = false;
  readonly publishes: HeldPublish[] = [];
  private readonly listeners: Array<(change: StateChange) => void> = [];
  /** Presence is not the broker actor's: a channel that drops everything, as a disconnected one does. */
  readonly presence: PresenceChannel = { publish: () => false, listen: () => {} };

  constructor(private readonly silent = false) {}

  publish(batch: Buffer, deadline: number): Promise<void> {
    return new Promise((confirm, reject) => {
      const fail = (reason: string) => reject(new BrokerUnavailable(reason));
      this.publishes.push({ batch, deadline, confirm, fail });
      if (this.silent) setTimeout(fail, deadline - Date.now(), 'no confirm by the deadline');
    });
  }

  async subscribe(): Promise<void> {}

  onStateChange(listener: (change: StateChange) => void): void {
    this.listeners.push(listener);
  }

  /** What the real adapter does when its connection changes. */
  change(change: StateChange): void {
    this.state = change.state;
    for (const listener of this.listeners) listener(change);
  }

  info(): Record<string, unknown> {
    return { url: 'held' };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.state = 'closed';
  }
}

/** The texts and timestamps of the messages in a published batch. */
const messagesOf = (batch: Buffer) =>
  decodeBatch(batch).map((d) => JSON.parse(Buffer.from(d.frame).toString()) as { text: string; ts: number });

/**
 * What a publisher heard, one entry per `say` (`published` with its msgId,
 * or `unavailable`), from the broker's one message per batch; other
 * messages as they came.
 */
const answersIn = (log: Recorded[]): Recorded[] =>
  log.flatMap((m) =>
    m.type === 'publish_outcomes'
      ? (m['outcomes'] as PublishOutcome[]).map(({ tag, msgId }) => (msgId === undefined ? { type: 'unavailable', tag } : { type: 'published', tag, msgId }))
      : [m],
  );

describe('broker (on the in-process bus, or a stand-in adapter)', () => {
  const system = useSystem();
  let exchange: LocalExchange;
  beforeEach(() => (exchange = new LocalExchange()));

  /** The relay's duplicate window, as the broker reads it; specs write it as the relay would. */
  let duplicates: DuplicateWindow;
  beforeEach(() => (duplicates = new DuplicateWindow({ size: 100, ttlMs: 60_000 })));

  /** A recorder in the relay's place: it hands out `duplicates`, as the relay hands out its window. */
  const startRelay = (name: string) => startRecorder(system.link(name), (request) => (request.type === 'duplicates' ? duplicates : undefined));

  async function startBroker(name: string, adapter: BrokerAdapter = new LocalAdapter(exchange), publishTimeoutMs = 5_000, readBackMs = 60_000) {
    const relay = await startRelay(`${name}-relay`);
    const readiness = new Readiness();
    const ref: BrokerRef = await startLink(system.link(name), broker, {
      nodeId: name,
      relay: relay.ref as unknown as RelayRef,
      connect: async () => adapter,
      publishTimeoutMs,
      readiness,
      readBackMs,
    });
    return { ref, relay, readiness, adapter };
  }
  const say = (to: BrokerRef, replyTo: Ref, tag: number, text = `m${tag}`, key?: string) =>
    cast(to, { type: 'publish', room: 'lobby', from: 'alice', user: 'anon:alice', text, key, replyTo, tag });
  const deliveredTexts = (relayLog: Recorded[]) =>
    relayLog
      .filter((m) => m.type === 'deliver')
      .flatMap((m) => decodeBatch(m['batch'] as Buffer).map((d) => JSON.parse(Buffer.from(d.frame).toString()) as Record<string, unknown>));

  it('answers each publisher once the broker confirmed, with a msgId that names the node, and reports the state', async () => {
    const { ref, relay, readiness } = await startBroker('node1');
    const publisher = await startRecorder(system.link('publisher'));
    say(ref, publisher.ref, 7, 'hello');
    await eventually(() => expect(answersIn(publisher.log)).to.have.length(1));
    const msgId = answersIn(publisher.log)[0]!['msgId'];
    expect(answersIn(publisher.log)).to.deep.equal([{ type: 'published', tag: 7, msgId }]);
    expect(msgId).to.match(/^node1-[0-9a-f]{6}-[0-9a-z]+$/);
    await eventually(() => expect(deliveredTexts(relay.log)).to.have.length(1));
    const [message] = deliveredTexts(relay.log);
    expect(message).to.include({ type: 'message', room: 'lobby', msgId, from: 'alice', user: 'anon:alice', text: 'hello' });
    expect(message!['pos'], 'a placeholder, written by each reader').to.match(/^0{16}-[0-9a-z]{7}$/);
    expect(message!['ts']).to.be.a('number');
    expect(readiness.broker).to.equal('connected');
    expect(relay.log[0]).to.deep.equal({ type: 'broker_state', state: 'connected' });
  });

  it('sends what it accepts while a batch is in flight as the next batch, keeping the order', async () => {
    const { ref, relay } = await startBroker('node1');
    const publisher = await startRecorder(system.link('publisher'));
    for (let tag = 0; tag < 200; tag++) say(ref, publisher.ref, tag);
    await eventually(() => expect(answersIn(publisher.log)).to.have.length(200));
    expect(answersIn(publisher.log).map((m) => m['tag'])).to.deep.equal([...Array(200).keys()]);
    await eventually(() => expect(deliveredTexts(relay.log)).to.have.length(200));
    expect(deliveredTexts(relay.log).map((m) => m.text)).to.deep.equal([...Array(200).keys()].map((tag) => `m${tag}`));
    const batches = Process.of(ref)!.behaviour.info(Process.of(ref)!)['batches'] as number;
    expect(batches).to.be.below(200);
  });

  it('reads the log back `readBackMs` before it starts, and is up only once that is in the relay', async () => {
    const now = Date.now();
    exchange.publish(encodeBatch([chatMessage('lobby', 'too old')]), now - 120_000);
    exchange.publish(encodeBatch([chatMessage('lobby', 'kept')]), now - 30_000);
    const logs = captureLogs('warn');
    try {
      const { relay } = await startBroker('node1', new LocalAdapter(exchange), 5_000, 60_000);
      // What anybody sends the relay once the broker is up (a join) comes after the log read back.
      send(relay.ref, { type: 'marker' });
      await eventually(() => expect(relay.log.map((m) => m.type)).to.include('marker'));
      expect(relay.log.map((m) => m.type).filter((type) => type !== 'broker_state')).to.deep.equal(['deliver', 'marker']);
      expect(deliveredTexts(relay.log).map((m) => m.text)).to.deep.equal(['kept']);
      expect(relay.log.find((m) => m.type === 'deliver')).to.include({ offset: 1 });
    } finally {
      logs.restore();
    }
    expect(logs.messages().some((line) => /in-process broker: positions.*do not outlive it/.test(line)), 'says its positions die with it').to.equal(true);
  });

  it('delivers every message to every broker on the same exchange, as two nodes would see it', async () => {
    const first = await startBroker('node1');
    const second = await startBroker('node2');
    const publisher = await startRecorder(system.link('publisher'));
    say(first.ref, publisher.ref, 1, 'from one');
    say(second.ref, publisher.ref, 2, 'from two');
    for (const node of [first, second]) {
      await eventually(() => expect(deliveredTexts(node.relay.log).map((m) => m.text)).to.have.members(['from one', 'from two']));
    }
  });

  it('answers unavailable at once when the broker is not connected', async () => {
    const { ref, adapter } = await startBroker('node1');
    const publisher = await startRecorder(system.link('publisher'));
    await adapter.close();
    say(ref, publisher.ref, 3);
    await eventually(() => expect(answersIn(publisher.log)).to.deep.equal([{ type: 'unavailable', tag: 3 }]));
  });

  describe('on a stand-in adapter', () => {
    const unavailable = (tag: number) => ({ type: 'unavailable', tag });
    const published = (tag: number) => ({ type: 'published', tag });
    /** What each publisher heard, without the msgIds. */
    const outcomes = (log: Recorded[]) => log.map(({ type, tag }) => (tag === undefined ? { type } : { type, tag }));

    /** A broker on a HeldAdapter, with one publisher whose say 1 is in flight and says 2 and 3 wait behind it. */
    async function threeSaysPending(adapter = new HeldAdapter(), publishTimeoutMs?: number) {
      const { ref } = await startBroker('node1', adapter, publishTimeoutMs);
      const publisher = await startRecorder(system.link('publisher'));
      say(ref, publisher.ref, 1);
      await eventually(() => expect(adapter.publishes).to.have.length(1));
      say(ref, publisher.ref, 2);
      say(ref, publisher.ref, 3);
      return { ref, adapter, publisher };
    }

    it('answers each publisher of a batch with one message: the outcomes of its says, in the order it sent them', async () => {
      const adapter = new HeldAdapter();
      const { ref } = await startBroker('node1', adapter);
      const alice = await startRecorder(system.link('alice'));
      const bob = await startRecorder(system.link('bob'));
      say(ref, alice.ref, 1);
      await eventually(() => expect(adapter.publishes).to.have.length(1));
      say(ref, alice.ref, 2);
      say(ref, bob.ref, 1);
      say(ref, alice.ref, 3);
      say(ref, bob.ref, 2);
      adapter.publishes[0]!.confirm();
      await eventually(() => expect(adapter.publishes).to.have.length(2));
      adapter.publishes[1]!.confirm();
      await eventually(() => expect(answersIn(alice.log)).to.have.length(3));
      await eventually(() => expect(answersIn(bob.log)).to.have.length(2));
      const tagsPerMessage = (log: Recorded[]) => log.map((m) => (m['outcomes'] as PublishOutcome[]).map(({ tag }) => tag));
      expect(tagsPerMessage(alice.log), 'one message per batch').to.deep.equal([[1], [2, 3]]);
      expect(tagsPerMessage(bob.log)).to.deep.equal([[1, 2]]);
    });

    it('answers unavailable once to each publisher of a batch the adapter refused, and goes on with the next batch', async () => {
      const { adapter, publisher } = await threeSaysPending();
      adapter.publishes[0]!.fail('refused');
      await eventually(() => expect(adapter.publishes).to.have.length(2));
      expect(messagesOf(adapter.publishes[1]!.batch).map((m) => m.text), 'the refused batch is not sent again').to.deep.equal(['m2', 'm3']);
      adapter.publishes[1]!.confirm();
      await eventually(() => expect(answersIn(publisher.log)).to.have.length(3));
      expect(outcomes(answersIn(publisher.log))).to.deep.equal([unavailable(1), published(2), published(3)]);
    });

    it("answers a resend the relay's window has seen delivered with that msgId, publishing nothing, in its turn", async () => {
      const key = 'client:tab-0123456789abcdef\nc2';
      duplicates.admit('lobby', key, Date.now(), 'node0-abc-7');
      const adapter = new HeldAdapter();
      const { ref } = await startBroker('node1', adapter);
      const publisher = await startRecorder(system.link('publisher'));
      say(ref, publisher.ref, 1);
      await eventually(() => expect(adapter.publishes).to.have.length(1));
      say(ref, publisher.ref, 2, 'resent', key);
      say(ref, publisher.ref, 3);
      adapter.publishes[0]!.confirm();
      await eventually(() => expect(adapter.publishes).to.have.length(2));
      expect(messagesOf(adapter.publishes[1]!.batch).map((m) => m.text), 'the resend is not published').to.deep.equal(['m3']);
      expect(answersIn(publisher.log).map((m) => m['tag']), 'the resend waits for the batch ahead of it').to.deep.equal([1]);
      adapter.publishes[1]!.fail('refused');
      await eventually(() => expect(answersIn(publisher.log)).to.have.length(3));
      expect(outcomes(answersIn(publisher.log))).to.deep.equal([published(1), published(2), unavailable(3)]);
      expect(answersIn(publisher.log)[1]!['msgId'], "the original's").to.equal('node0-abc-7');
      say(ref, publisher.ref, 4, 'resent again', key);
      await eventually(() => expect(outcomes(answersIn(publisher.log))).to.have.length(4));
      expect(outcomes(answersIn(publisher.log))[3], 'alone: answered at once').to.deep.equal(published(4));
      expect(adapter.publishes).to.have.length(2);
    });

    for (const [outcome, settle] of [
      ['published', (held: HeldPublish) => held.confirm()],
      ['unavailable', (held: HeldPublish) => held.fail('refused')],
    ] as const) {
      it(`answers a resend of a say still in flight as that say is answered (${outcome}), publishing it once`, async () => {
        const key = 'client:tab-0123456789abcdef\nc1';
        const adapter = new HeldAdapter();
        const { ref } = await startBroker('node1', adapter);
        const publisher = await startRecorder(system.link('publisher'));
        say(ref, publisher.ref, 1, 'original', key);
        await eventually(() => expect(adapter.publishes).to.have.length(1));
        say(ref, publisher.ref, 2, 'resent', key);
        say(ref, publisher.ref, 3, 'other', 'client:tab-0123456789abcdef\nc3');
        settle(adapter.publishes[0]!);
        await eventually(() => expect(adapter.publishes).to.have.length(2));
        expect(messagesOf(adapter.publishes[1]!.batch).map((m) => m.text), 'the resend is not published').to.deep.equal(['other']);
        adapter.publishes[1]!.confirm();
        await eventually(() => expect(answersIn(publisher.log)).to.have.length(3));
        expect(outcomes(answersIn(publisher.log))).to.deep.equal([{ type: outcome, tag: 1 }, { type: outcome, tag: 2 }, published(3)]);
        if (outcome === 'published') expect(answersIn(publisher.log)[1]!['msgId']).to.equal(answersIn(publisher.log)[0]!['msgId']);
        if (outcome === 'unavailable') {
          say(ref, publisher.ref, 4, 'resent after unavailable', key);
          await eventually(() => expect(adapter.publishes, 'no longer pending: published this time').to.have.length(3));
        }
      });
    }

    it('puts at most 4096 messages in a batch (what the index of a position has room for)', async () => {
      const { ref, adapter, publisher } = await threeSaysPending();
      for (let tag = 4; tag < 5004; tag++) say(ref, publisher.ref, tag);
      adapter.publishes[0]!.confirm();
      await eventually(() => expect(adapter.publishes).to.have.length(2));
      expect(decodeBatch(adapter.publishes[1]!.batch)).to.have.length(4096);
      adapter.publishes[1]!.confirm();
      await eventually(() => expect(adapter.publishes).to.have.length(3));
      expect(messagesOf(adapter.publishes[2]!.batch).map((m) => m.text)).to.have.length(5002 - 4096).and.include('m5003');
    });

    it('answers unavailable once to each publisher when no confirm came by the deadline: the publish timeout after the oldest was accepted', async () => {
      // 2 and 3 wait behind the first batch, which takes all its 300 ms.
      const { adapter, publisher } = await threeSaysPending(new HeldAdapter(true), 300);
      await eventually(() => expect(answersIn(publisher.log)).to.have.length(3));
      expect(outcomes(answersIn(publisher.log))).to.deep.equal([unavailable(1), unavailable(2), unavailable(3)]);
      for (const { batch, deadline } of adapter.publishes) expect(deadline).to.equal(messagesOf(batch)[0]!.ts + 300);
    });

    it('answers unavailable to every pending publisher, in flight and waiting, when it crashes, and closes the adapter', async () => {
      const logs = captureLogs('fatal'); // the crash report
      try {
        const { ref, adapter, publisher } = await threeSaysPending();
        const proc = Process.of(ref)!;
        proc.crash(); // handled after the says already in its mailbox
        await proc.exited();
        adapter.publishes[0]!.confirm(); // too late: nobody is there
        send(publisher.ref, { type: 'marker' }); // arrives after whatever the broker sent
        await eventually(() => expect(answersIn(publisher.log)).to.deep.include({ type: 'marker' }));
        expect(outcomes(answersIn(publisher.log))).to.deep.equal([unavailable(1), unavailable(2), unavailable(3), { type: 'marker' }]);
        expect(adapter.closed).to.equal(true);
      } finally {
        logs.restore();
      }
    });

    describe('restarted by its supervisor', () => {
      let logs: ReturnType<typeof captureLogs>;
      beforeEach(() => (logs = captureLogs('fatal'))); // crash and restart reports
      afterEach(() => logs.restore());

      /** A broker under a supervisor, on a new HeldAdapter per start: the same path, so the same address, after a restart. */
      async function supervisedBroker() {
        const adapters: HeldAdapter[] = [];
        const relay = await startRelay('node1-relay');
        const readiness = new Readiness();
        const sup = await startSupervisor(system.link('sup'), {
          init: () => ({
            flags: { strategy: 'one_for_one', intensity: 5 },
            children: [
              {
                id: 'broker',
                start: (link) =>
                  startLink(link, broker, {
                    nodeId: 'node1',
                    relay: relay.ref as unknown as RelayRef,
                    connect: async () => adapters[adapters.push(new HeldAdapter()) - 1]!,
                    publishTimeoutMs: 5_000,
                    readiness,
                    readBackMs: 0,
                  }),
              },
            ],
          }),
        }, undefined);
        const ref = childRef(sup, 'broker') as BrokerRef;
        const restart = async () => {
          const before = adapters.length;
          Process.of(ref)!.crash();
          await eventually(() => expect(adapters.length === before + 1 && Process.of(ref)?.status).to.equal('running'));
        };
        return { ref, adapters, relay, readiness, restart };
      }

      for (const [outcome, settle] of [
        ['confirm', (held: HeldPublish) => held.confirm()],
        ['failure', (held: HeldPublish) => held.fail('late')],
      ] as const) {
        it(`takes no ${outcome} of its predecessor's batch for its own`, async () => {
          const { ref, adapters, restart } = await supervisedBroker();
          const publisher = await startRecorder(system.link('publisher'));
          say(ref, publisher.ref, 1);
          await eventually(() => expect(adapters[0]!.publishes).to.have.length(1));
          await restart();
          say(ref, publisher.ref, 2);
          await eventually(() => expect(adapters[1]!.publishes).to.have.length(1));
          say(ref, publisher.ref, 3); // waits behind the batch in flight
          settle(adapters[0]!.publishes[0]!); // reaches the new broker, at the same address
          adapters[1]!.publishes[0]!.confirm(); // reaches it after
          await eventually(() => expect(adapters[1]!.publishes).to.have.length(2));
          adapters[1]!.publishes[1]!.confirm();
          await eventually(() => expect(answersIn(publisher.log)).to.have.length.at.least(3));
          expect(outcomes(answersIn(publisher.log))).to.deep.equal([unavailable(1), published(2), published(3)]);
          expect(messagesOf(adapters[1]!.publishes[1]!.batch).map((m) => m.text)).to.deep.equal(['m3']);
        });
      }

      it('hands out no msgId its predecessor gave', async () => {
        const { ref, adapters, restart } = await supervisedBroker();
        const publisher = await startRecorder(system.link('publisher'));
        for (const tag of [1, 2]) {
          say(ref, publisher.ref, tag);
          await eventually(() => expect(adapters.at(-1)!.publishes).to.have.length(1));
          adapters.at(-1)!.publishes[0]!.confirm();
          await eventually(() => expect(answersIn(publisher.log)).to.have.length(tag));
          if (tag === 1) await restart();
        }
        expect(outcomes(answersIn(publisher.log))).to.deep.equal([published(1), published(2)]);
        const [first, second] = answersIn(publisher.log).map((m) => m['msgId']);
        expect(second).to.match(/^node1-/).and.not.equal(first);
      });

      it("ignores the state changes of its predecessor's adapter", async () => {
        const { ref, adapters, relay, readiness, restart } = await supervisedBroker();
        const publisher = await startRecorder(system.link('publisher'));
        await restart();
        adapters[0]!.change({ state: 'disconnected', reason: 'the old connection, closed late' });
        say(ref, publisher.ref, 1); // handled after the state change
        await eventually(() => expect(adapters[1]!.publishes).to.have.length(1));
        adapters[1]!.publishes[0]!.confirm();
        await eventually(() => expect(outcomes(answersIn(publisher.log))).to.deep.equal([published(1)]));
        expect(readiness.broker).to.equal('connected');
        expect(relay.log.filter((m) => m.type === 'broker_state').map((m) => m['state'])).to.deep.equal(['connected', 'connected']);
      });
    });
  });
});
