import { expect } from 'chai';
import fc from 'fast-check';
import { Coalescer, type MemberSource } from '../../lib/presence/coalescer';
import type { Member } from '../../lib/presence/replica';

/** The replica's reads, from a Map, counting the calls a flush must not make. */
class Members implements MemberSource {
  private readonly rooms = new Map<string, Map<string, Member>>();
  memberReads = 0;
  roomScans = 0;

  /** connections 0: the user is gone. */
  set(room: string, user: string, name: string, connections: number): void {
    const members = this.rooms.get(room) ?? new Map<string, Member>();
    this.rooms.set(room, members);
    if (connections > 0) members.set(user, { name, connections });
    else members.delete(user);
  }

  member(room: string, user: string): Member | undefined {
    this.memberReads += 1;
    return this.rooms.get(room)?.get(user);
  }

  counts(room: string): { users: number; connections: number } {
    const members = [...(this.rooms.get(room)?.values() ?? [])];
    return { users: members.length, connections: members.reduce((sum, m) => sum + m.connections, 0) };
  }

  members(room: string): Iterable<[string, Member]> {
    this.roomScans += 1;
    return this.rooms.get(room)?.entries() ?? [];
  }
}

const WINDOW_MS = 250;

function setup(maxListed = 100) {
  const source = new Members();
  const coalescer = new Coalescer({ windowMs: WINDOW_MS, maxListed, source });
  /** What the replica does: a count changes, and onChange touches the coalescer. */
  const change = (room: string, user: string, name: string, connections: number, now: number) => {
    source.set(room, user, name, connections);
    coalescer.touch(room, user, now);
  };
  const flush = (now: number) => coalescer.flush(now).map(({ room, frame }) => ({ room, ...JSON.parse(frame) }));
  const presence = (room: string, self = { user: 'me', name: 'me' }, id?: string) => JSON.parse(coalescer.presenceFrame(room, self, id));
  return { source, coalescer, change, flush, presence };
}

const member = (user: string, name: string, connections = 1) => ({ user, name, connections });

