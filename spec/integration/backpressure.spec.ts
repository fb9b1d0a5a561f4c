/**
 * A client that stops reading (PROTOCOL.md, close 1013): once its unsent
 * buffer passes the limit (1 MiB by default) it is closed, and the others
 * keep receiving everything.
 */
import { expect } from 'chai';
import { BROKERS } from '../support/brokers';
import { ChatClient } from '../support/client';
import { connectionOf, fetchTree } from '../support/admin';
import { eventually } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';

// Enough bytes to pass the stuck client's 1 MiB limit and the kernel's
// socket buffers (several MiB on loopback): 4 senders × 150 messages of
// 4000 three-byte characters, about 7 MiB, within each sender's burst of
// 200 frames. They go out in waves, so the healthy clients, which all read
// in this one test process, keep up: a healthy client that fell 1 MiB
// behind would rightly be closed too.
const SENDERS = 4;
const MESSAGES_EACH = 150;
const WAVE = 10;
const TEXT = '€'.repeat(4000);

for (const broker of BROKERS) {
  describe(`a client that stops reading, on the ${broker.name}`, function () {
    this.timeout(60_000);
    const daemon = useDaemon(broker);

    it('is closed with 1013 while the other members receive every message', async () => {
      const stuck = await ChatClient.connect(daemon().wsUrl('name=stuck&room=flood'));
      const reader = await ChatClient.connect(daemon().wsUrl('name=reader&room=flood'));
      const senders = await Promise.all(Array.from({ length: SENDERS }, (_, i) => ChatClient.connect(daemon().wsUrl(`name=s${i}&room=flood`))));
      stuck.pause();
      for (let sent = 0; sent < MESSAGES_EACH; sent += WAVE) {
        for (const sender of senders) for (let n = 0; n < WAVE; n++) sender.send({ type: 'say', text: TEXT });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const total = SENDERS * MESSAGES_EACH;
      for (const client of [reader, ...senders]) expect(await client.collect('message', total, 40_000)).to.have.length(total);
      // The server gave up on the stuck client: its connection is gone from the tree.
      await eventually(async () => expect(connectionOf((await fetchTree(daemon())).tree, 'stuck')).to.equal(undefined), 10_000);
      stuck.resume();
      const { code } = await stuck.closed;
      expect(code).to.equal(1013);
    });
  });
}
