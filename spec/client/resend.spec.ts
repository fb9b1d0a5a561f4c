/**
 * The client library's resends (PROTOCOL.md "Idempotent resends") against
 * daemons on one RabbitMQ: a `say` whose ack was lost with its daemon, to
 * a SIGKILL or a drain (1001), is resent under the same id once the client
 * is welcomed again, by the restarted daemon or by the next url's, and is
 * delivered once; its promise resolves with the first copy's msgId.
 *
 * A daemon restarts on another port (this uWS build cannot bind a port
 * whose connections sit in TIME_WAIT: lib/http/listen_sockets.ts), and
 * the client reaches it under its URL, as through a load balancer.
 *
 * A `say` unanswered for `timeoutMs`, or answered `unavailable` (its
 * daemon cut off from RabbitMQ), is resent too, on the same socket, up to
 * `maxAttempts` sends, and delivered once.
 *
 * The ack is lost on purpose (the client's socket drops it) after an
 * observer saw the message: the daemon had published it, and only the ack
 * is missing, as when the daemon dies right then.
 */
import { expect } from 'chai';
import { WarrenError } from 'warren/client';
import { fetchTree } from '../support/admin';
import { BROKERS } from '../support/brokers';
import { ChatClient } from '../support/client';
import { Daemon } from '../support/daemon';
import { until } from '../support/eventually';
import { atExit } from '../support/hooks';
import { useDaemon } from '../support/lifecycle';
import { sharedRabbit } from '../support/rabbitmq';
import { gatedRabbit } from '../support/refusing_hosts';
import { RecordedClient, timesDelivered } from '../support/warren_client';

const RABBITMQ = BROKERS[1];

