/**
 * Every close code of PROTOCOL.md "Closing" that a daemon sends without
 * authentication, and what the client library does about it: 1003, 1009
 * and 1013 reconnect and resend the `say`s that were not acked, delivered
 * once; 1008 stops, tells why and fails what was pending; a `close()` is
 * 1000 and stops too. (1001 and 1011: resend.spec.ts and
 * reconnect.spec.ts; 4001 and 4003: tokens.spec.ts.)
 */
import { expect } from 'chai';
import { setTimeout as delay } from 'node:timers/promises';
import { WarrenError } from 'warren/client';
import { connectionOf, fetchTree } from '../support/admin';
import { ChatClient } from '../support/client';
import { eventually } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';
import { RecordedClient, timesDelivered } from '../support/warren_client';

describe('the client library and each close code, on the in-process bus', function () {
  this.timeout(60_000);
  const daemon = useDaemon();
  const observe = (room: string) => ChatClient.connect(daemon().wsUrl(`name=observer&room=${room}`));
  const open = (name: string, room: string) => RecordedClient.open({ url: daemon().wsUrl(), name, room });

  for (const [code, why, breakIt] of [
    [1003, 'a binary frame', (recorded: RecordedClient) => recorded.socket.send(Buffer.from([1, 2, 3]), { binary: true })],
    [1009, 'a frame over the maximum payload (64 KiB)', (recorded: RecordedClient) => recorded.socket.send('x'.repeat(64 * 1024 + 1))],
  ] as const) {
    it(`${code} (${why}): reconnects, and the say sent right after it is delivered once and acked`, async () => {
      const room = `c${code}`;
      const observer = await observe(room);
      const recorded = await open(`closed-${code}`, room);
      breakIt(recorded);
      const ack = await recorded.client.say(room, 'after the close');
      expect(recorded.states.find((change) => change.state === 'reconnecting')).to.include({ code });
      await recorded.reached('open', 2);
      expect(await timesDelivered(observer, room, 'after the close')).to.equal(1);
      expect(observer.frames.find((frame) => frame['text'] === 'after the close')).to.include({ msgId: ack.msgId });
    });
  }

  it('never causes a 1009 itself: a say longer than the server takes (4000 characters) fails with too_large, and the socket stays', async () => {
    const recorded = await open('verbose', 'c1009-say');
    const failed = await recorded.client.say('c1009-say', 'x'.repeat(64 * 1024 + 1)).catch((error: unknown) => error);
    expect(failed).to.be.instanceOf(WarrenError).and.include({ code: 'too_large', retryable: false });
    expect(recorded.states.map((change) => change.state)).to.deep.equal(['connecting', 'open']);
  });

  it('1013 (it stopped reading while a room flooded): reconnects, and the say it sent into the closed socket is delivered once and acked', async () => {
    const recorded = await open('stuck', 'flood');
    const observer = await observe('flood');
    const senders = await Promise.all(Array.from({ length: 4 }, (_, i) => ChatClient.connect(daemon().wsUrl(`name=s${i}&room=flood`))));
    recorded.socket.pause();
    // As in backpressure.spec.ts: some 7 MiB in waves, more than the 1 MiB
    // limit and the kernel's buffers, slow enough for the healthy readers.
    for (let wave = 0; wave < 15; wave++) {
      for (const sender of senders) for (let n = 0; n < 10; n++) sender.send({ type: 'say', text: '€'.repeat(4000) });
      await delay(100);
    }
    await eventually(async () => expect(connectionOf((await fetchTree(daemon())).tree, 'stuck')).to.equal(undefined), 20_000);
    // The client cannot know yet: the close waits behind what it has not read.
    const said = recorded.client.say('flood', 'said while stuck');
    recorded.socket.resume();
    expect(await recorded.reached('reconnecting')).to.include({ code: 1013 });
    await said;
    await recorded.reached('open', 2);
    expect(await timesDelivered(observer, 'flood', 'said while stuck')).to.equal(1);
    const ids = recorded.messages('flood').map((message) => message.msgId);
    expect(new Set(ids).size, 'no message told twice').to.equal(ids.length);
  });

  it('1008 (it kept exceeding its rate limit): stops with the error rate_limited, fails what was pending, and does not reconnect', async () => {
    const recorded = await open('flooder', 'c1008');
    const pings = Array.from({ length: 400 }, () => recorded.client.ping().catch((error: unknown) => error));
    const said = recorded.client.say('c1008', 'too late').catch((error: unknown) => error);
    const closed = await recorded.reached('closed');
    expect(closed).to.include({ code: 1008 });
    expect(closed.error).to.be.instanceOf(WarrenError).and.include({ code: 'rate_limited' });
    // Sent after the frames that got the close, it was never answered.
    expect(await said).to.be.instanceOf(WarrenError).and.include({ code: 'closed' });
    expect((await Promise.all(pings)).filter((answer) => answer instanceof WarrenError)).to.not.be.empty;
    expect(await recorded.socketsAfterBackoff()).to.equal(1);
    expect(recorded.client.state).to.equal('closed');
  });

  it('close(): closes with 1000, fails what was pending with closed, and does not reconnect', async () => {
    const recorded = await open('leaving', 'c1000');
    // Sent, and its ack cannot have come back within this turn.
    const said = recorded.client.say('c1000', 'never acked').catch((error: unknown) => error);
    recorded.client.close();
    expect(await said).to.be.instanceOf(WarrenError).and.include({ code: 'closed' });
    const closed = await recorded.reached('closed');
    expect(closed).to.include({ code: 1000 });
    expect(closed).to.not.have.property('error');
    await eventually(async () => expect(connectionOf((await fetchTree(daemon())).tree, 'leaving')).to.equal(undefined));
    expect(await recorded.socketsAfterBackoff()).to.equal(1);
  });
});
