/**
 * The admin port in-process, at a moment a daemon child process cannot be
 * stopped at: after the tree has stopped and before the ports close.
 */
import { expect } from 'chai';
import { stop } from '../../lib/warren_app';
import { childOf, startWarren } from '../support/in_process';

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
});