describe('the client library resending across daemons, on RabbitMQ', function () {
  this.timeout(60_000);
  /** Where the observers are, and the next url of a client whose daemon drains. */
  const steady = useDaemon(RABBITMQ);
  const started: Daemon[] = [];
  const start = async () => {
    const daemon = await Daemon.start({ amqpUrl: await RABBITMQ.amqpUrl() });
    started.push(daemon);
    return daemon;
  };
  after(() => Promise.all(started.map((daemon) => daemon.stop())));
  const observe = (room: string) => ChatClient.connect(steady().wsUrl(`name=observer&room=${room}`));

  /** `recorded` says `text` and loses its ack once the message is out: the observer's copy. */
  async function sayAndLoseTheAck(recorded: RecordedClient, observer: ChatClient, room: string, text: string) {
    recorded.socket.lose = (frame) => frame.type === 'ack';
    const acked = recorded.client.say(room, text);
    const published = await observer.next('message', { room, text }, 10_000);
    return { acked, published };
  }

  it('resends a say whose ack was lost to a SIGKILL once its daemon is back: delivered once; one said while it was down too', async () => {
    const doomed = await start();
    const observer = await observe('rs1');
    const recorded = await RecordedClient.open({ url: doomed.wsUrl(), name: 'resender', room: 'rs1' });
    const { acked, published } = await sayAndLoseTheAck(recorded, observer, 'rs1', 'once');
    const nodes = [(await fetchTree(doomed)).node];

    await doomed.kill();
    const whileDown = recorded.client.say('rs1', 'while down');
    await recorded.reached('reconnecting');
    const restarted = await start();
    recorded.route = (url) => url.replace(`:${doomed.port}/`, `:${restarted.port}/`);
    expect(await acked).to.include({ msgId: published['msgId'] });
    await whileDown;
    nodes.push((await fetchTree(restarted)).node);
    expect(recorded.welcomes.map((welcome) => welcome.node), 'welcomed by the daemon, then by its restart').to.deep.equal(nodes);
    expect(await timesDelivered(observer, 'rs1', 'once')).to.equal(1);
    expect(await timesDelivered(observer, 'rs1', 'while down')).to.equal(1);
  });

  it('resends a say whose ack was lost when its daemon drained (1001) on the next url: delivered once; what was said meanwhile recovered there', async () => {
    const draining = await start();
    const observer = await observe('rs2');
    const recorded = await RecordedClient.open({ url: [draining.wsUrl(), steady().wsUrl()], name: 'mover', room: 'rs2' });
    const { acked, published } = await sayAndLoseTheAck(recorded, observer, 'rs2', 'moved');

    // Kept from the next daemon for a while, so that messages are said while it is away.
    recorded.networkDown({ keepOpen: true });
    await draining.stop();
    expect(await recorded.reached('reconnecting')).to.include({ code: 1001 });
    const away = ['away0', 'away1', 'away2'];
    for (const text of away) observer.send({ type: 'say', room: 'rs2', text, id: text });
    await observer.next('message', { text: 'away2' });
    recorded.networkUp();

    expect(await acked).to.include({ msgId: published['msgId'] });
    expect(recorded.sockets[1]!.asked, 'the next url at once, not the draining daemon again').to.include(`:${steady().port}/`);
    expect(recorded.client.welcome).to.include({ node: observer.welcome['node'] });
    await recorded.received('rs2', 'away2');
    // `moved` came back live from the draining daemon, or is replayed by the next one: once either way.
    expect(recorded.messages('rs2').map((message) => message.text)).to.deep.equal(['moved', ...away]);
    expect(recorded.texts('rs2').slice(1)).to.deep.equal(away.map((text) => `${text} (replay)`));
    expect(await timesDelivered(observer, 'rs2', 'moved')).to.equal(1);
  });

  it('resends a say whose ack was lost on a socket that stays open after timeoutMs, under the same id: acked with the first copy\'s msgId, delivered once', async () => {
    const observer = await observe('rs4');
    const recorded = await RecordedClient.open({ url: steady().wsUrl(), name: 'impatient', room: 'rs4', timeoutMs: 1_000 });
    let acks = 0;
    recorded.socket.lose = (frame) => frame.type === 'ack' && acks++ === 0;
    const acked = recorded.client.say('rs4', 'again', { id: 'impatient-1' });
    const published = await observer.next('message', { text: 'again' }, 10_000);
    expect(await acked).to.include({ msgId: published['msgId'] });
    expect(recorded.socket.heard.filter((frame) => frame.type === 'ack').map((frame) => frame['msgId']), 'an ack per send').to.deep.equal([published['msgId'], published['msgId']]);
    expect(await timesDelivered(observer, 'rs4', 'again')).to.equal(1);
    expect(recorded.sockets).to.have.length(1);
  });

  it('resends a say answered unavailable (its daemon cut off from RabbitMQ) until RabbitMQ is back: delivered once; with fewer attempts allowed, fails with unavailable after them', async () => {
    const rabbit = await sharedRabbit();
    const gate = await gatedRabbit(Number(new URL(rabbit.url).port));
    atExit(() => gate.close());
    const cutOff = await Daemon.start({ amqpUrl: gate.urlOf(rabbit.url) });
    started.push(cutOff);
    const observer = await observe('rs3');
    const [patient, hasty] = await Promise.all([
      RecordedClient.open({ url: cutOff.wsUrl(), name: 'patient', room: 'rs3', maxAttempts: 100 }),
      RecordedClient.open({ url: cutOff.wsUrl(), name: 'hasty', room: 'rs3', maxAttempts: 3 }),
    ]);
    gate.sever();
    await until('the daemon to notice', async () => (await fetch(cutOff.url('/readyz'))).status, (status) => status === 503, 10_000);

    const failed = hasty.client.say('rs3', 'given up', { id: 'hasty-1' }).catch((error: unknown) => error);
    const acked = patient.client.say('rs3', 'through the outage', { id: 'patient-1' });
    expect(await failed).to.be.instanceOf(WarrenError).and.include({ code: 'unavailable', retryable: true });
    const unavailable = (recorded: RecordedClient, id: string) => recorded.socket.heard.filter((frame) => frame.type === 'error' && frame['id'] === id);
    expect(unavailable(hasty, 'hasty-1').map((frame) => frame['code']), 'one answer per send').to.deep.equal(['unavailable', 'unavailable', 'unavailable']);
    await until('the patient say answered unavailable', () => unavailable(patient, 'patient-1').length, (count) => count > 0);

    gate.open();
    const ack = await acked;
    expect(await observer.next('message', { text: 'through the outage' }, 10_000)).to.include({ msgId: ack.msgId });
    expect(await timesDelivered(observer, 'rs3', 'through the outage')).to.equal(1);
    expect(patient.sockets, 'resent on the same socket').to.have.length(1);
  });
});
