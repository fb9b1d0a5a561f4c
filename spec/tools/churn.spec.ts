import { expect } from 'chai';
import { PER_SOCKET, type Structures, pastRoomBounds, structures } from '../../tools/soak/admin';
import { runCycles } from '../../tools/soak/cycles';
import { fetchTree } from '../support/admin';
import { eventually } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';

const ROOMS = 10;
const HISTORY_SIZE = 100; // config/default.json

describe('churn (tools/soak)', function () {
  this.timeout(60_000);
  // The waves connect faster than limits.connectRate lets a node accept.
  const daemon = useDaemon(undefined, { env: { CONNECT_RATE: '100000' } });
  const current = async () => structures((await fetchTree(daemon())).tree);
  const perSocket = (figures: Structures) => Object.fromEntries(PER_SOCKET.map((key) => [key, figures[key]]));

  it('2,000 connect/join/say/close cycles in waves of 500 leave the tree, the relay and presence as they were, and history within its bounds', async () => {
    const baseline = await current();
    await runCycles({ url: daemon().wsUrl(), cycles: 2_000, wave: 500, rooms: ROOMS, sayEvery: 3, history: 10 });
    const after = await eventually(async () => {
      const figures = await current();
      expect(perSocket(figures)).to.deep.equal(perSocket(baseline));
      return figures;
    }, 20_000, 100);
    expect(after.historyRooms, 'every room had messages').to.equal(baseline.historyRooms + ROOMS);
    expect(pastRoomBounds(baseline, after, ROOMS, HISTORY_SIZE)).to.deep.equal([]);
  });
});
