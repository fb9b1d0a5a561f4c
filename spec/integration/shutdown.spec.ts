/**
 * SIGTERM (PROTOCOL.md, close 1001): each `say` in flight is answered before
 * its socket closes with 1001, the tree stops in order, and the process
 * exits 0.
 */
import { expect } from 'chai';
import type { ActorInfo } from '../../lib/otp/sys';
import { actors, fetchTree } from '../support/admin';
import { BROKERS } from '../support/brokers';
import { ChatClient } from '../support/client';
import { Daemon } from '../support/daemon';

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
