import { expect } from 'chai';
import fc from 'fast-check';
import { grants, parseRoomGrants, type RoomGrants } from '../../lib/auth/room_grants';

const INVALID = { error: 'rooms: expected a list of room names or prefix* patterns' };

function parsed(claim: unknown): RoomGrants {
  const result = parseRoomGrants(claim);
  if (result === undefined || 'error' in result) return expect.fail(`not grants: ${JSON.stringify(result)}`);
  return result;
}

/** What the claim means, read as PROTOCOL.md says it. */
const reference = (claim: readonly string[], room: string) => claim.some((entry) => (entry.endsWith('*') ? room.startsWith(entry.slice(0, -1)) : entry === room));

// A small alphabet, so that drawn rooms and patterns often match.
const roomName = fc.tuple(fc.constantFrom('a', 'b'), fc.string({ unit: fc.constantFrom('a', 'b', '-'), maxLength: 4 })).map(([first, rest]) => first + rest);
const entry = fc.oneof(roomName, roomName.map((prefix) => `${prefix}*`), fc.constant('*'));

describe('auth/room_grants', () => {
  describe('parseRoomGrants', () => {
    it('gives undefined (every room) for an absent claim', () => {
      expect(parseRoomGrants(undefined)).to.equal(undefined);
    });

    it('splits exact names from prefix* patterns', () => {
      expect(parsed(['lobby', 'team-*', 'dev:1'])).to.deep.equal({ exact: new Set(['lobby', 'dev:1']), prefixes: ['team-'] });
      expect(parsed(['*'])).to.deep.equal({ exact: new Set(), prefixes: [''] });
      expect(parsed([])).to.deep.equal({ exact: new Set(), prefixes: [] });
      expect(parsed([`${'x'.repeat(64)}*`, 'x'.repeat(64)])).to.deep.equal({ exact: new Set(['x'.repeat(64)]), prefixes: ['x'.repeat(64)] });
    });

    it('keeps no prefix that a shorter one covers, nor duplicates', () => {
      expect(parsed(['team-a*', 'team-*', 'ops*', 'team-*', 'op*', 'team-b*'])).to.deep.equal({ exact: new Set(), prefixes: ['op', 'team-'] });
      expect(parsed(['b*', 'a*', 'ab*', 'ba*'])).to.deep.equal({ exact: new Set(), prefixes: ['a', 'b'] });
      expect(parsed(['team-*', '*', 'a*'])).to.deep.equal({ exact: new Set(), prefixes: [''] });
      expect(parsed(['a', 'a', 'b'])).to.deep.equal({ exact: new Set(['a', 'b']), prefixes: [] });
      // The first prefix is kept whatever it reads, even the text of a missing one.
      expect(parsed(['undefined-*'])).to.deep.equal({ exact: new Set(), prefixes: ['undefined-'] });
    });

    it('refuses anything but a list of room names and prefix* patterns, with one reason that names no entry', () => {
      const claims: unknown[] = [
        null, 'lobby', 'team-*', 42, { lobby: true }, [42], [null], [['lobby']], ['lobby', 7],
        [''], ['-dev'], ['a b'], ['x'.repeat(65)], [`${'x'.repeat(65)}*`], ['**'], ['team-**'], ['*team'], ['-*'], ['t*m'], ['é'], ['lobby\n'],
      ];
      for (const claim of claims) expect(parseRoomGrants(claim), JSON.stringify(claim)).to.deep.equal(INVALID);
    });
  });

  describe('grants', () => {
    it('grants every room without a claim', () => {
      expect(grants(undefined, 'anything')).to.equal(true);
    });

    it('grants the exact names and the rooms that start with a prefix', () => {
      const rooms = parsed(['lobby', 'team-*']);
      for (const room of ['lobby', 'team-', 'team-a', 'team-blue.2']) expect(grants(rooms, room), room).to.equal(true);
      for (const room of ['lobby2', 'lobb', 'team', 'teamx', 'my-team-a', 'Lobby']) expect(grants(rooms, room), room).to.equal(false);
    });

    it('grants every room with *, and none with an empty list', () => {
      expect(grants(parsed(['*']), 'dev')).to.equal(true);
      expect(grants(parsed([]), 'lobby')).to.equal(false);
    });

    it('agrees with a plain reading of the claim', () => {
      fc.assert(
        fc.property(fc.array(entry, { maxLength: 6 }), roomName, (claim, room) => {
          expect(grants(parsed(claim), room)).to.equal(reference(claim, room));
        }),
        { numRuns: 2000 },
      );
    });
  });
});
