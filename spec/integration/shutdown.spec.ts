/**
 * SIGTERM (PROTOCOL.md, close 1001): readiness turns 503, each `say` in
 * flight is answered before its socket closes with 1001, the tree stops in
 * order, and the process exits 0.
 */
import { expect } from 'chai';
import { BROKERS } from '../support/brokers';
import { ChatClient } from '../support/client';
import { Daemon } from '../support/daemon';

for (const broker of BROKERS) {
  describe(`shutting down on SIGTERM, on the ${broker.name}`, function () {
    this.timeout(30_000);

    it('answers every say in flight, closes every socket with 1001, and exits 0', async () => {
      const amqpUrl = await broker.amqpUrl();
      const daemon = await Daemon.start(amqpUrl ? { amqpUrl } : {});
      const talker = await ChatClient.connect(daemon.wsUrl('name=talker&room=bye'));
      const idle = await ChatClient.connect(daemon.wsUrl('name=idle&room=bye'));
      for (let n = 0; n < 100; n++) talker.send({ type: 'say', text: `m${n}`, id: `s${n}` });
      daemon.signal('SIGTERM');

      const [talkerClosed, idleClosed, exit] = await Promise.all([talker.closed, idle.closed, daemon.exited]);
      expect(talkerClosed.code).to.equal(1001);
      expect(idleClosed.code).to.equal(1001);
      expect(exit).to.deep.equal({ code: 0, signal: null });

      // Every say the daemon read got one answer before the close: an ack,
      // or `unavailable` for those that came in while draining. Acks come in
      // the order the says were sent (PROTOCOL.md); errors need not.
      const answers = talker.frames.filter((f) => f.type === 'ack' || (f.type === 'error' && f['code'] === 'unavailable'));
      const answered = answers.map((f) => f['id']);
      expect(new Set(answered).size).to.equal(answered.length);
      const acked = answers.filter((f) => f.type === 'ack').map((f) => Number(String(f['id']).slice(1)));
      expect(acked).to.not.be.empty;
      expect(acked).to.deep.equal([...acked].sort((a, b) => a - b));

      const messages = daemon.logs.map((line) => line.msg);
      const order = ['SIGTERM: draining, then stopping', 'draining 2 connections', 'warren stopped'].map((msg) => messages.indexOf(msg));
      expect(order.every((index) => index >= 0), messages.join('\n')).to.equal(true);
      expect(order).to.deep.equal([...order].sort((a, b) => a - b));
    });
  });
}
