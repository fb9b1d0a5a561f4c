import { expect } from 'chai';
import type { ActorInfo } from '../../lib/otp/sys';
import { checkTree, type LiveSocket } from '../../tools/chaos/tree_check';

const actor = (path: string, behaviour: string, info: Record<string, unknown> = {}, children: ActorInfo[] = []): ActorInfo => ({
  name: path.split('/').at(-1)!,
  path,
  kind: behaviour === 'supervisor' ? 'supervisor' : 'worker',
  behaviour,
  mailbox: 0,
  processed: 0,
  restarts: 0,
  info,
  children,
});

const connection = (n: number, name: string, room: string, children = ['consumer']) =>
  actor(`/warren_sup/connection_sup/connection-${n}`, 'connection', { name, rooms: [room], awaitingConfirm: 0 }, children.map((behaviour) => actor(`/warren_sup/connection_sup/connection-${n}/${behaviour}`, behaviour)));

/** A quiet daemon's tree for these sockets, as /debug/tree has it; `change` edits it before it is built. */
function treeFor(live: readonly LiveSocket[], change: { relay?: object; presence?: object; broker?: object; listener?: object; connections?: ActorInfo[] } = {}): ActorInfo {
  const rooms = new Set(live.map(({ room }) => room)).size;
  return actor('/warren_sup', 'supervisor', {}, [
    actor('/warren_sup/relay', 'relay', { rooms, members: live.length, historyRooms: rooms, historyMessages: 101 * rooms, duplicateKeys: 20 * rooms, ...change.relay }),
    actor('/warren_sup/broker', 'broker', { waiting: 0, inFlight: 0, ...change.broker }),
    actor('/warren_sup/presence', 'presence', { rooms, memberships: live.length, connections: live.length, ...change.presence }),
    actor('/warren_sup/connection_sup', 'supervisor', {}, change.connections ?? live.map(({ name, room }, n) => connection(n, name, room))),
    actor('/warren_sup/listener', 'listener', { open: live.length, upgrading: 0, ...change.listener }),
  ]);
}

const live: LiveSocket[] = [
  { name: 'a', room: 'r1' },
  { name: 'b', room: 'r1' },
  { name: 'c', room: 'r2' },
];

describe('the chaos run\'s tree check (tools/chaos)', () => {
  it('finds nothing wrong with a tree that holds exactly the open sockets', () => {
    expect(checkTree(treeFor(live), live, 100)).to.deep.equal([]);
    expect(checkTree(treeFor([]), [], 100)).to.deep.equal([]);
  });

  it('finds a connection left for a socket that is gone, and one missing for an open socket', () => {
    const leftOver = [...live.map(({ name, room }, n) => connection(n, name, room)), connection(9, 'gone', 'r1')];
    expect(checkTree(treeFor(live, { connections: leftOver }), live, 100)).to.deep.equal([
      'connections: 4, expected 3',
      'connections per name: {"a":1,"b":1,"c":1,"gone":1}, expected {"a":1,"b":1,"c":1}',
    ]);
    const missing = [connection(0, 'a', 'r1'), connection(2, 'c', 'r2')];
    expect(checkTree(treeFor(live, { connections: missing }), live, 100)).to.deep.equal([
      'connections: 2, expected 3',
      'connections per name: {"a":1,"c":1}, expected {"a":1,"b":1,"c":1}',
    ]);
  });

  it('finds a connection without its consumer, with two, in the wrong room or with a say unconfirmed', () => {
    const connections = [connection(0, 'a', 'r1', []), connection(1, 'b', 'r1', ['consumer', 'consumer']), connection(2, 'c', 'r1')];
    connections.push({ ...connections.pop()!, info: { name: 'c', rooms: ['r1'], awaitingConfirm: 1 } });
    expect(checkTree(treeFor(live, { connections }), live, 100)).to.deep.equal([
      '/warren_sup/connection_sup/connection-0 children: [], expected ["consumer"]',
      '/warren_sup/connection_sup/connection-1 children: ["consumer","consumer"], expected ["consumer"]',
      '/warren_sup/connection_sup/connection-2 rooms: ["r1"], expected ["r2"]',
      '/warren_sup/connection_sup/connection-2 awaitingConfirm: 1, expected 0',
    ]);
  });

  it('finds relay members or rooms left for sockets that are gone', () => {
    expect(checkTree(treeFor(live, { relay: { members: 4, rooms: 3 } }), live, 100)).to.deep.equal(['relay members: 4, expected 3', 'relay rooms: 3, expected 2']);
  });

  it('finds presence connections, memberships or rooms left for sockets that are gone', () => {
    expect(checkTree(treeFor(live, { presence: { connections: 4, memberships: 5, rooms: 3 } }), live, 100)).to.deep.equal([
      'presence connections: 4, expected 3',
      'presence memberships: 5, expected 3',
      'presence rooms: 3, expected 2',
    ]);
  });

  it('finds a history or duplicate window past what its rooms may keep', () => {
    expect(checkTree(treeFor(live, { relay: { historyMessages: 203, duplicateKeys: 300 } }), live, 100)).to.deep.equal([
      'relay historyMessages: 203 in 2 rooms, more than 101 a room',
      'relay duplicateKeys: 300 in 2 rooms, more than 101 a room',
    ]);
  });

  it('finds says still waiting in the broker and sockets the listener still counts', () => {
    expect(checkTree(treeFor(live, { broker: { waiting: 1, inFlight: 2 }, listener: { open: 4, upgrading: 1 } }), live, 100)).to.deep.equal([
      'broker waiting: 1, expected 0',
      'broker inFlight: 2, expected 0',
      'listener open: 4, expected 3',
      'listener upgrading: 1, expected 0',
    ]);
  });

  it('names a top-level actor missing from the tree', () => {
    const tree = treeFor(live);
    expect(checkTree({ ...tree, children: tree.children.filter(({ name }) => name !== 'presence') }, live, 100)).to.include('/warren_sup has no presence');
  });
});
