import { expect } from 'chai';
import { type Entry, type PresenceMessage, Replica, RESYNC_AFTER_MS, SNAPSHOT_PART_ENTRIES } from '../../lib/presence/replica';

const DOWN_AFTER_MS = 15_000;
const FORGET_AFTER_MS = 60_000;

/** Replica `a`, with the (room/user)s its onChange reported, in order. */
function replica(incarnation = 1, snapshotPartEntries?: number, retireBudget?: number) {
  const changes: string[] = [];
  const onChange = (room: string, user: string) => changes.push(`${room}/${user}`);
  const a = new Replica({ node: 'a', incarnation, downAfterMs: DOWN_AFTER_MS, forgetAfterMs: FORGET_AFTER_MS, onChange, snapshotPartEntries, retireBudget });
  return { a, changes };
}

// Messages from node b (incarnation 1 unless given).
const delta = (seq: number, entries: readonly Entry[], inc = 1): PresenceMessage => ({ t: 'delta', node: 'b', inc, seq, entries });
/** Part `part` of `parts` (the whole snapshot in one unless given). */
const snapshot = (seq: number, entries: readonly Entry[], part = 0, parts = 1): PresenceMessage => ({ t: 'snapshot', node: 'b', inc: 1, seq, part, parts, entries });
const heartbeat = (seq: number, inc = 1): PresenceMessage => ({ t: 'heartbeat', node: 'b', inc, seq });
const sync = (to: string): PresenceMessage => ({ t: 'sync', node: 'b', inc: 1, to });
const SYNC_B: PresenceMessage = { t: 'sync', node: 'a', inc: 1, to: 'b' };

const membersOf = (a: Replica, room: string) => Object.fromEntries(a.members(room));