describe('presence/coalescer', () => {
  it('opens a room at its current membership and lists it by name, then user, with the counts', () => {
    const { source, coalescer, presence } = setup();
    source.set('dev', 'u3', 'bob', 1);
    source.set('dev', 'u2', 'alice', 2);
    source.set('dev', 'u1', 'bob', 1);
    coalescer.open('dev');
    expect(coalescer.isOpen('dev')).to.equal(true);
    expect(coalescer.openRooms).to.equal(1);
    expect(presence('dev', { user: 'u2', name: 'alice' }, 'p1')).to.deep.equal({
      type: 'presence', room: 'dev', members: [member('u2', 'alice', 2), member('u1', 'bob'), member('u3', 'bob')], users: 3, connections: 4, id: 'p1',
    });
  });

  it('sends a first change at once, as a diff of joins with names and the current counts', () => {
    const { coalescer, change, flush } = setup();
    coalescer.open('dev');
    change('dev', 'u1', 'alice', 1, 1000);
    change('dev', 'u2', 'bob', 2, 1000);
    expect(coalescer.nextDueAt()).to.equal(1000);
    expect(flush(1000)).to.deep.equal([
      { room: 'dev', type: 'presence_diff', joins: [{ user: 'u1', name: 'alice' }, { user: 'u2', name: 'bob' }], leaves: [], users: 2, connections: 3 },
    ]);
    expect(coalescer.nextDueAt()).to.equal(undefined);
    expect(flush(5000)).to.deep.equal([]);
  });

  it('sends at most one frame per room per window: a change after a frame waits for the window to pass', () => {
    const { coalescer, change, flush } = setup();
    coalescer.open('dev');
    change('dev', 'u1', 'alice', 1, 1000);
    flush(1000);
    change('dev', 'u1', 'alice', 0, 1010);
    change('dev', 'u2', 'bob', 1, 1100);
    expect(coalescer.nextDueAt()).to.equal(1000 + WINDOW_MS);
    expect(flush(1000 + WINDOW_MS - 1)).to.deep.equal([]);
    expect(flush(1000 + WINDOW_MS)).to.deep.equal([
      { room: 'dev', type: 'presence_diff', joins: [{ user: 'u2', name: 'bob' }], leaves: [{ user: 'u1' }], users: 1, connections: 1 },
    ]);
    // Long after the last frame: at once again.
    change('dev', 'u3', 'carol', 1, 2000);
    expect(coalescer.nextDueAt()).to.equal(2000);
  });

  it('counts the window from when the frame went out, not from when it was due', () => {
    const { coalescer, change, flush } = setup();
    coalescer.open('dev');
    change('dev', 'u1', 'alice', 1, 1000);
    expect(flush(1100)).to.have.length(1);
    change('dev', 'u2', 'bob', 1, 1200);
    expect(coalescer.nextDueAt()).to.equal(1100 + WINDOW_MS);
  });

  it('cancels a join and a leave of one user within one window: no frame, and none later', () => {
    const { coalescer, change, flush } = setup();
    coalescer.open('dev');
    change('dev', 'u1', 'alice', 1, 1000);
    flush(1000);
    change('dev', 'u2', 'bob', 1, 1050);
    change('dev', 'u2', 'bob', 0, 1060);
    // A published member who leaves and comes back is no change either.
    change('dev', 'u1', 'alice', 0, 1070);
    change('dev', 'u1', 'alice', 1, 1080);
    expect(flush(2000)).to.deep.equal([]);
    expect(coalescer.nextDueAt()).to.equal(undefined);
    // So does a pair in the first window after the room opened.
    coalescer.open('new');
    change('new', 'u1', 'alice', 1, 2000);
    change('new', 'u1', 'alice', 0, 2000);
    expect(flush(2000)).to.deep.equal([]);
    // The window was not used: the next change goes out at once.
    change('dev', 'u3', 'carol', 1, 2100);
    expect(coalescer.nextDueAt()).to.equal(2100);
  });

  it('sends the counts alone when only a member\'s connections changed', () => {
    const { coalescer, change, flush } = setup();
    change('dev', 'u1', 'alice', 1, 0);
    coalescer.open('dev');
    change('dev', 'u1', 'alice', 3, 1000);
    expect(flush(1000)).to.deep.equal([{ room: 'dev', type: 'presence_diff', joins: [], leaves: [], users: 1, connections: 3 }]);
    change('dev', 'u1', 'alice', 1, 1300);
    expect(flush(1300)).to.deep.equal([{ room: 'dev', type: 'presence_diff', joins: [], leaves: [], users: 1, connections: 1 }]);
  });

  it('ignores touches of rooms not open, and forgets a room when closed', () => {
    const { coalescer, change, flush, presence } = setup();
    change('dev', 'u1', 'alice', 1, 1000);
    expect(coalescer.nextDueAt()).to.equal(undefined);
    coalescer.open('dev');
    change('dev', 'u2', 'bob', 1, 1000);
    coalescer.close('dev');
    expect(coalescer.isOpen('dev')).to.equal(false);
    expect(coalescer.openRooms).to.equal(0);
    expect(coalescer.nextDueAt()).to.equal(undefined);
    expect(flush(2000)).to.deep.equal([]);
    change('dev', 'u3', 'carol', 1, 2000);
    expect(coalescer.nextDueAt()).to.equal(undefined);
    // Reopened: from the state then, and its window starts afresh.
    coalescer.open('dev');
    expect(presence('dev', { user: 'u1', name: 'alice' }).members).to.deep.equal([member('u1', 'alice'), member('u2', 'bob'), member('u3', 'carol')]);
    change('dev', 'u4', 'dave', 1, 2001);
    expect(coalescer.nextDueAt()).to.equal(2001);
  });

  it('keeps a room open when opened again, its published view and pending changes with it', () => {
    const { coalescer, change, flush } = setup();
    coalescer.open('dev');
    change('dev', 'u1', 'alice', 1, 1000);
    coalescer.open('dev');
    expect(flush(1000)).to.have.deep.nested.property('[0].joins', [{ user: 'u1', name: 'alice' }]);
  });

  it('flushes only the rooms that are due, soonest first, skipping closed ones', () => {
    const { coalescer, change, flush } = setup();
    for (const room of ['a', 'b', 'c', 'd']) coalescer.open(room);
    change('a', 'u1', 'alice', 1, 0);
    change('b', 'u1', 'alice', 1, 0);
    flush(0);
    change('a', 'u2', 'bob', 1, 100); // due at 250
    change('c', 'u2', 'bob', 1, 120); // due at 120
    change('b', 'u2', 'bob', 1, 130); // due at 250
    change('d', 'u2', 'bob', 1, 140); // due at 140, closed
    coalescer.close('d');
    expect(coalescer.nextDueAt()).to.equal(120);
    expect(flush(200).map(({ room }) => room)).to.deep.equal(['c']);
    expect(coalescer.nextDueAt()).to.equal(250);
    expect(flush(300).map(({ room }) => room).sort()).to.deep.equal(['a', 'b']);
    expect(coalescer.nextDueAt()).to.equal(undefined);
  });

  it('flushes many rooms each in the order their windows end, whatever the order they were touched in', () => {
    const { coalescer, change, flush } = setup();
    const firstFrames = [['r4', 0], ['r1', 10], ['r6', 20], ['r3', 30], ['r7', 40], ['r0', 50], ['r5', 60], ['r2', 70]] as const;
    for (const [room, at] of firstFrames) {
      coalescer.open(room);
      change(room, 'u1', 'alice', 1, at);
      flush(at);
    }
    for (let i = 0; i < 8; i += 1) change(`r${i}`, 'u2', 'bob', 1, 100);
    const order: string[] = [];
    for (let at = coalescer.nextDueAt(); at !== undefined; at = coalescer.nextDueAt()) {
      const flushed = flush(at);
      expect(flushed).to.have.length(1);
      expect(at).to.equal(firstFrames.find(([room]) => room === flushed[0].room)![1] + WINDOW_MS);
      order.push(flushed[0].room);
    }
    expect(order).to.deep.equal(firstFrames.map(([room]) => room));
  });

  it('reads only the touched users in a flush, never the whole room', () => {
    const { source, coalescer, change, flush } = setup();
    for (let i = 0; i < 50; i += 1) source.set('dev', `u${i}`, `n${i}`, 1);
    coalescer.open('dev');
    const { roomScans } = source;
    change('dev', 'u1', 'n1', 0, 1000);
    change('dev', 'v1', 'new', 1, 1000);
    change('dev', 'v1', 'new', 2, 1000);
    source.memberReads = 0;
    expect(flush(1000)).to.have.length(1);
    expect(source.memberReads).to.equal(2);
    expect(source.roomScans).to.equal(roomScans);
  });

  describe('the presence frame of a subscriber', () => {
    it('reads only the subscriber itself from the source once the list is made, however many members are listed', () => {
      const { source, coalescer, presence } = setup();
      for (let i = 0; i < 100; i += 1) source.set('dev', `u${i}`, `n${i}`, 1);
      coalescer.open('dev');
      presence('dev');
      source.memberReads = 0;
      const frame = presence('dev', { user: 'u7', name: 'n7' });
      expect(source.memberReads).to.equal(1);
      expect(frame.members).to.have.length(100);
    });

    it('above maxListed, keeps the list through changes it does not show, and changes it for those it shows', () => {
      const { source, coalescer, change, flush, presence } = setup(3);
      for (const [user, name] of [['u1', 'bob'], ['u2', 'carol'], ['u3', 'dave'], ['u4', 'erin']]) source.set('dev', user!, name!, 1);
      coalescer.open('dev');
      const users = () => presence('dev', { user: 'u2', name: 'carol' }).members.map((m: { user: string }) => m.user);
      expect(users()).to.deep.equal(['u1', 'u2', 'u3']);
      change('dev', 'u5', 'zed', 1, 1000); // sorts after the last listed
      change('dev', 'u4', 'erin', 2, 1000); // not listed
      flush(1000);
      expect(users()).to.deep.equal(['u1', 'u2', 'u3']);
      change('dev', 'u6', 'adam', 1, 2000); // sorts first
      flush(2000);
      expect(users()).to.deep.equal(['u6', 'u1', 'u2']);
      change('dev', 'u1', 'bob', 0, 3000); // a listed member leaves
      flush(3000);
      expect(users()).to.deep.equal(['u6', 'u2', 'u3']);
      change('dev', 'u3', 'dave', 4, 4000); // a listed member's count moves
      flush(4000);
      expect(presence('dev', { user: 'u2', name: 'carol' }).members).to.deep.include(member('u3', 'dave', 4));
    });


    it('is the published view mid-window, so that the next diff applies to it, with the current counts', () => {
      const { source, coalescer, change, flush, presence } = setup();
      source.set('dev', 'u1', 'alice', 2);
      source.set('dev', 'u2', 'bob', 1);
      coalescer.open('dev');
      change('dev', 'u2', 'bob', 0, 1000);
      change('dev', 'u3', 'carol', 1, 1000);
      change('dev', 'u1', 'alice', 3, 1000);
      // bob is listed as published (1 connection), carol not yet; alice with her current count.
      expect(presence('dev', { user: 'u1', name: 'alice' })).to.deep.equal({
        type: 'presence', room: 'dev', members: [member('u1', 'alice', 3), member('u2', 'bob')], users: 2, connections: 4,
      });
      expect(flush(1000)[0]).to.deep.include({ joins: [{ user: 'u3', name: 'carol' }], leaves: [{ user: 'u2' }] });
      expect(presence('dev', { user: 'u1', name: 'alice' }).members).to.deep.equal([member('u1', 'alice', 3), member('u3', 'carol')]);
    });

    it('lists a member who left mid-window with the connections of the last flush', () => {
      const { coalescer, change, flush, presence } = setup();
      coalescer.open('dev');
      change('dev', 'u1', 'alice', 1, 1000);
      flush(1000);
      change('dev', 'u1', 'alice', 2, 1100);
      flush(1300);
      change('dev', 'u1', 'alice', 0, 1400);
      expect(presence('dev').members).to.deep.include(member('u1', 'alice', 2));
    });

    it('holds the subscriber itself when it is not in the view yet, in its sorted place, once', () => {
      const { source, coalescer, change, presence } = setup();
      source.set('dev', 'u1', 'alice', 1);
      source.set('dev', 'u3', 'carol', 1);
      coalescer.open('dev');
      change('dev', 'u2', 'bob', 2, 1000);
      expect(presence('dev', { user: 'u2', name: 'bob' })).to.deep.equal({
        type: 'presence', room: 'dev', members: [member('u1', 'alice'), member('u2', 'bob', 2), member('u3', 'carol')], users: 3, connections: 4,
      });
      expect(presence('dev', { user: 'u1', name: 'alice' }).members).to.have.length(2);
      change('dev', 'u4', 'dave', 1, 1000);
      expect(presence('dev', { user: 'u4', name: 'dave' }).members.at(-1)).to.deep.equal(member('u4', 'dave'));
      // Not tracked yet: counted with its one connection all the same.
      expect(presence('dev', { user: 'u0', name: 'aaron' })).to.deep.include({ users: 5, connections: 6 });
      expect(presence('dev', { user: 'u0', name: 'aaron' }).members[0]).to.deep.equal(member('u0', 'aaron'));
    });

    it('is taken from the current state for a room not open', () => {
      const { source, coalescer, presence } = setup(2);
      source.set('dev', 'u1', 'carol', 1);
      source.set('dev', 'u2', 'alice', 2);
      expect(presence('dev', { user: 'u2', name: 'alice' })).to.deep.equal({
        type: 'presence', room: 'dev', members: [member('u2', 'alice', 2), member('u1', 'carol')], users: 2, connections: 3,
      });
      source.set('dev', 'u3', 'bob', 1);
      expect(presence('dev', { user: 'u2', name: 'alice' })).to.deep.equal({
        type: 'presence', room: 'dev', members: [member('u2', 'alice', 2), member('u3', 'bob')], users: 3, connections: 4, truncated: true,
      });
      expect(coalescer.isOpen('dev')).to.equal(false);
      expect(presence('empty', { user: 'u9', name: 'zed' })).to.deep.equal({ type: 'presence', room: 'empty', members: [member('u9', 'zed')], users: 1, connections: 1 });
    });

    it('lists the first maxListed by name above maxListed, marked truncated, plus the subscriber when not among them', () => {
      const { source, coalescer, presence } = setup(3);
      for (const [user, name] of [['u1', 'eve'], ['u2', 'bob'], ['u3', 'dave'], ['u4', 'alice'], ['u5', 'carol'], ['u6', 'bob']]) source.set('dev', user!, name!, 1);
      coalescer.open('dev');
      expect(presence('dev', { user: 'u1', name: 'eve' }, 'q')).to.deep.equal({
        type: 'presence', room: 'dev', members: [member('u4', 'alice'), member('u2', 'bob'), member('u6', 'bob'), member('u1', 'eve')],
        users: 6, connections: 6, truncated: true, id: 'q',
      });
      expect(presence('dev', { user: 'u2', name: 'bob' }).members.map((m: { user: string }) => m.user)).to.deep.equal(['u4', 'u2', 'u6']);
    });

    it('lists exactly the first maxListed by name, then user, of any room, open or not', () => {
      const byName = (a: { user: string; name: string }, b: { user: string; name: string }) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : a.user < b.user ? -1 : a.user > b.user ? 1 : 0;
      const entries = fc.uniqueArray(fc.record({ user: fc.string({ maxLength: 3 }), name: fc.constantFrom('a', 'b', 'c', 'B', 'é'), connections: fc.integer({ min: 1, max: 3 }) }), {
        selector: (m) => m.user,
        maxLength: 30,
      });
      fc.assert(
        fc.property(entries, fc.integer({ min: 1, max: 12 }), fc.boolean(), (members, maxListed, open) => {
          const { source, coalescer, presence } = setup(maxListed);
          for (const m of members) source.set('dev', m.user, m.name, m.connections);
          if (open) coalescer.open('dev');
          const frame = presence('dev', { user: members[0]?.user ?? 'x', name: members[0]?.name ?? 'x' });
          const expected = [...members].sort(byName).slice(0, maxListed);
          // Not among the first maxListed, the subscriber sorts after all of them.
          if (members.length > 0 && !expected.includes(members[0]!)) expected.push(members[0]!);
          expect(frame.members).to.deep.equal(members.length > 0 ? expected : [member('x', 'x')]);
          expect(frame.truncated).to.equal(members.length > maxListed || undefined);
        }),
        { numRuns: 300 },
      );
    });

    it('is marked truncated by what the published view holds, not by the count mid-window', () => {
      const { source, coalescer, change, presence } = setup(2);
      source.set('dev', 'u1', 'alice', 1);
      source.set('dev', 'u2', 'bob', 1);
      coalescer.open('dev');
      change('dev', 'u3', 'carol', 1, 1000);
      expect(presence('dev', { user: 'u3', name: 'carol' })).to.deep.equal({
        type: 'presence', room: 'dev', members: [member('u1', 'alice'), member('u2', 'bob'), member('u3', 'carol')], users: 3, connections: 3,
      });
    });

    it('lists only the subscriber with a maxListed of 0', () => {
      const { source, coalescer, presence } = setup(0);
      source.set('dev', 'u1', 'alice', 1);
      expect(presence('dev', { user: 'u2', name: 'bob' })).to.deep.equal({ type: 'presence', room: 'dev', members: [member('u2', 'bob')], users: 2, connections: 2, truncated: true });
      coalescer.open('dev');
      expect(presence('dev', { user: 'u1', name: 'alice' })).to.deep.equal({ type: 'presence', room: 'dev', members: [member('u1', 'alice')], users: 1, connections: 1, truncated: true });
    });

    it('lists what a flush changed in the view, and what it did not change as before', () => {
      const { coalescer, change, flush, presence } = setup(2);
      coalescer.open('dev');
      change('dev', 'u1', 'carol', 1, 0);
      change('dev', 'u2', 'dave', 1, 0);
      flush(0);
      expect(presence('dev').members.map((m: { name: string }) => m.name)).to.deep.equal(['carol', 'dave', 'me']);
      change('dev', 'u3', 'bob', 1, 10);
      expect(presence('dev').members.map((m: { name: string }) => m.name)).to.deep.equal(['carol', 'dave', 'me']);
      flush(1000);
      expect(presence('dev').members.map((m: { name: string }) => m.name)).to.deep.equal(['bob', 'carol', 'me']);
      change('dev', 'u3', 'bob', 0, 1000);
      flush(2000);
      expect(presence('dev').members.map((m: { name: string }) => m.name)).to.deep.equal(['carol', 'dave', 'me']);
    });

    it('writes valid JSON whatever the names hold', () => {
      const { coalescer, change, flush, presence } = setup();
      coalescer.open('dev');
      const names = ['"quoted"', '</script><script>alert(1)</script>', 'emoji 😀👍🏽', 'back\\slash\nline'];
      names.forEach((name, i) => change('dev', `u"${i}`, name, 1, 0));
      expect(flush(0)[0].joins.map((j: { name: string }) => j.name)).to.deep.equal(names);
      expect(presence('dev', { user: '</script>', name: '"' }).members.map((m: { name: string }) => m.name)).to.deep.equal(['"', ...names].sort());
    });
  });

  describe('above maxListed', () => {
    it('sends diffs with the counts only, and none when the counts did not change', () => {
      const { coalescer, change, flush } = setup(2);
      coalescer.open('dev');
      change('dev', 'u1', 'alice', 1, 0);
      change('dev', 'u2', 'bob', 1, 0);
      flush(0);
      change('dev', 'u3', 'carol', 1, 1000);
      expect(flush(1000)).to.deep.equal([{ room: 'dev', type: 'presence_diff', users: 3, connections: 3 }]);
      change('dev', 'u4', 'dave', 1, 2000);
      change('dev', 'u1', 'alice', 0, 2000);
      expect(flush(2000)).to.deep.equal([]);
      change('dev', 'u4', 'dave', 2, 3000);
      expect(flush(3000)).to.deep.equal([{ room: 'dev', type: 'presence_diff', users: 3, connections: 4 }]);
      change('dev', 'u4', 'dave', 1, 4000);
      change('dev', 'u5', 'eve', 1, 4000);
      expect(flush(4000)).to.deep.equal([{ room: 'dev', type: 'presence_diff', users: 4, connections: 4 }]);
    });

    it('sends a full presence frame when the room falls back to maxListed', () => {
      const { source, coalescer, change, flush } = setup(2);
      for (const [user, name] of [['u1', 'carol'], ['u2', 'alice'], ['u3', 'bob']]) source.set('dev', user!, name!, 1);
      coalescer.open('dev');
      change('dev', 'u2', 'alice', 0, 1000);
      change('dev', 'u1', 'carol', 2, 1000);
      expect(flush(1000)).to.deep.equal([
        { room: 'dev', type: 'presence', members: [member('u3', 'bob'), member('u1', 'carol', 2)], users: 2, connections: 3 },
      ]);
      change('dev', 'u3', 'bob', 0, 2000);
      expect(flush(2000)).to.deep.equal([{ room: 'dev', type: 'presence_diff', joins: [], leaves: [{ user: 'u3' }], users: 1, connections: 2 }]);
    });
  });

  it('sends the counts after a subscriber was given counts mid-window, even when they went back to those of the last frame', () => {
    const { source, coalescer, change, flush, presence } = setup();
    source.set('dev', 'u1', 'alice', 1);
    source.set('dev', 'u2', 'bob', 2);
    coalescer.open('dev');
    change('dev', 'u1', 'alice', 2, 1000); // the subscriber's own connection
    expect(presence('dev', { user: 'u1', name: 'alice' })).to.deep.include({ users: 2, connections: 4 });
    change('dev', 'u2', 'bob', 1, 1000);
    expect(flush(1000)).to.deep.equal([{ room: 'dev', type: 'presence_diff', joins: [], leaves: [], users: 2, connections: 3 }]);
  });

  it('sends no counts for a subscriber that was given the counts of the last frame', () => {
    const { source, coalescer, change, flush, presence } = setup();
    source.set('dev', 'u1', 'alice', 1);
    coalescer.open('dev');
    change('dev', 'u2', 'bob', 1, 1000);
    change('dev', 'u2', 'bob', 0, 1000);
    presence('dev', { user: 'u1', name: 'alice' });
    expect(flush(1000)).to.deep.equal([]);
  });

  it('sends the counts after a subscriber was given other users but the same connections as the last frame had', () => {
    const { source, coalescer, change, flush, presence } = setup();
    source.set('dev', 'u1', 'alice', 1);
    source.set('dev', 'u3', 'carol', 2);
    coalescer.open('dev');
    change('dev', 'u3', 'carol', 1, 1000);
    change('dev', 'u2', 'bob', 1, 1000);
    expect(presence('dev', { user: 'u1', name: 'alice' })).to.deep.include({ users: 3, connections: 3 });
    change('dev', 'u2', 'bob', 0, 1000);
    change('dev', 'u3', 'carol', 2, 1000);
    expect(flush(1000)).to.deep.equal([{ room: 'dev', type: 'presence_diff', joins: [], leaves: [], users: 2, connections: 3 }]);
  });

  // The contract end to end: a subscriber that takes its presence frame at any
  // moment and applies every frame after it holds, once things are quiet, the
  // room as it is (listed whole when at most maxListed), and never gets two
  // frames of a room within one window. Each subscriber holds one connection
  // of its user, which the other changes never take away.
  it('keeps every subscriber\'s list and counts equal to the room once quiet, one frame per window at most', () => {
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
    const nameOf = (user: string) => ['b"o', 'a', '</script>', 'a', '😀'][users.indexOf(user)]!;
    const room = fc.constantFrom('r1', 'r2');
    const user = fc.constantFrom(...users);
    const op = fc.oneof(
      fc.record({ kind: fc.constant('change' as const), room, user, others: fc.nat(2), dt: fc.nat(200) }),
      fc.record({ kind: fc.constant('flush' as const), dt: fc.nat(400) }),
      fc.record({ kind: fc.constant('subscribe' as const), room, user }),
    );
    interface Subscriber { readonly room: string; readonly user: string; list: Map<string, string>; counts: object; whole: boolean }
    const apply = (s: Subscriber, frame: Record<string, any>) => {
      s.counts = { users: frame.users, connections: frame.connections };
      if (frame.type === 'presence') {
        s.list = new Map(frame.members.map((m: { user: string; name: string }) => [m.user, m.name]));
        s.whole = frame.truncated === undefined;
      } else if (frame.joins === undefined) s.whole = false;
      else {
        for (const { user } of frame.leaves) s.list.delete(user);
        for (const { user, name } of frame.joins) s.list.set(user, name);
      }
    };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), (maxListed, ops) => {
        const { source, coalescer, change } = setup(maxListed);
        coalescer.open('r1');
        const subscribers: Subscriber[] = [];
        const held = (room: string, user: string) => subscribers.filter((s) => s.room === room && s.user === user).length;
        const lastFrameAt = new Map<string, number>();
        let now = 0;
        const flushAll = () => {
          for (const { room, frame } of coalescer.flush(now)) {
            expect(now - (lastFrameAt.get(room) ?? -Infinity)).to.be.at.least(WINDOW_MS);
            lastFrameAt.set(room, now);
            for (const s of subscribers) if (s.room === room) apply(s, JSON.parse(frame));
          }
        };
        for (const o of ops) {
          if (o.kind === 'change') change(o.room, o.user, nameOf(o.user), held(o.room, o.user) + o.others, (now += o.dt));
          else if (o.kind === 'flush') {
            now += o.dt;
            flushAll();
          } else {
            coalescer.open(o.room);
            const s: Subscriber = { room: o.room, user: o.user, list: new Map(), counts: {}, whole: true };
            change(o.room, o.user, nameOf(o.user), (source.member(o.room, o.user)?.connections ?? 0) + 1, now);
            subscribers.push(s);
            apply(s, JSON.parse(coalescer.presenceFrame(o.room, { user: o.user, name: nameOf(o.user) }, undefined)));
          }
        }
        for (let at = coalescer.nextDueAt(); at !== undefined; at = coalescer.nextDueAt()) {
          now = Math.max(now, at);
          flushAll();
        }
        for (const s of subscribers) {
          const current = [...source.members(s.room)];
          expect(s.counts).to.deep.equal(source.counts(s.room));
          expect(s.whole).to.equal(current.length <= maxListed);
          if (s.whole) expect(s.list).to.deep.equal(new Map(current.map(([user, { name }]) => [user, name])));
        }
      }),
      { numRuns: 400 },
    );
  });
});
