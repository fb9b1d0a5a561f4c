/**
 * lib/main.ts, the process: SIGINT stops it as SIGTERM does, and a shutdown
 * that overruns SHUTDOWN_TIMEOUT_MS ends it with status 1 all the same.
 */
import { expect } from 'chai';
import { connectionOf, fetchTree } from './support/admin';
import { ChatClient } from './support/client';
import { Daemon } from './support/daemon';
import { until } from './support/eventually';
import { sharedRabbitNode } from './support/rabbitmq';
import type { RabbitNode } from './support/rabbitmq_node';

describe('main', function () {
  this.timeout(30_000);

  it('on SIGINT, drains, closes every socket with 1001 and exits 0, as on SIGTERM', async () => {
    const daemon = await Daemon.start();
    const clients = await Promise.all(['i1', 'i2'].map((name) => ChatClient.connect(daemon.wsUrl(`name=${name}&room=int`))));
    clients[0]!.send({ type: 'say', text: 'before the interrupt', id: 'i' });
    await clients[0]!.next('ack', { id: 'i' });
    daemon.signal('SIGINT');
    for (const client of clients) expect((await client.closed).code).to.equal(1001);
    expect(await daemon.exited).to.deep.equal({ code: 0, signal: null });
    expect(daemon.logs.map((line) => line.msg)).to.include.members(['SIGINT: draining, then stopping', 'warren stopped']);
  });

  describe('with a RabbitMQ node that stops answering', () => {
    let rabbit: RabbitNode;
    before(async function () {
      this.timeout(120_000);
      rabbit = await sharedRabbitNode(); // frozen for a moment, and thawed in the spec's finally
    });

    // A frozen node keeps its TCP connections open and answers nothing: the
    // `say` is never confirmed, so the drain lasts until its deadline, and
    // closing the RabbitMQ connection then waits for the broker's 5 s cap.
    it('exits 1 when the shutdown overruns its timeout', async () => {
      const daemon = await Daemon.start({ amqpUrl: rabbit.url, env: { SHUTDOWN_TIMEOUT_MS: '1000' } });
      const client = await ChatClient.connect(daemon.wsUrl('name=unheard&room=frozen'));
      process.kill(-rabbit.pid!, 'SIGSTOP');
      try {
        client.send({ type: 'say', text: 'never confirmed', id: 'u' });
        await until('the say to await its confirm', async () => connectionOf((await fetchTree(daemon)).tree, 'unheard')?.info['awaitingConfirm'], (n) => n === 1);
        daemon.signal('SIGTERM');
        expect(await daemon.exited).to.deep.equal({ code: 1, signal: null });
        expect(daemon.logs.map((line) => line.msg)).to.include('shutdown took longer than 1000 ms: exiting anyway');
      } finally {
        process.kill(-rabbit.pid!, 'SIGCONT');
      }
    });
  });
});