describe('presence/replica', () => {
  describe('local changes', () => {
    it('counts a user once however many connections it has, and tells each change', () => {
      const { a, changes } = replica();
      a.track('dev', 'u1', 'alice');
      a.track('dev', 'u1', 'alice');
      a.track('dev', 'u2', 'bob');
      expect(a.counts('dev')).to.deep.equal({ users: 2, connections: 3 });
      expect(a.member('dev', 'u1')).to.deep.equal({ name: 'alice', connections: 2 });
      expect(a.localConnections('dev', 'u1')).to.equal(2);
      expect(a.localConnections('dev', 'u3')).to.equal(0);
      expect(changes).to.deep.equal(['dev/u1', 'dev/u1', 'dev/u2']);
      expect(a.rooms).to.equal(1);
    });

    it('counts the memberships of every room together, and names the largest rooms, most users first', () => {
      const { a } = replica();
      a.track('dev', 'u1', 'alice');
      a.track('dev', 'u1', 'alice');
      a.receive(delta(1, [['dev', 'u2', 'bob', 1], ['ops', 'u1', 'alice', 1], ['ops', 'u2', 'bob', 3], ['ops', 'u3', 'carol', 1], ['qa', 'u4', 'dave', 1]]), 0);
      expect(a.memberships).to.equal(6);
      expect(a.largestRooms(2)).to.deep.equal([
        { room: 'ops', users: 3, connections: 5 },
        { room: 'dev', users: 2, connections: 3 },
      ]);
      expect(a.largestRooms(5).map(({ room }) => room)).to.deep.equal(['ops', 'dev', 'qa']);
      // ops, the largest, came after dev: it takes dev's place in a full list.
      expect(a.largestRooms(1)).to.deep.equal([{ room: 'ops', users: 3, connections: 5 }]);
      a.receive(delta(2, [['ci', 'u9', 'ivan', 1]]), 0);
      // A tie keeps the order the rooms came in: qa before ci.
      expect(a.largestRooms(3).map(({ room }) => room)).to.deep.equal(['ops', 'dev', 'qa']);
      expect(a.largestRooms(4).map(({ room }) => room)).to.deep.equal(['ops', 'dev', 'qa', 'ci']);
      a.receive(delta(3, [['ops', 'u2', 'bob', 0], ['ops', 'u3', 'carol', 0], ['qa', 'u4', 'dave', 0], ['ci', 'u9', 'ivan', 0]]), 1);
      a.untrack('dev', 'u1');
      expect(a.memberships).to.equal(3);
      expect(a.largestRooms(1)).to.deep.equal([{ room: 'dev', users: 2, connections: 2 }]);
    });

    it('leaves a user at its last connection, and a room at its last member; untracking the untracked does nothing', () => {
      const { a, changes } = replica();
      a.track('dev', 'u1', 'alice');
      a.track('dev', 'u1', 'alice');
      a.track('ops', 'u1', 'alice');
      a.untrack('dev', 'u1');
      expect(a.member('dev', 'u1')).to.deep.equal({ name: 'alice', connections: 1 });
      a.untrack('dev', 'u1');
      expect(a.member('dev', 'u1')).to.equal(undefined);
      expect(a.counts('dev')).to.deep.equal({ users: 0, connections: 0 });
      expect(a.localConnections('dev', 'u1')).to.equal(0);
      expect(a.rooms).to.equal(1);
      changes.length = 0;
      a.untrack('dev', 'u1');
      a.untrack('dev', 'u9');
      a.untrack('nowhere', 'u1');
      expect(changes).to.deep.equal([]);
      expect(a.counts('ops')).to.deep.equal({ users: 1, connections: 1 });
    });

    it('names a user as its latest track did', () => {
      const { a } = replica();
      a.track('dev', 'u1', 'alice');
      a.track('dev', 'u1', 'Alice B.');
      expect(a.member('dev', 'u1')).to.deep.equal({ name: 'Alice B.', connections: 2 });
    });

    it('never changes a member it handed out', () => {
      const { a } = replica();
      a.track('dev', 'u1', 'alice');
      const member = a.member('dev', 'u1');
      a.track('dev', 'u1', 'Alice');
      expect(member).to.deep.equal({ name: 'alice', connections: 1 });
    });

    it('publishes the changes since the last delta as absolute counts, each delta one seq on, and nothing when nothing changed', () => {
      const { a } = replica(7);
      expect(a.pending).to.equal(false);
      expect(a.outbox(0)).to.deep.equal([]);
      a.track('dev', 'u1', 'alice');
      a.track('dev', 'u1', 'alice');
      a.track('dev', 'u2', 'bob');
      expect(a.pending).to.equal(true);
      expect(a.outbox(0)).to.deep.equal([{ t: 'delta', node: 'a', inc: 7, seq: 1, entries: [['dev', 'u1', 'alice', 2], ['dev', 'u2', 'bob', 1]] }]);
      expect(a.pending).to.equal(false);
      expect(a.outbox(1)).to.deep.equal([]);
      a.untrack('dev', 'u2');
      a.untrack('dev', 'u1');
      expect(a.outbox(2)).to.deep.equal([{ t: 'delta', node: 'a', inc: 7, seq: 2, entries: [['dev', 'u2', 'bob', 0], ['dev', 'u1', 'alice', 1]] }]);
      expect(a.seq).to.equal(2);
    });

    it('keeps a user that left and came back within one delta', () => {
      const { a } = replica();
      a.track('dev', 'u1', 'alice');
      a.outbox(0);
      a.untrack('dev', 'u1');
      a.track('dev', 'u1', 'alice');
      expect(a.outbox(1)).to.deep.equal([{ t: 'delta', node: 'a', inc: 1, seq: 2, entries: [['dev', 'u1', 'alice', 1]] }]);
      a.receive(sync('a'), 2);
      expect(a.outbox(2)).to.deep.equal([{ t: 'snapshot', node: 'a', inc: 1, seq: 2, part: 0, parts: 1, entries: [['dev', 'u1', 'alice', 1]] }]);
    });

    it('says heartbeat at its seq, goodbye, and hello as a sync to every node', () => {
      const { a } = replica(3);
      a.track('dev', 'u1', 'alice');
      expect(a.heartbeat()).to.deep.equal({ t: 'heartbeat', node: 'a', inc: 3, seq: 0 });
      a.outbox(0);
      expect(a.heartbeat()).to.deep.equal({ t: 'heartbeat', node: 'a', inc: 3, seq: 1 });
      expect(a.goodbye()).to.deep.equal({ t: 'goodbye', node: 'a', inc: 3 });
      expect(a.hello()).to.deep.equal({ t: 'sync', node: 'a', inc: 3, to: '*' });
    });
  });

  describe('snapshots asked for', () => {
    it('answers a sync to itself or to every node with a snapshot of its slice, after the delta and at its seq', () => {
      for (const to of ['a', '*']) {
        const { a } = replica();
        a.track('dev', 'u1', 'alice');
        a.track('ops', 'u2', 'bob');
        a.outbox(0);
        a.untrack('ops', 'u2');
        a.track('dev', 'u3', 'carol');
        a.receive(sync(to), 1);
        expect(a.pending).to.equal(true);
        expect(a.outbox(1)).to.deep.equal([
          { t: 'delta', node: 'a', inc: 1, seq: 2, entries: [['ops', 'u2', 'bob', 0], ['dev', 'u3', 'carol', 1]] },
          { t: 'snapshot', node: 'a', inc: 1, seq: 2, part: 0, parts: 1, entries: [['dev', 'u1', 'alice', 1], ['dev', 'u3', 'carol', 1]] },
        ]);
        expect(a.outbox(2), 'once').to.deep.equal([]);
      }
    });

    it('does not answer a sync to another node', () => {
      const { a } = replica();
      a.receive(sync('c'), 0);
      expect(a.pending).to.equal(false);
      expect(a.outbox(0)).to.deep.equal([]);
    });
  });

  describe('remote slices', () => {
    it('adds a delta in order to the slices of other nodes, summed with its own', () => {
      const { a, changes } = replica();
      a.track('dev', 'u1', 'alice');
      a.receive(delta(1, [['dev', 'u1', 'alice', 2], ['dev', 'u2', 'bob', 1]]), 100);
      expect(a.counts('dev')).to.deep.equal({ users: 2, connections: 4 });
      expect(a.member('dev', 'u1')).to.deep.equal({ name: 'alice', connections: 3 });
      expect(a.localConnections('dev', 'u1')).to.equal(1);
      a.receive(delta(2, [['dev', 'u1', 'alice', 0], ['dev', 'u2', 'bob', 1], ['ops', 'u2', 'bob', 1]]), 200);
      expect(membersOf(a, 'dev')).to.deep.equal({ u1: { name: 'alice', connections: 1 }, u2: { name: 'bob', connections: 1 } });
      expect(changes, 'an entry that changes no count tells nothing').to.deep.equal(['dev/u1', 'dev/u1', 'dev/u2', 'dev/u1', 'ops/u2']);
      expect(a.nodes()).to.deep.equal([{ node: 'b', incarnation: 1, up: true, seq: 2, lastHeardAt: 200, entries: 2 }]);
      expect(a.rooms).to.equal(2);
    });

    it('ignores its own messages', () => {
      const { a } = replica();
      a.receive({ t: 'delta', node: 'a', inc: 1, seq: 1, entries: [['dev', 'u1', 'alice', 1]] }, 0);
      a.receive({ t: 'sync', node: 'a', inc: 1, to: '*' }, 0);
      expect(a.counts('dev')).to.deep.equal({ users: 0, connections: 0 });
      expect(a.outbox(0)).to.deep.equal([]);
      expect(a.nodes()).to.deep.equal([]);
    });

    it('ignores a delta it already applied, the last one too', () => {
      const { a, changes } = replica();
      const first = delta(1, [['dev', 'u1', 'alice', 1]]);
      const last = delta(2, [['dev', 'u1', 'alice', 0]]);
      for (const message of [first, last, first, last]) a.receive(message, 0);
      expect(a.counts('dev')).to.deep.equal({ users: 0, connections: 0 });
      expect(changes).to.deep.equal(['dev/u1', 'dev/u1']);
      expect(a.outbox(0)).to.deep.equal([]);
    });

    it('does not apply a delta after a gap, and asks its node for a snapshot, once per resync interval', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      a.receive(delta(3, [['dev', 'u2', 'bob', 1]]), 0);
      expect(a.member('dev', 'u2')).to.equal(undefined);
      expect(a.pending).to.equal(true);
      expect(a.outbox(10)).to.deep.equal([SYNC_B]);
      expect(a.outbox(10 + RESYNC_AFTER_MS - 1)).to.deep.equal([]);
      expect(a.outbox(10 + RESYNC_AFTER_MS)).to.deep.equal([SYNC_B]);
      expect(a.nodes()[0]!.seq).to.equal(1);
    });

    it('asks for a snapshot when a heartbeat says a node is further on than what it applied', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      a.receive(heartbeat(1), 0);
      expect(a.pending).to.equal(false);
      a.receive(heartbeat(2), 0);
      expect(a.outbox(0)).to.deep.equal([SYNC_B]);
    });

    it('starts an unknown node at seq 0: its first delta applies, a later one is a gap', () => {
      const first = replica().a;
      first.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      expect(first.counts('dev').users).to.equal(1);
      const later = replica().a;
      later.receive(delta(4, [['dev', 'u1', 'alice', 1]]), 0);
      expect(later.counts('dev').users).to.equal(0);
      expect(later.outbox(0)).to.deep.equal([SYNC_B]);
    });

    it('replaces a slice with a snapshot at or past what it applied, telling each change, and stops asking', () => {
      const { a, changes } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1], ['dev', 'u2', 'bob', 2], ['ops', 'u3', 'carol', 1]]), 0);
      a.receive(delta(3, []), 0);
      changes.length = 0;
      a.receive(snapshot(3, [['dev', 'u2', 'bob', 2], ['dev', 'u4', 'dave', 1], ['ops', 'u3', 'carol', 3]]), 0);
      expect(membersOf(a, 'dev')).to.deep.equal({ u2: { name: 'bob', connections: 2 }, u4: { name: 'dave', connections: 1 } });
      expect(a.counts('ops')).to.deep.equal({ users: 1, connections: 3 });
      expect(changes).to.have.members(['dev/u4', 'ops/u3', 'dev/u1']).and.have.length(3);
      expect(a.pending).to.equal(false);
      expect(a.outbox(0)).to.deep.equal([]);
      a.receive(delta(4, [['dev', 'u2', 'bob', 0]]), 0);
      expect(a.counts('dev').users, 'deltas follow on from the snapshot').to.equal(1);
      a.receive(snapshot(4, [['dev', 'u4', 'dave', 0], ['ops', 'u9', 'ian', 0]]), 0);
      expect(a.rooms, 'a snapshot at the seq applied replaces too; an entry at 0 is no entry').to.equal(0);
      expect(a.nodes()[0]).to.include({ seq: 4, entries: 0 });
    });

    it('ignores a snapshot older than what it applied', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      a.receive(delta(2, [['dev', 'u2', 'bob', 1]]), 0);
      a.receive(delta(4, []), 0);
      a.receive(snapshot(1, [['dev', 'u1', 'alice', 1]]), 0);
      expect(a.counts('dev').users).to.equal(2);
      expect(a.outbox(0), 'still behind').to.deep.equal([SYNC_B]);
    });

    it('names a user as the latest writer did, which a snapshot repeating an older name does not undo', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      a.track('dev', 'u1', 'Alice');
      expect(a.member('dev', 'u1')!.name).to.equal('Alice');
      a.receive(snapshot(1, [['dev', 'u1', 'alice', 1]]), 0);
      expect(a.member('dev', 'u1')!.name).to.equal('Alice');
      a.receive(delta(2, [['dev', 'u1', 'Al', 1]]), 0);
      expect(a.member('dev', 'u1')).to.deep.equal({ name: 'Al', connections: 2 });
      a.track('dev', 'u1', 'A.');
      a.receive(snapshot(2, [['dev', 'u1', 'Al', 2]]), 0);
      expect(a.member('dev', 'u1'), 'a changed count is a write').to.deep.equal({ name: 'Al', connections: 4 });
      a.receive(delta(3, []), 0);
      a.receive(snapshot(3, [['dev', 'u1', 'Alan', 2]]), 0);
      expect(a.member('dev', 'u1'), 'and so is a changed name').to.deep.equal({ name: 'Alan', connections: 4 });
    });

    it('names a user as a delta repeating its count did: the delta is the latest write', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      a.track('dev', 'u1', 'Alice');
      a.receive(delta(2, [['dev', 'u1', 'alice', 1]]), 0);
      expect(a.member('dev', 'u1')).to.deep.equal({ name: 'alice', connections: 2 });
    });

    it('takes no name from an entry that leaves', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1], ['ops', 'u1', 'alice', 1]]), 0);
      a.track('dev', 'u1', 'Alice');
      a.track('ops', 'u1', 'Alice');
      a.receive(delta(2, [['dev', 'u1', 'alice', 0]]), 0);
      a.receive(snapshot(2, [['ops', 'u1', 'alice', 0]]), 0);
      expect(a.member('dev', 'u1')).to.deep.equal({ name: 'Alice', connections: 1 });
      expect(a.member('ops', 'u1')).to.deep.equal({ name: 'Alice', connections: 1 });
    });

    it('drops the slice of a node that says goodbye, its members leaving unless counted elsewhere', () => {
      const { a, changes } = replica();
      a.track('dev', 'u1', 'alice');
      a.receive(delta(1, [['dev', 'u1', 'alice', 1], ['dev', 'u2', 'bob', 1]]), 0);
      changes.length = 0;
      a.receive({ t: 'goodbye', node: 'b', inc: 1 }, 5);
      expect(membersOf(a, 'dev')).to.deep.equal({ u1: { name: 'alice', connections: 1 } });
      expect(changes).to.have.members(['dev/u1', 'dev/u2']).and.have.length(2);
      expect(a.nodes()).to.deep.equal([{ node: 'b', incarnation: 1, up: false, seq: 0, lastHeardAt: 5, entries: 0 }]);
    });
  });

  describe('snapshots in parts', () => {
    it('sends a snapshot asked for as parts of at most snapshotPartEntries, in order, all at the seq after the delta', () => {
      const { a } = replica(1, 2);
      for (const user of ['u1', 'u2', 'u3', 'u4', 'u5']) a.track('dev', user, user);
      a.receive(sync('a'), 0);
      const entry = (user: string): Entry => ['dev', user, user, 1];
      const part = (n: number, entries: Entry[]) => ({ t: 'snapshot', node: 'a', inc: 1, seq: 1, part: n, parts: 3, entries });
      expect(a.outbox(0)).to.deep.equal([
        { t: 'delta', node: 'a', inc: 1, seq: 1, entries: ['u1', 'u2', 'u3', 'u4', 'u5'].map(entry) },
        part(0, [entry('u1'), entry('u2')]),
        part(1, [entry('u3'), entry('u4')]),
        part(2, [entry('u5')]),
      ]);
    });

    it('sends an empty slice as one part without entries, and parts of SNAPSHOT_PART_ENTRIES unless told otherwise', () => {
      const { a } = replica();
      a.receive(sync('a'), 0);
      expect(a.outbox(0)).to.deep.equal([{ t: 'snapshot', node: 'a', inc: 1, seq: 0, part: 0, parts: 1, entries: [] }]);
      for (let i = 0; i <= SNAPSHOT_PART_ENTRIES; i++) a.track('dev', `u${i}`, 'x');
      a.receive(sync('a'), 1);
      const parts = a.outbox(1).filter((message) => message.t === 'snapshot');
      expect(parts.map((message) => [message.part, message.parts, message.entries.length])).to.deep.equal([[0, 2, SNAPSHOT_PART_ENTRIES], [1, 2, 1]]);
    });

    it('applies each part as it comes, in any order, and drops what none held only once the last has come', () => {
      for (const order of [[0, 1], [1, 0]]) {
        const { a, changes } = replica();
        a.receive(delta(1, [['dev', 'u1', 'alice', 1], ['dev', 'u2', 'bob', 1], ['dev', 'u3', 'carol', 2]]), 0);
        changes.length = 0;
        const parts = [snapshot(4, [['dev', 'u2', 'bob', 1], ['dev', 'u3', 'carol', 1]], 0, 2), snapshot(4, [['dev', 'u4', 'dave', 1]], 1, 2)];
        a.receive(parts[order[0]!]!, 10);
        expect(a.counts('dev').users, `${order}: nothing dropped yet`).to.equal(order[0] === 0 ? 3 : 4);
        expect(a.nodes()[0], 'the seq is the snapshot\'s at once').to.include({ seq: 4 });
        expect(a.pending, 'behind until the last part').to.equal(true);
        expect(a.outbox(10), 'no sync while the parts are coming').to.deep.equal([]);
        a.receive(parts[order[1]!]!, 11);
        expect(membersOf(a, 'dev')).to.deep.equal({ u2: { name: 'bob', connections: 1 }, u3: { name: 'carol', connections: 1 }, u4: { name: 'dave', connections: 1 } });
        expect(changes).to.have.members(['dev/u1', 'dev/u3', 'dev/u4']).and.have.length(3);
        expect(a.pending).to.equal(false);
        expect(a.nodes()[0]).to.include({ seq: 4, entries: 3 });
      }
    });

    it('applies the deltas that come between the parts, and keeps what they add', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      a.receive(snapshot(3, [['dev', 'u1', 'alice', 1]], 0, 2), 0);
      a.receive(delta(4, [['dev', 'u2', 'bob', 1]]), 0);
      a.receive(delta(5, [['ops', 'u3', 'carol', 1]]), 0);
      expect(a.counts('dev').users).to.equal(2);
      a.receive(snapshot(3, [['dev', 'u9', 'ian', 1]], 1, 2), 0);
      expect(membersOf(a, 'dev')).to.deep.equal({ u1: { name: 'alice', connections: 1 }, u2: { name: 'bob', connections: 1 }, u9: { name: 'ian', connections: 1 } });
      expect(a.counts('ops').users).to.equal(1);
      expect(a.nodes()[0]).to.include({ seq: 5, entries: 4 });
      expect(a.pending).to.equal(false);
    });

    it('does not let a part overwrite what a delta after the snapshot wrote, nor bring back what it removed', () => {
      const { a, changes } = replica();
      a.receive(snapshot(3, [], 0, 2), 0);
      a.receive(delta(4, [['dev', 'u1', 'alice', 2], ['dev', 'u2', 'bob', 1]]), 0);
      a.receive(delta(5, [['dev', 'u2', 'bob', 0], ['dev', 'u3', 'carol', 0]]), 0);
      changes.length = 0;
      a.receive(snapshot(3, [['dev', 'u1', 'alice', 1], ['dev', 'u2', 'bob', 1], ['dev', 'u3', 'carol', 1], ['dev', 'u4', 'dave', 1]], 1, 2), 0);
      expect(membersOf(a, 'dev')).to.deep.equal({ u1: { name: 'alice', connections: 2 }, u4: { name: 'dave', connections: 1 } });
      expect(changes).to.deep.equal(['dev/u4']);
    });

    it('asks again when a part is lost, RESYNC_AFTER_MS after the last came, and the next snapshot drops what the unfinished one left', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u9', 'ian', 1]]), 0);
      a.receive(snapshot(3, [['dev', 'u1', 'alice', 1]], 0, 3), 100);
      a.receive(snapshot(3, [['dev', 'u2', 'bob', 1]], 2, 3), 200);
      expect(a.outbox(200 + RESYNC_AFTER_MS - 1)).to.deep.equal([]);
      expect(a.outbox(200 + RESYNC_AFTER_MS)).to.deep.equal([SYNC_B]);
      expect(a.counts('dev').users, 'what it has meanwhile').to.equal(3);
      a.receive(snapshot(4, [['dev', 'u3', 'carol', 1]], 0, 2), 1300);
      a.receive(snapshot(4, [['dev', 'u2', 'bob', 1]], 1, 2), 1300);
      expect(membersOf(a, 'dev')).to.deep.equal({ u2: { name: 'bob', connections: 1 }, u3: { name: 'carol', connections: 1 } });
      expect(a.pending).to.equal(false);
    });

    it('ignores a part of a snapshot older than the one coming', () => {
      const { a } = replica();
      a.receive(snapshot(5, [['dev', 'u1', 'alice', 1]], 0, 2), 0);
      a.receive(snapshot(4, [['dev', 'u2', 'bob', 1]], 1, 2), 0);
      expect(a.member('dev', 'u2')).to.equal(undefined);
      expect(a.pending, 'still waiting for part 1 of 5').to.equal(true);
      a.receive(snapshot(5, [['dev', 'u3', 'carol', 1]], 1, 2), 0);
      expect(membersOf(a, 'dev')).to.deep.equal({ u1: { name: 'alice', connections: 1 }, u3: { name: 'carol', connections: 1 } });
      expect(a.pending).to.equal(false);
    });

    it('stays behind after the last part when a delta after the snapshot was missed', () => {
      const { a } = replica();
      a.receive(snapshot(3, [], 0, 2), 0);
      a.receive(delta(5, [['dev', 'u1', 'alice', 1]]), 0);
      a.receive(snapshot(3, [], 1, 2), 0);
      expect(a.pending).to.equal(true);
      expect(a.outbox(RESYNC_AFTER_MS)).to.deep.equal([SYNC_B]);
    });

    it('takes no part of a snapshot it has applied whole: a repeat neither starts one that would never end nor undoes a later delta', () => {
      const { a } = replica();
      const parts = [snapshot(1, [['dev', 'u1', 'alice', 1]], 0, 2), snapshot(1, [['dev', 'u2', 'bob', 1]], 1, 2)];
      for (const part of [parts[1]!, parts[0]!, parts[1]!]) a.receive(part, 0);
      expect(a.pending).to.equal(false);
      a.receive(delta(2, [['dev', 'u1', 'alice', 0]]), 0);
      for (const part of parts) a.receive(part, 0);
      expect(membersOf(a, 'dev')).to.deep.equal({ u2: { name: 'bob', connections: 1 } });
    });

    it('counts a part that came twice once', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      const first = snapshot(2, [['dev', 'u2', 'bob', 1]], 0, 2);
      a.receive(first, 0);
      a.receive(first, 0);
      expect(a.counts('dev').users, 'u1 not dropped yet').to.equal(2);
      expect(a.pending).to.equal(true);
    });
  });

  describe('incarnations', () => {
    it('replaces the slice of a restarted node at its first message, which then applies from seq 0', () => {
      const { a, changes } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      a.receive(delta(2, [['dev', 'u2', 'bob', 1]]), 0);
      a.receive(delta(5, []), 0);
      changes.length = 0;
      a.receive(delta(1, [['dev', 'u2', 'bob', 1]], 2), 10);
      expect(membersOf(a, 'dev')).to.deep.equal({ u2: { name: 'bob', connections: 1 } });
      expect(changes, 'u2 left with the old slice and joined with the new').to.deep.equal(['dev/u1', 'dev/u2', 'dev/u2']);
      expect(a.nodes()).to.deep.equal([{ node: 'b', incarnation: 2, up: true, seq: 1, lastHeardAt: 10, entries: 1 }]);
      expect(a.outbox(10), 'no longer behind').to.deep.equal([]);
    });

    it('drops the slice of a restarted node at its first heartbeat', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      a.receive(heartbeat(0, 2), 0);
      expect(a.rooms).to.equal(0);
      expect(a.outbox(0)).to.deep.equal([]);
    });

    it('asks a restarted node for a snapshot at once, even right after asking the old one', () => {
      const { a } = replica();
      a.receive(heartbeat(3), 0);
      expect(a.outbox(0)).to.deep.equal([SYNC_B]);
      a.receive(heartbeat(3, 2), 1);
      expect(a.outbox(1)).to.deep.equal([SYNC_B]);
    });

    it('ignores every message of an older incarnation, without counting the node heard', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]], 2), 0);
      for (const message of [delta(2, [['dev', 'u1', 'alice', 0]]), snapshot(9, []), heartbeat(9), sync('a'), { t: 'goodbye', node: 'b', inc: 1 } as const]) {
        a.receive(message, 10);
      }
      expect(a.counts('dev')).to.deep.equal({ users: 1, connections: 1 });
      expect(a.outbox(10)).to.deep.equal([]);
      expect(a.nodes()).to.deep.equal([{ node: 'b', incarnation: 2, up: true, seq: 1, lastHeardAt: 0, entries: 1 }]);
    });

    it('ignores every later message of an incarnation that said goodbye, and takes a higher one as a restart', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      a.receive({ t: 'goodbye', node: 'b', inc: 1 }, 5);
      for (const message of [delta(2, [['dev', 'u2', 'bob', 1]]), delta(1, [['dev', 'u1', 'alice', 1]]), snapshot(3, [['dev', 'u1', 'alice', 1]]), heartbeat(2), sync('a')]) {
        a.receive(message, 10);
      }
      expect(a.rooms).to.equal(0);
      expect(a.outbox(10)).to.deep.equal([]);
      expect(a.nodes()).to.deep.equal([{ node: 'b', incarnation: 1, up: false, seq: 0, lastHeardAt: 5, entries: 0 }]);
      a.receive(delta(1, [['dev', 'u2', 'bob', 1]], 2), 20);
      expect(membersOf(a, 'dev')).to.deep.equal({ u2: { name: 'bob', connections: 1 } });
      expect(a.nodes()[0]).to.include({ incarnation: 2, up: true, seq: 1 });
    });
  });

  describe('down and forgotten nodes', () => {
    it('drops the slice of a node not heard for downAfterMs, each member leaving once', () => {
      const { a, changes } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 2], ['ops', 'u1', 'alice', 1]]), 0);
      a.receive(heartbeat(1), 1000);
      a.tick(1000 + DOWN_AFTER_MS - 1);
      expect(a.rooms).to.equal(2);
      changes.length = 0;
      a.tick(1000 + DOWN_AFTER_MS);
      a.tick(1000 + DOWN_AFTER_MS + 1);
      expect(a.rooms).to.equal(0);
      expect(changes).to.have.members(['dev/u1', 'ops/u1']).and.have.length(2);
      expect(a.nodes()).to.deep.equal([{ node: 'b', incarnation: 1, up: false, seq: 0, lastHeardAt: 1000, entries: 0 }]);
    });

    it('takes what it dropped off the view retireBudget entries per call, each member leaving once, the others counted until then', () => {
      const { a, changes } = replica(1, undefined, 2);
      a.track('dev', 'u1', 'alice');
      a.receive(delta(1, [['dev', 'u1', 'alice', 1], ['dev', 'u2', 'bob', 1], ['dev', 'u3', 'carol', 1], ['ops', 'u4', 'dave', 1], ['ops', 'u5', 'eve', 1]]), 0);
      changes.length = 0;
      a.receive({ t: 'goodbye', node: 'b', inc: 1 }, 1);
      expect(a.retiring).to.equal(true);
      expect(changes).to.have.length(2);
      expect(a.counts('dev').connections + a.counts('ops').connections).to.equal(6 - 2);
      a.retire();
      expect(changes).to.have.length(4);
      a.retire();
      expect(a.retiring).to.equal(false);
      expect(changes).to.have.members(['dev/u1', 'dev/u2', 'dev/u3', 'ops/u4', 'ops/u5']).and.have.length(5);
      expect(a.counts('dev')).to.deep.equal({ users: 1, connections: 1 });
      expect(a.rooms).to.equal(1);
      a.retire();
      expect(changes).to.have.length(5);
    });

    it('stops asking a node that went down for a snapshot', () => {
      const { a } = replica();
      a.receive(heartbeat(2), 0);
      a.tick(DOWN_AFTER_MS);
      expect(a.pending).to.equal(false);
      expect(a.outbox(DOWN_AFTER_MS)).to.deep.equal([]);
    });

    it('starts a node heard again after it went down from nothing, at seq 0', () => {
      const { a } = replica();
      a.receive(delta(1, [['dev', 'u1', 'alice', 1]]), 0);
      a.tick(DOWN_AFTER_MS);
      a.receive(delta(2, [['dev', 'u2', 'bob', 1]]), DOWN_AFTER_MS + 1);
      expect(a.rooms).to.equal(0);
      expect(a.nodes()[0]).to.include({ up: true, seq: 0, lastHeardAt: DOWN_AFTER_MS + 1 });
      expect(a.outbox(DOWN_AFTER_MS + 1)).to.deep.equal([SYNC_B]);
      a.receive(snapshot(2, [['dev', 'u2', 'bob', 1]]), DOWN_AFTER_MS + 2);
      expect(membersOf(a, 'dev')).to.deep.equal({ u2: { name: 'bob', connections: 1 } });
    });

    it('forgets a node forgetAfterMs after it went down, and only then', () => {
      const { a } = replica();
      a.receive(heartbeat(0), 0);
      a.receive({ t: 'goodbye', node: 'b', inc: 1 }, 100);
      a.tick(100 + FORGET_AFTER_MS - 1);
      expect(a.nodes()).to.have.length(1);
      a.tick(100 + FORGET_AFTER_MS);
      expect(a.nodes()).to.deep.equal([]);
      a.receive({ t: 'heartbeat', node: 'c', inc: 1, seq: 0 }, 0);
      a.tick(FORGET_AFTER_MS * 10);
      expect(a.nodes().map(({ node, up }) => [node, up]), 'up nodes first go down').to.deep.equal([['c', false]]);
    });
  });

  it('reads an unknown room as empty', () => {
    const { a } = replica();
    expect(a.counts('dev')).to.deep.equal({ users: 0, connections: 0 });
    expect([...a.members('dev')]).to.deep.equal([]);
    expect(a.member('dev', 'u1')).to.equal(undefined);
    expect(a.rooms).to.equal(0);
  });
});
