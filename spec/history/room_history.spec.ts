import { expect } from 'chai';
import fc from 'fast-check';
import { type HistoryLimits, messageBytes, RoomHistory } from '../../lib/history/room_history';

interface Append {
  readonly room: string;
  readonly frame: string;
  /** Milliseconds since the previous append. */
  readonly after: number;
}

const appends = fc.array(
  fc.record({ room: fc.constantFrom('a', 'b', 'c', 'd', 'e'), frame: fc.string({ minLength: 1, maxLength: 40 }), after: fc.nat(50) }),
  // fast-check keeps arrays short by default (its 'small' size): rings would never fill.
  { maxLength: 200, size: 'max' },
);

/** Replays `appends` into a history; returns it, the clock at the end, and what each room was given, in order. */
function play(limits: HistoryLimits, steps: readonly Append[]) {
  const history = new RoomHistory(limits);
  const given = new Map<string, Array<{ frame: string; at: number }>>();
  const lastActive = new Map<string, number>();
  let now = 0;
  steps.forEach(({ room, frame, after }, index) => {
    now += after;
    history.append(room, frame, now);
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
    history.append('a', 'old', 0);
    history.append('b', 'larger than the budget', 1);
    expect(history.recent('b', 5, 1)).to.deep.equal(['larger than the budget']);
    expect(history.stats()).to.deep.equal({ rooms: 1, messages: 1, bytes: messageBytes('larger than the budget') });
  });

  it('lets a room alone past the budget keep its newest messages that fit, and a budget met exactly stand', () => {
    const two = messageBytes('m1') + messageBytes('m2');
    const history = new RoomHistory({ ...roomy, maxBytes: two });
    for (const frame of ['m1', 'm2']) history.append('a', frame, 0);
    expect(history.recent('a', 5, 0)).to.deep.equal(['m1', 'm2']);
    history.append('a', 'm3', 0);
    expect(history.recent('a', 5, 0)).to.deep.equal(['m2', 'm3']);
    expect(history.stats()).to.deep.equal({ rooms: 1, messages: 2, bytes: two });
  });

  it('counts what the ttl took when it is read, and reading an emptied room again changes nothing', () => {
    const history = new RoomHistory({ ...roomy, ttlMs: 100 });
    history.append('a', 'old', 0);
    history.append('b', 'new', 150);
    expect(history.recent('b', 5, 150)).to.deep.equal(['new']);
    expect(history.stats()).to.deep.equal({ rooms: 1, messages: 1, bytes: messageBytes('new') });
    history.append('c', 'c1', 160);
    expect(history.recent('b', 5, 260)).to.deep.equal([]);
    expect(history.recent('b', 5, 270)).to.deep.equal([]);
    expect(history.stats()).to.deep.equal({ rooms: 2, messages: 1, bytes: messageBytes('c1') });
  });

  it('drops a message exactly ttl old, and stops at an emptied ring that had wrapped round', () => {
    const history = new RoomHistory({ size: 2, ttlMs: 100, maxBytes: 1e9 });
    for (const frame of ['w1', 'w2', 'w3']) history.append('a', frame, 0);
    history.append('b', 'b1', 100);
    expect(history.stats().rooms, 'a, whose newest message is exactly 100 ms old, is forgotten').to.equal(1);
    history.append('a', 'w4', 100);
    history.append('a', 'w5', 100);
    history.append('a', 'w6', 100);
    expect(history.recent('a', 5, 250)).to.deep.equal([]);
    expect(history.stats()).to.deep.equal({ rooms: 2, messages: 1, bytes: messageBytes('b1') });
  });

  it('serves nothing for a room it never had, or for n = 0', () => {
    const history = new RoomHistory(roomy);
    history.append('a', 'x', 0);
    expect(history.recent('b', 5, 0)).to.deep.equal([]);
    expect(history.recent('a', 0, 0)).to.deep.equal([]);
  });
});
