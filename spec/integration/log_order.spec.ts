/**
 * The log as every member sees it (PROTOCOL.md "Server to client"), on two
 * daemons reading one RabbitMQ stream: the same order and the same
 * positions on every node.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { BROKERS } from '../support/brokers';
import { ChatClient } from '../support/client';
import type { Daemon } from '../support/daemon';
import { useDaemon } from '../support/lifecycle';
import { expectPerSenderOrder } from '../support/sender_order';

const RABBITMQ = BROKERS.find((broker) => broker.name === 'RabbitMQ')!;

// Rooms and client keys of this run only: a broker given by AMQP_URL keeps
// earlier runs' messages, and their ids, in its log.
const run = randomBytes(4).toString('hex');
const unique = (name: string) => `${name}-${run}`;

const BARRIER = 'barrier';

describe('two daemons on one RabbitMQ: one order and one set of positions', function () {
  this.timeout(60_000);
  const first = useDaemon(RABBITMQ);
  const second = useDaemon(RABBITMQ);
  const SENDERS_EACH = 3;
  const MESSAGES = 30;

  it(`gives watchers on both the same (msgId, pos) sequence while ${SENDERS_EACH} senders on each say ${MESSAGES} at once`, async () => {
    const room = unique('order');
    const watchers = await watch([first(), second()], room);
    const senders = await Promise.all(
      [first(), second()].flatMap((daemon, d) =>
        Array.from({ length: SENDERS_EACH }, (_, s) => ChatClient.connect(daemon.wsUrl(`name=s${d}${s}&room=${room}`))),
      ),
    );
    for (let n = 0; n < MESSAGES; n++) senders.forEach((sender, s) => sender.send({ type: 'say', text: `s${s}:${n}`, id: `${n}` }));
    const acks = await Promise.all(senders.map((sender) => sender.collect('ack', MESSAGES, 30_000)));
    await barrier(senders[0]!, watchers);
    expectOneLog(watchers, acks.flat().map((ack) => String(ack['msgId'])));
  });
});

/** A watcher on each daemon, joined to `room` from the start. */
function watch(daemons: readonly Daemon[], room: string): Promise<ChatClient[]> {
  return Promise.all(daemons.map((daemon, d) => ChatClient.connect(daemon.wsUrl(`name=watcher${d}&room=${room}`))));
}

/** A message said after everything else: once every watcher has it, each has all it will ever get of what came before. */
async function barrier(sender: ChatClient, watchers: readonly ChatClient[]): Promise<void> {
  sender.send({ type: 'say', text: BARRIER, id: BARRIER });
  await sender.next('ack', { id: BARRIER }, 15_000);
  await Promise.all(watchers.map((watcher) => watcher.next('message', { text: BARRIER }, 15_000)));
}

/**
 * Every watcher got the same messages, in the same order, with the same
 * positions, which grow (compared as strings, as they sort); each sender's
 * in the order it said them; and each acked msgId exactly once.
 */
function expectOneLog(watchers: readonly ChatClient[], acked: readonly string[], order: { gaps?: boolean } = {}): void {
  const logs = watchers.map((watcher) => watcher.frames.filter((f) => f.type === 'message' && f['text'] !== BARRIER));
  const entries = logs.map((log) => log.map((message) => `${message['msgId']} ${message['pos']}`));
  for (const other of entries.slice(1)) expect(other, 'the same (msgId, pos) sequence on every node').to.deep.equal(entries[0]);
  const positions = logs[0]!.map((message) => String(message['pos']));
  positions.slice(1).forEach((pos, i) => expect(pos > positions[i]!, `position ${i + 1} (${pos}) after ${positions[i]}`).to.equal(true));
  expectPerSenderOrder(logs[0]!, order);
  for (const log of logs) {
    const msgIds = log.map((message) => String(message['msgId']));
    expect(new Set(msgIds).size, 'no msgId twice').to.equal(msgIds.length);
    expect(msgIds, 'every acked msgId').to.include.members([...acked]);
  }
}
