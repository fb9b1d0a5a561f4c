import { expect } from 'chai';
import fc from 'fast-check';
import { type HistoryLimits, messageBytes, RoomHistory } from '../../lib/history/room_history';

interface Append {
  readonly room: string;
  readonly frame: string;
  /** Milliseconds since the previous append. */
  readonly after: number;
}

const ROOMS = ['a', 'b', 'c', 'd', 'e'];

const appends = fc.array(
  fc.record({ room: fc.constantFrom(...ROOMS), frame: fc.string({ minLength: 1, maxLength: 40 }), after: fc.nat(50) }),
  // fast-check keeps arrays short by default (its 'small' size): rings would never fill.
  { maxLength: 200, size: 'max' },
);

/**
 * Replays `appends` into a history, each at its log time and with its index
 * as its position; returns it, the log time at the end, and what each room
 * was given, in order.
 */
function play(limits: HistoryLimits, steps: readonly Append[]) {
  const history = new RoomHistory(limits);
  const given = new Map<string, Array<{ frame: string; at: number }>>();
  const lastActive = new Map<string, number>();
  let now = 0;
  steps.forEach(({ room, frame, after }, index) => {
    now += after;
    history.append(room, frame, now, index);
    if (!given.has(room)) given.set(room, []);
    given.get(room)!.push({ frame, at: now });
    lastActive.set(room, index);
  });
  const kept = (room: string) => history.recent(room, limits.size, now);
  return { history, given, lastActive, now, kept };
}

const roomy: HistoryLimits = { size: 10, ttlMs: 1e9, maxBytes: 1e9 };

