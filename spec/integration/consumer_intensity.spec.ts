/**
 * A connection restarts its crashed consumer, but not forever: past
 * CONSUMER_INTENSITY (3) crashes within 10 s it gives up, and the client,
 * whose socket closes with 1011, reconnects afresh.
 */
import { expect } from 'chai';
import { connectionOf, fetchTree, killActor } from '../support/admin';
import { ChatClient } from '../support/client';
import { until } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';

describe('a consumer that keeps crashing, seen from its socket', function () {
  this.timeout(30_000);
  const daemon = useDaemon();
  const consumerOf = async (name: string) => connectionOf((await fetchTree(daemon())).tree, name)?.children[0];

  it('is restarted 3 times with the socket open; the 4th crash within 10 s closes the socket with 1011', async () => {
    const client = await ChatClient.connect(daemon().wsUrl('name=fragile'));
    for (let crash = 1; crash <= 3; crash++) {
      const consumer = (await consumerOf('fragile'))!;
      expect((await killActor(daemon(), consumer.path)).status).to.equal(200);
      await until(`restart ${crash} of the consumer`, () => consumerOf('fragile'), (restarted) => restarted?.restarts === crash);
      client.send({ type: 'ping', id: `p${crash}` });
      await client.next('pong', { id: `p${crash}` });
    }
    await killActor(daemon(), (await consumerOf('fragile'))!.path);
    expect((await client.closed).code).to.equal(1011);
    await until('the connection to leave the tree', async () => connectionOf((await fetchTree(daemon())).tree, 'fragile'), (gone) => gone === undefined);
  });
});
