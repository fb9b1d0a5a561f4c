/**
 * SIGTERM (PROTOCOL.md, close 1001): each `say` in flight is answered before
 * its socket closes with 1001, the tree stops in order, and the process
 * exits 0; with shutdown.drainSeconds, the closes are spread over it.
 */
import { expect } from 'chai';
import type { ActorInfo } from '../../lib/otp/sys';
import { actors, fetchTree } from '../support/admin';
import { BROKERS } from '../support/brokers';
import { ChatClient } from '../support/client';
import { Daemon } from '../support/daemon';
import { until } from '../support/eventually';

/** /debug/tree, polled from now until the admin port stops answering. */
async function treesUntilGone(daemon: Daemon): Promise<ActorInfo[]> {
  const trees: ActorInfo[] = [];
  for (;;) {
    const tree = await fetchTree(daemon).then(
      (answer) => answer.tree as ActorInfo | undefined, // none once the root has stopped
      () => undefined,
    );
    if (!tree) return trees;
    trees.push(tree);
  }
}

for (const broker of BROKERS) {
  describe(`shutting down on SIGTERM, on the ${broker.name}`, function () {
    this.timeout(30_000);

    it('answers every say in flight, closes every socket with 1001, stops the tree in order, and exits 0', async () => {
      const amqpUrl = await broker.amqpUrl();
      const daemon = await Daemon.start(amqpUrl ? { amqpUrl } : {});
      const talker = await ChatClient.connect(daemon.wsUrl('name=talker&room=bye'));
      const idle = await ChatClient.connect(daemon.wsUrl('name=idle&room=bye'));
      const started = (await fetchTree(daemon)).tree.children.map((child) => child.name);
      const sent = Array.from({ length: 100 }, (_, n) => `s${n}`);
      for (const id of sent) talker.send({ type: 'say', text: `m${id}`, id });
      daemon.signal('SIGTERM');

      const trees = await treesUntilGone(daemon);
      expect((await talker.closed).code).to.equal(1001);
      expect((await idle.closed).code).to.equal(1001);
      expect(await daemon.exited).to.deep.equal({ code: 0, signal: null });

      // Every say got exactly one answer before the close: an ack, or
      // `unavailable` for those read while draining. Acks come in the order
      // the says were sent (PROTOCOL.md); errors need not.
      const answers = talker.frames.filter((f) => f.type === 'ack' || (f.type === 'error' && f['code'] === 'unavailable'));
      expect(answers.map((f) => f['id']).sort()).to.deep.equal([...sent].sort());
      const acked = answers.filter((f) => f.type === 'ack').map((f) => Number(String(f['id']).slice(1)));
      expect(acked).to.not.be.empty;
      expect(acked).to.deep.equal([...acked].sort((a, b) => a - b));

      // Draining happens while the whole tree runs; then the children stop
      // newest first (listener, connection_sup, broker, relay), none restarting.
      const stages = trees.map((tree) => tree.children.map((child) => child.name));
      stages.forEach((names, i) => {
        expect(names, `tree ${i} of ${JSON.stringify(stages)}`).to.deep.equal(started.slice(0, names.length));
        if (i > 0) expect(names.length, `tree ${i} of ${JSON.stringify(stages)}`).to.be.at.most(stages[i - 1]!.length);
      });
      for (const tree of trees.filter((tree) => actors(tree).some((actor) => actor.behaviour === 'connection'))) {
        expect(tree.children.map((child) => child.name), 'a connection outlived the whole tree').to.deep.equal(started);
      }
    });
  });
}

describe('a staged drain on SIGTERM (shutdown.drainSeconds), on the in-process bus', function () {
  this.timeout(30_000);
  const SOCKETS = 40;
  const WINDOW_MS = 2_000;

  it('turns unready at once, answers every say, and closes the sockets with 1001 spread over the window, not at once', async () => {
    const daemon = await Daemon.start({ env: { SHUTDOWN_DRAIN_SECONDS: String(WINDOW_MS / 1000), SHUTDOWN_TIMEOUT_MS: '8000' } });
    const clients = await Promise.all(Array.from({ length: SOCKETS }, (_, n) => ChatClient.connect(daemon.wsUrl(`name=d${n}&room=drain`))));
    const closes: Array<{ code: number; at: number }> = [];
    for (const client of clients) void client.closed.then(({ code }) => closes.push({ code, at: Date.now() }));
    const talker = clients.at(-1)!; // drained last: it chats on meanwhile
    const sent = Array.from({ length: 20 }, (_, n) => `s${n}`);
    for (const id of sent) talker.send({ type: 'say', text: id, id });
    daemon.signal('SIGTERM');

    await until('/readyz to answer 503', async () => (await fetch(daemon.url('/readyz'))).status, (status) => status === 503);
    expect(closes.length, 'sockets closed by the time readiness turned').to.be.below(SOCKETS / 2);
    expect(await daemon.exited).to.deep.equal({ code: 0, signal: null });

    expect(closes.map((close) => close.code)).to.deep.equal(Array(SOCKETS).fill(1001));
    const times = closes.map((close) => close.at);
    // Timers never fire early: the last batch goes out a tick before the
    // window's end, however slow the machine, so the spread has a floor.
    expect(Math.max(...times) - Math.min(...times), 'from the first close to the last').to.be.at.least(WINDOW_MS / 2);
    const answers = talker.frames.filter((f) => f.type === 'ack' || (f.type === 'error' && f['code'] === 'unavailable'));
    expect(answers.map((f) => f['id']).sort()).to.deep.equal([...sent].sort());
  });
});
