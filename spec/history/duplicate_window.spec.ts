import { expect } from 'chai';
import fc from 'fast-check';
import { CLOCK_SKEW_MARGIN_MS, type DuplicateLimits, DuplicateWindow } from '../../lib/history/duplicate_window';

interface Said {
  readonly room: string;
  readonly key: string | undefined;
  readonly at: number;
  readonly msgId: string;
}

/**
 * The rule over the whole log, the obvious way: a keyed message is a copy
 * when the latest earlier message of its room with its key is among the
 * room's last `size` messages and less than ttl older; a copy of whatever
 * that one was delivered as.
 */
function reference(limits: DuplicateLimits, log: readonly Said[]): Array<string | undefined> {
  const decided: Array<string | undefined> = [];
  log.forEach((said, i) => {
    const room = log.slice(0, i).flatMap((earlier, j) => (earlier.room === said.room ? [j] : []));
    const latest = room.filter((j) => log[j]!.key === said.key).at(-1);
    const copy = said.key !== undefined && latest !== undefined && room.slice(-limits.size).includes(latest) && said.at - log[latest]!.at < limits.ttlMs;
    decided.push(copy ? (decided[latest] ?? log[latest]!.msgId) : undefined);
  });
  return decided;
}

/** Ids that say which message each was: m0, m1, ... */
const said = (room: string, key: string | undefined, at: number, i: number): Said => ({ room, key, at, msgId: `m${i}` });

/**
 * Logs as accepting nodes write them: log time grows, but each node's clock
 * may be behind the latest by up to the skew margin (less 1 ms).
 */
const logs = (maxStep: number) =>
  fc
    .array(
      fc.record({
        room: fc.constantFrom('a', 'b', 'c'),
        key: fc.option(fc.constantFrom('k1', 'k2', 'k3', 'k4'), { nil: undefined }),
        step: fc.nat(maxStep),
        skew: fc.oneof(fc.constant(0), fc.nat(CLOCK_SKEW_MARGIN_MS - 1)),
      }),
      { maxLength: 300, size: 'max' },
    )
    .map((steps) => {
      let base = 0;
      return steps.map(({ room, key, step, skew }, i) => said(room, key, (base += step) - skew, i));
    });

const limitsArb = fc.record({ size: fc.integer({ min: 1, max: 6 }), ttlMs: fc.integer({ min: 1, max: 100_000 }) });

type Step = readonly [room: string, key: string | undefined, at: number];

/** Admits each step in turn (named s0, s1, ... within the call); returns the window's stats after them. */
function statsAfter(window: DuplicateWindow, ...steps: readonly Step[]) {
  steps.forEach(([room, key, at], i) => window.admit(room, key, at, `s${i}`));
  return window.stats();
}

function admitAll(window: DuplicateWindow, log: readonly Said[]): Array<string | undefined> {
  return log.map(({ room, key, at, msgId }) => window.admit(room, key, at, msgId));
}