describe('history/room_history', () => {
  it('without pressure, keeps each room\'s last `size` messages, oldest first, and serves the last n of them', () => {
    fc.assert(
      fc.property(appends, fc.integer({ min: 0, max: 15 }), (steps, n) => {
        const { given, kept, history, now } = play(roomy, steps);
        let messages = 0;
        let bytes = 0;
        for (const [room, frames] of given) {
          const expected = frames.map((f) => f.frame).slice(-roomy.size);
          expect(kept(room)).to.deep.equal(expected);
          expect(history.recent(room, n, now)).to.deep.equal(n === 0 ? [] : expected.slice(-n));
          messages += expected.length;
          bytes += expected.reduce((sum, frame) => sum + messageBytes(frame), 0);
        }
        expect(history.stats()).to.deep.equal({ rooms: given.size, messages, bytes });
      }),
    );
  });

  it('never serves a message older than the ttl, and forgets rooms whose newest message passed it', () => {
    fc.assert(
      fc.property(appends, fc.integer({ min: 1, max: 300 }), (steps, ttlMs) => {
        const { given, kept, history } = play({ ...roomy, ttlMs }, steps);
        const end = steps.reduce((t, s) => t + s.after, 0);
        for (const [room, frames] of given) {
          const fresh = frames.filter((f) => end - f.at < ttlMs).map((f) => f.frame);
          // What the ring still holds of the room, less what the ttl hides.
          expect(fresh.slice(-roomy.size).slice(-kept(room).length)).to.deep.equal(kept(room));
          expect(kept(room).length).to.equal(Math.min(fresh.length, roomy.size));
        }
        const stats = history.stats();
        expect(stats.rooms).to.equal([...given.values()].filter((frames) => end - frames.at(-1)!.at < ttlMs).length);
      }),
    );
  });

  it('holds the node to its byte budget by forgetting the least recently active rooms first', () => {
    fc.assert(
      fc.property(appends, fc.integer({ min: 80, max: 1200 }), (steps, maxBytes) => {
        const { history, given, lastActive, kept } = play({ ...roomy, maxBytes }, steps);
        const rooms = [...given.keys()];
        const held = (room: string) => kept(room).length > 0;
        const bytes = rooms.reduce((sum, room) => sum + kept(room).reduce((n, frame) => n + messageBytes(frame), 0), 0);
        expect(history.stats()).to.deep.equal({
          rooms: rooms.filter(held).length,
          messages: rooms.reduce((sum, room) => sum + kept(room).length, 0),
          bytes,
        });
        // Over the budget only by a single message the newest room could not give up.
        if (bytes > maxBytes) expect(rooms.filter(held)).to.have.length(1);
        // A room kept was active more recently than every room forgotten.
        for (const keptRoom of rooms.filter(held)) {
          for (const gone of rooms.filter((room) => !held(room))) expect(lastActive.get(keptRoom)).to.be.above(lastActive.get(gone)!);
        }
        // What a room keeps is its newest messages, in order.
        for (const room of rooms.filter(held)) expect(given.get(room)!.map((f) => f.frame).slice(-kept(room).length)).to.deep.equal(kept(room));
      }),
    );
  });

  it('keeps the newest message of the room that just grew, even when it alone is over the budget', () => {
    const history = new RoomHistory({ ...roomy, maxBytes: messageBytes('old') + 4 });
    history.append('a', 'old', 0, 0);
    history.append('b', 'larger than the budget', 1, 1);
    expect(history.recent('b', 5, 1)).to.deep.equal(['larger than the budget']);
    expect(history.stats()).to.deep.equal({ rooms: 1, messages: 1, bytes: messageBytes('larger than the budget') });
  });

  it('lets a room alone past the budget keep its newest messages that fit, and a budget met exactly stand', () => {
    const two = messageBytes('m1') + messageBytes('m2');
    const history = new RoomHistory({ ...roomy, maxBytes: two });
    ['m1', 'm2'].forEach((frame, position) => history.append('a', frame, 0, position));
    expect(history.recent('a', 5, 0)).to.deep.equal(['m1', 'm2']);
    history.append('a', 'm3', 0, 2);
    expect(history.recent('a', 5, 0)).to.deep.equal(['m2', 'm3']);
    expect(history.stats()).to.deep.equal({ rooms: 1, messages: 2, bytes: two });
  });

  it('expires by the log time of what it appends, and reading at any local clock takes nothing away', () => {
    const history = new RoomHistory({ ...roomy, ttlMs: 100 });
    history.append('a', 'old', 0, 0);
    history.append('b', 'new', 150, 1);
    expect(history.stats(), 'a, past the ttl at the log time 150, is forgotten').to.deep.equal({ rooms: 1, messages: 1, bytes: messageBytes('new') });
    history.append('b', 'newer', 155, 2);
    history.append('c', 'c1', 160, 3);
    expect(history.recent('b', 5, 250)).to.deep.equal(['newer']);
    expect(history.recent('b', 5, 260)).to.deep.equal([]);
    expect(history.recent('b', 5, 150)).to.deep.equal(['new', 'newer']);
    expect(history.stats().messages).to.equal(3);
  });

  it('drops a room\'s own messages once they are ttl old by the log time of its newest', () => {
    const history = new RoomHistory({ ...roomy, ttlMs: 100 });
    history.append('a', 'x1', 0, 0);
    history.append('a', 'x2', 50, 1);
    history.append('a', 'x3', 100, 2);
    expect(history.stats()).to.deep.equal({ rooms: 1, messages: 2, bytes: messageBytes('x2') + messageBytes('x3') });
    expect(history.recent('a', 5, 100)).to.deep.equal(['x2', 'x3']);
  });

  it('never serves a message past the ttl that follows a newer one (accepting nodes\' clocks differ)', () => {
    const history = new RoomHistory({ ...roomy, ttlMs: 100 });
    history.append('a', 'new', 100, 0);
    history.append('a', 'skewed', 20, 1);
    history.append('a', 'newest', 110, 2);
    expect(history.recent('a', 5, 125)).to.deep.equal(['new', 'newest']);
    expect(history.recent('a', 1, 125)).to.deep.equal(['newest']);
  });

  it('serves nothing for a room it never had, or for n = 0', () => {
    const history = new RoomHistory(roomy);
    history.append('a', 'x', 0, 0);
    expect(history.recent('b', 5, 0)).to.deep.equal([]);
    expect(history.recent('a', 0, 0)).to.deep.equal([]);
  });

  it('after every append, holds each room to `size`, the node to its budget, and serves nothing past the ttl', () => {
    fc.assert(
      fc.property(appends, fc.integer({ min: 1, max: 300 }), fc.integer({ min: 80, max: 1200 }), fc.nat(100), (steps, ttlMs, maxBytes, late) => {
        const limits = { size: 4, ttlMs, maxBytes };
        const history = new RoomHistory(limits);
        const atOf = new Map<string, number>();
        let now = 0;
        steps.forEach(({ room, frame, after }, index) => {
          now += after;
          const unique = `${index}:${frame}`;
          atOf.set(unique, now);
          history.append(room, unique, now, index);
          const { rooms, messages, bytes } = history.stats();
          if (bytes > maxBytes) expect({ rooms, messages }, 'over the budget only by the newest message alone').to.deep.equal({ rooms: 1, messages: 1 });
          for (const other of ROOMS) {
            const served = history.recent(other, 10, now + late);
            expect(served.length).to.be.at.most(limits.size);
            for (const frame of served) expect(now + late - atOf.get(frame)!).to.be.below(ttlMs);
          }
        });
      }),
    );
  });

  it('holds the same history on two nodes fed the same log, whatever each reads and when', () => {
    const reads = fc.array(fc.record({ room: fc.constantFrom('a', 'b', 'c'), n: fc.nat(12), late: fc.nat(400) }), { maxLength: 200, size: 'max' });
    fc.assert(
      fc.property(appends, reads, fc.integer({ min: 1, max: 300 }), fc.integer({ min: 80, max: 1200 }), (steps, readsOfOne, ttlMs, maxBytes) => {
        const limits = { size: 4, ttlMs, maxBytes };
        const [reading, quiet] = [new RoomHistory(limits), new RoomHistory(limits)];
        let now = 0;
        steps.forEach(({ room, frame, after }, index) => {
          now += after;
          for (const history of [reading, quiet]) history.append(room, frame, now, index);
          const read = readsOfOne[index];
          if (read) {
            reading.recent(read.room, read.n, now + read.late);
            reading.after(read.room, index - read.n, '', read.n, now + read.late);
          }
        });
        expect(reading.stats()).to.deep.equal(quiet.stats());
        for (const room of ROOMS) expect(reading.recent(room, 4, now)).to.deep.equal(quiet.recent(room, 4, now));
      }),
    );
  });

  describe('after', () => {
    const frameAt = (deployment: string, position: number) => `{"pos":"${deployment}-${position}"}`;
    const posOf = (deployment: string, position: number) => `"pos":"${deployment}-${position}"`;
    /** Room `a` given messages at the positions, one ms apart from `at` on. */
    function filled(positions: readonly number[], limits: Partial<HistoryLimits> = {}, at = 0) {
      const history = new RoomHistory({ ...roomy, ...limits });
      positions.forEach((position, i) => history.append('a', frameAt('d1', position), at + i, position));
      return history;
    }

    it('serves the kept messages after a position, oldest first, and none after the newest', () => {
      const history = filled([10, 11, 12, 13]);
      expect(history.after('a', 11, posOf('d1', 11), 100, 3)).to.deep.equal([frameAt('d1', 12), frameAt('d1', 13)]);
      expect(history.after('a', 10, posOf('d1', 10), 100, 3)).to.deep.equal([11, 12, 13].map((p) => frameAt('d1', p)));
      expect(history.after('a', 13, posOf('d1', 13), 100, 3)).to.deep.equal([]);
    });

    it('cannot recover from a position it does not keep: pushed out, never seen, another room, or another deployment\'s', () => {
      const history = filled([10, 11, 12], { size: 2 });
      expect(history.after('a', 10, posOf('d1', 10), 100, 2), 'pushed out of the ring').to.equal(undefined);
      expect(history.after('a', 7, posOf('d1', 7), 100, 2), 'never seen').to.equal(undefined);
      expect(history.after('b', 11, posOf('d1', 11), 100, 2), 'another room').to.equal(undefined);
      expect(history.after('a', 11, posOf('d2', 11), 100, 2), 'the same number from another deployment').to.equal(undefined);
      expect(history.after('a', 11, posOf('d1', 11), 100, 2)).to.deep.equal([frameAt('d1', 12)]);
    });

    it('cannot recover once the message, or one that followed it, is past the ttl at the local clock', () => {
      const history = filled([10, 11, 12], { ttlMs: 100 });
      expect(history.after('a', 10, posOf('d1', 10), 100, 99)).to.deep.equal([frameAt('d1', 11), frameAt('d1', 12)]);
      expect(history.after('a', 10, posOf('d1', 10), 100, 100), 'the message itself is 100 ms old').to.equal(undefined);
      const skewed = new RoomHistory({ ...roomy, ttlMs: 100 });
      skewed.append('a', frameAt('d1', 1), 50, 1);
      skewed.append('a', frameAt('d1', 2), 0, 2);
      skewed.append('a', frameAt('d1', 3), 60, 3);
      expect(skewed.after('a', 1, posOf('d1', 1), 100, 120), 'one that followed, from a slower clock, is past the ttl').to.equal(undefined);
      expect(skewed.after('a', 2, posOf('d1', 2), 100, 99)).to.deep.equal([frameAt('d1', 3)]);
    });

    it('matches by position, the frame text only guarding it, and never a slot the budget emptied', () => {
      const history = new RoomHistory({ ...roomy, maxBytes: 2 * messageBytes(frameAt('d1', 10)) });
      [10, 11, 12].forEach((position, i) => history.append('a', frameAt('d1', position), i, position));
      expect(history.after('a', 11, '', 100, 3)).to.deep.equal([frameAt('d1', 12)]);
      expect(history.after('a', 10, '', 100, 3), 'pushed out by the budget').to.equal(undefined);
    });

    it('cannot recover more than `max` messages', () => {
      const history = filled([10, 11, 12, 13]);
      expect(history.after('a', 10, posOf('d1', 10), 3, 3)).to.have.length(3);
      expect(history.after('a', 10, posOf('d1', 10), 2, 3)).to.equal(undefined);
      expect(history.after('a', 13, posOf('d1', 13), 0, 3)).to.deep.equal([]);
    });

    it('finds a position after a recreated stream started the numbers over', () => {
      const history = new RoomHistory(roomy);
      [4096, 8192, 0, 1].forEach((position, i) => history.append('a', frameAt(i < 2 ? 'old' : 'new', position), i, position));
      expect(history.after('a', 4096, posOf('old', 4096), 100, 3)).to.deep.equal([frameAt('old', 8192), frameAt('new', 0), frameAt('new', 1)]);
      expect(history.after('a', 0, posOf('new', 0), 100, 3)).to.deep.equal([frameAt('new', 1)]);
    });

    it('serves exactly the kept messages after any kept position, in order, within `max`', () => {
      fc.assert(
        fc.property(appends, fc.integer({ min: 1, max: 300 }), fc.nat(12), fc.nat(100), (steps, ttlMs, max, late) => {
          const { history, now } = play({ size: 8, ttlMs, maxBytes: 1e9 }, steps.map((step, index) => ({ ...step, frame: `{"pos":"p${index}"}` })));
          steps.forEach(({ room }, index) => {
            const kept = history.recent(room, 8, now + late);
            const at = kept.indexOf(`{"pos":"p${index}"}`);
            const replay = history.after(room, index, `"pos":"p${index}"`, max, now + late);
            if (at < 0) expect(replay, `position ${index} is not kept`).to.equal(undefined);
            else expect(replay).to.deep.equal(kept.length - at - 1 > max ? undefined : kept.slice(at + 1));
          });
        }),
      );
    });
  });
});
