/**
 * The broker actor on the in-process bus (the real in-process broker, not a
 * stand-in). The same behaviour over RabbitMQ, outages included, is proven
 * by the integration specs.
 */
import { expect } from 'chai';
import { type BrokerRef, broker } from '../../lib/actors/broker';
import type { RelayRef } from '../../lib/actors/relay';
import { decodeBatch } from '../../lib/broker/batch';
import { LocalAdapter, LocalExchange } from '../../lib/broker/local_bus';
import { cast, startLink } from '../../lib/otp/gen_server';
import { Process, type Ref } from '../../lib/otp/process';
import { Readiness } from '../../lib/readiness';
import { eventually } from '../support/eventually';
import { type Recorded, startRecorder } from '../support/recorder';
import { useSystem } from '../support/system';

describe('broker (on the in-process bus)', () => {
  const system = useSystem();
  let exchange: LocalExchange;
  beforeEach(() => (exchange = new LocalExchange()));

  async function startBroker(name: string, adapter = new LocalAdapter(exchange)) {
    const relay = await startRecorder(system.link(`${name}-relay`));
    const readiness = new Readiness();
    const ref: BrokerRef = await startLink(system.link(name), broker, {
      nodeId: name,
      relay: relay.ref as unknown as RelayRef,
      connect: async () => adapter,
      publishTimeoutMs: 5_000,
      readiness,
    });
    return { ref, relay, readiness, adapter };
  }
  const say = (to: BrokerRef, replyTo: Ref, tag: number, text = `m${tag}`) =>
    cast(to, { type: 'publish', room: 'lobby', from: 'alice', text, replyTo, tag });
  const deliveredTexts = (relayLog: Recorded[]) =>
    relayLog
      .filter((m) => m.type === 'deliver')
      .flatMap((m) => decodeBatch(m['batch'] as Buffer).map((d) => JSON.parse(Buffer.from(d.frame).toString()) as Record<string, unknown>));

  it('answers each publisher once the broker confirmed, with a msgId that names the node, and reports the state', async () => {
    const { ref, relay, readiness } = await startBroker('node1');
    const publisher = await startRecorder(system.link('publisher'));
    say(ref, publisher.ref, 7, 'hello');
    await eventually(() => expect(publisher.log).to.deep.equal([{ type: 'published', tag: 7, msgId: 'node1-0' }]));
    await eventually(() => expect(deliveredTexts(relay.log)).to.have.length(1));
    const [message] = deliveredTexts(relay.log);
    expect(message).to.include({ type: 'message', room: 'lobby', msgId: 'node1-0', from: 'alice', text: 'hello' });
    expect(message!['ts']).to.be.a('number');
    expect(readiness.broker).to.equal('connected');
    expect(relay.log[0]).to.deep.equal({ type: 'broker_state', state: 'connected' });
  });

  it('sends what it accepts while a batch is in flight as the next batch, keeping the order', async () => {
    const { ref, relay } = await startBroker('node1');
    const publisher = await startRecorder(system.link('publisher'));
    for (let tag = 0; tag < 200; tag++) say(ref, publisher.ref, tag);
    await eventually(() => expect(publisher.log).to.have.length(200));
    expect(publisher.log.map((m) => m['tag'])).to.deep.equal([...Array(200).keys()]);
    await eventually(() => expect(deliveredTexts(relay.log)).to.have.length(200));
    expect(deliveredTexts(relay.log).map((m) => m.text)).to.deep.equal([...Array(200).keys()].map((tag) => `m${tag}`));
    const batches = Process.of(ref)!.behaviour.info(Process.of(ref)!)['batches'] as number;
    expect(batches).to.be.below(200);
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
    await eventually(() => expect(publisher.log).to.deep.equal([{ type: 'unavailable', tag: 3 }]));
  });
});