describe('history/duplicate_window', () => {
  const limits = { size: 3, ttlMs: 1000 };

  it('delivers the first message with a key and drops its copies, naming the first', () => {
    const window = new DuplicateWindow(limits);
    expect(window.admit('a', 'k', 0, 'm0')).to.equal(undefined);
    expect(window.lookup('a', 'k', 10)).to.equal('m0');
    expect(window.admit('a', 'k', 10, 'm1')).to.equal('m0');
    expect(window.admit('a', 'k', 20, 'm2')).to.equal('m0');
    expect(window.admit('b', 'k', 20, 'm3'), 'the same key in another room').to.equal(undefined);
    expect(window.admit('a', 'other', 20, 'm4')).to.equal(undefined);
    expect(window.admit('a', undefined, 20, 'm5'), 'no key').to.equal(undefined);
    expect(window.lookup('a', 'nothing', 20)).to.equal(undefined);
    expect(window.lookup('c', 'k', 20)).to.equal(undefined);
  });

  it('delivers a key again once the room\'s last `size` messages, copies and unkeyed ones too, pushed it out', () => {
    const window = new DuplicateWindow(limits);
    window.admit('a', 'k', 0, 'm0');
    window.admit('a', undefined, 1, 'm1');
    window.admit('b', undefined, 1, 'other room: does not count');
    expect(window.admit('a', 'j', 2, 'm2')).to.equal(undefined);
    expect(window.admit('a', 'j', 3, 'm3'), 'a copy counts too').to.equal('m2');
    expect(window.lookup('a', 'k', 3)).to.equal(undefined);
    expect(window.admit('a', 'k', 3, 'm4')).to.equal(undefined);
    expect(window.stats()).to.deep.equal({ rooms: 1, keys: 2 });
  });

  it('delivers a key again at ttl after its latest copy, and each copy slides the window on', () => {
    const window = new DuplicateWindow(limits);
    window.admit('a', 'k', 0, 'm0');
    expect(window.lookup('a', 'k', 999)).to.equal('m0');
    expect(window.lookup('a', 'k', 1000)).to.equal(undefined);
    // A copy every 0.9 ttl is a copy for ever, and so it is for a node
    // that started reading at one of the copies.
    const late = new DuplicateWindow(limits);
    for (let at = 900; at < 900 * 100; at += 900) {
      expect(window.admit('a', 'k', at, `m${at}`)).to.equal('m0');
      expect(late.admit('a', 'k', at, `m${at}`)).to.equal(at === 900 ? undefined : 'm900');
    }
    expect(window.admit('a', 'k', 900 * 99 + 1000, 'later')).to.equal(undefined);
  });

  it('keeps nothing for messages without a key in rooms without keys', () => {
    const window = new DuplicateWindow(limits);
    for (let i = 0; i < 10; i++) window.admit(`room-${i}`, undefined, i, `m${i}`);
    expect(window.stats()).to.deep.equal({ rooms: 0, keys: 0 });
  });

  it('forgets a key as it leaves the window, and a room with its last key', () => {
    const window = new DuplicateWindow(limits);
    expect(statsAfter(window, ['a', 'k1', 0], ['a', 'k2', 0], ['a', undefined, 0])).to.deep.equal({ rooms: 1, keys: 2 });
    expect(statsAfter(window, ['a', undefined, 0])).to.deep.equal({ rooms: 1, keys: 1 });
    expect(statsAfter(window, ['a', undefined, 0])).to.deep.equal({ rooms: 0, keys: 0 });
  });

  it('forgets a room once its newest key is ttl + the skew margin older than the newest message anywhere', () => {
    const window = new DuplicateWindow(limits);
    const forgetAfter = limits.ttlMs + CLOCK_SKEW_MARGIN_MS;
    expect(statsAfter(window, ['a', 'k1', 0], ['a', 'k2', 100], ['b', 'k1', 200], ['c', undefined, 100 + forgetAfter - 1])).to.deep.equal({ rooms: 2, keys: 3 });
    expect(statsAfter(window, ['c', undefined, 100 + forgetAfter])).to.deep.equal({ rooms: 1, keys: 1 });
    const slowerClock = 150 + forgetAfter;
    expect(statsAfter(window, ['c', undefined, slowerClock], ['b', undefined, 200 + forgetAfter])).to.deep.equal({ rooms: 0, keys: 0 });
    expect(window.admit('a', 'k2', 200 + forgetAfter, 'm6')).to.equal(undefined);
  });

  it('judges a room\'s age against the newest ts read anywhere, not against the message being read', () => {
    const window = new DuplicateWindow(limits);
    const forgetAfter = limits.ttlMs + CLOCK_SKEW_MARGIN_MS;
    expect(statsAfter(window, ['a', 'k', 1000], ['c', undefined, 1000 + forgetAfter + 5])).to.deep.equal({ rooms: 0, keys: 0 });
    expect(statsAfter(window, ['b', 'k', 0]), 'from a clock far behind').to.deep.equal({ rooms: 0, keys: 0 });
  });

  it('keeps a room while its newest key can still be matched, whatever a slower clock wrote after it', () => {
    const window = new DuplicateWindow(limits);
    window.admit('a', 'k1', 60_000, 'm0');
    window.admit('a', 'k2', 1, 'from a clock 59,999 ms behind');
    window.admit('c', undefined, 61_001, 'm2');
    expect(window.admit('a', 'k1', 60_500, 'm3')).to.equal('m0');
  });

  it('looks at the front again when the room it stopped at moves on or goes', () => {
    const stale = () => {
      const window = new DuplicateWindow(limits);
      const behind = 1; // from a clock 59,999 ms behind
      expect(statsAfter(window, ['a', 'k', 60_000], ['b', 'k', behind], ['c', undefined, 61_001]).rooms, 'b, old enough, waits behind a').to.equal(2);
      return window;
    };
    expect(statsAfter(stale(), ['a', 'j', 61_001])).to.deep.equal({ rooms: 1, keys: 2 });
    const unkeyed: Step = ['a', undefined, 61_001];
    expect(statsAfter(stale(), ...Array<Step>(limits.size).fill(unkeyed))).to.deep.equal({ rooms: 0, keys: 0 });
  });

  it('decides every message as the rule over the whole log does', () => {
    fc.assert(
      fc.property(limitsArb, logs(30_000), (limits, log) => {
        expect(admitAll(new DuplicateWindow(limits), log)).to.deep.equal(reference(limits, log));
      }),
    );
  });

  it('answers a lookup as the rule would decide the same say accepted now', () => {
    fc.assert(
      fc.property(limitsArb, logs(30_000), fc.nat(CLOCK_SKEW_MARGIN_MS + 100_000), (limits, log, ahead) => {
        const window = new DuplicateWindow(limits);
        admitAll(window, log);
        const now = Math.max(0, ...log.map((s) => s.at)) - CLOCK_SKEW_MARGIN_MS + 1 + ahead;
        for (const room of ['a', 'b', 'c']) {
          for (const key of ['k1', 'k2', 'k3', 'k4']) {
            expect(window.lookup(room, key, now)).to.equal(reference(limits, [...log, said(room, key, now, log.length)]).at(-1));
          }
        }
      }),
    );
  });

  it('decides the same on two nodes fed the same log, whatever one looks up meanwhile', () => {
    fc.assert(
      fc.property(limitsArb, logs(30_000), fc.array(fc.integer({ min: -100_000, max: 100_000 })), (limits, log, lookups) => {
        const [looking, quiet] = [new DuplicateWindow(limits), new DuplicateWindow(limits)];
        const decided = log.map((s, i) => {
          const decision = looking.admit(s.room, s.key, s.at, s.msgId);
          if (i < lookups.length) looking.lookup(s.room, 'k1', s.at + lookups[i]!);
          return decision;
        });
        expect(decided).to.deep.equal(admitAll(quiet, log));
        expect(looking.stats()).to.deep.equal(quiet.stats());
      }),
    );
  });

  it('decides as every node does once it has read from ttl + the skew margin before a message', () => {
    fc.assert(
      fc.property(limitsArb, logs(30_000), fc.nat(), (limits, log, cut) => {
        fc.pre(log.length > 0);
        const start = cut % log.length;
        const whole = admitAll(new DuplicateWindow(limits), log);
        const suffix = admitAll(new DuplicateWindow(limits), log.slice(start));
        log.slice(start).forEach((s, i) => {
          if (s.at - log[start]!.at >= limits.ttlMs + CLOCK_SKEW_MARGIN_MS) {
            expect(suffix[i] === undefined, `message ${start + i} delivered`).to.equal(whole[start + i] === undefined);
          }
        });
      }),
    );
  });

  it('holds each room to the keys of its last `size` messages, and forgets every room once the log moved on', () => {
    fc.assert(
      fc.property(limitsArb, logs(30_000), (limits, log) => {
        const window = new DuplicateWindow(limits);
        log.forEach((s, i) => {
          window.admit(s.room, s.key, s.at, s.msgId);
          const seen = log.slice(0, i + 1);
          const keys = ['a', 'b', 'c'].map((room) => new Set(seen.filter((m) => m.room === room).slice(-limits.size).flatMap((m) => (m.key ? [m.key] : []))).size);
          expect(window.stats().keys).to.be.at.most(keys.reduce((sum, n) => sum + n, 0));
          expect(window.stats().rooms).to.be.at.most(keys.filter((n) => n > 0).length);
        });
        const end = Math.max(0, ...log.map((s) => s.at)) + limits.ttlMs + CLOCK_SKEW_MARGIN_MS;
        window.admit('other', undefined, end, 'last');
        expect(window.stats()).to.deep.equal({ rooms: 0, keys: 0 });
      }),
    );
  });
});
