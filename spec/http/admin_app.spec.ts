/**
 * The admin port in-process: at a moment a daemon child process cannot be
 * stopped at (after the tree has stopped and before the ports close), and
 * its garbage collection, which can be watched only from inside.
 */
import { expect } from 'chai';
import type { HeapAfterGc } from '../../lib/http/heap';
import { stop, type Warren } from '../../lib/warren_app';
import { childOf, startWarren, testConfig } from '../support/in_process';

describe('admin port', function () {
  this.timeout(20_000);

  it('answers /debug/tree with 503, not a tree-less 200, once the tree has stopped and the port still answers', async () => {
    const { warren } = await startWarren();
    const adminPort = childOf(warren, 'listener').info['adminPort'] as number;
    try {
      expect((await fetch(`http://127.0.0.1:${adminPort}/debug/tree`)).status).to.equal(200);
      await warren.app.stop();
      const answer = await fetch(`http://127.0.0.1:${adminPort}/debug/tree`);
      expect(answer.status).to.equal(503);
      expect(await answer.json()).to.deep.equal({ error: 'the application has stopped: no actor tree' });
    } finally {
      await stop(warren);
    }
  });

  describe('POST /debug/gc', () => {
    const token = 'gc-token';
    let warren: Warren;
    let adminPort: number;
    before(async () => {
      ({ warren } = await startWarren(testConfig({ ADMIN_TOKEN: token })));
      adminPort = childOf(warren, 'listener').info['adminPort'] as number;
    });
    after(() => stop(warren));
    const collect = (headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
      fetch(`http://127.0.0.1:${adminPort}/debug/gc`, { method: 'POST', headers });

    it('answers 401 without the bearer token, or with a wrong one', async () => {
      expect((await collect({})).status).to.equal(401);
      expect((await collect({ authorization: 'Bearer nope' })).status).to.equal(401);
    });

    it('collects garbage and answers the heap after it: the garbage made here is gone from heapUsed', async () => {
      // Released once measured; too little is allocated before the endpoint
      // runs for an ordinary major GC to take it first.
      let garbage: Array<{ n: number }> | undefined = Array.from({ length: 1_000_000 }, (_, n) => ({ n }));
      const withGarbage = process.memoryUsage().heapUsed;
      const answer = collect();
      garbage = undefined;
      const response = await answer;
      expect(response.status).to.equal(200);
      const figures = (await response.json()) as HeapAfterGc;
      expect(figures.memory.rss).to.be.above(0);
      expect(figures.heap.used_heap_size).to.be.above(0).and.at.most(figures.heap.total_heap_size);
      expect(figures.spaces['old_space']).to.be.above(0).and.at.most(figures.heap.used_heap_size);
      expect(figures.memory.heapUsed, 'about 40 MB of objects collected').to.be.below(withGarbage - 20_000_000);
    });
  });
});
