import { expect } from 'chai';
import fc from 'fast-check';
import { hasMoreCodePointsThan, isClientId, isClientKey, isPosition, isRoomName } from '../../lib/protocol/fields';
import { utf16Text } from './arbitraries';

// Code points as the protocol counts them; a lone surrogate is one.
const codePoints = (text: string) => [...text].length;

describe('protocol/fields', () => {
  describe('hasMoreCodePointsThan', () => {
    it('counts an astral character (two UTF-16 units) as one', () => {
      expect(hasMoreCodePointsThan('😀'.repeat(4000), 4000)).to.equal(false);
      expect(hasMoreCodePointsThan('😀'.repeat(4001), 4000)).to.equal(true);
      expect(hasMoreCodePointsThan('a😀'.repeat(2000) + 'b', 4000)).to.equal(true);
      expect(hasMoreCodePointsThan('\ud800'.repeat(3) + '\udc00', 3)).to.equal(false); // high, high, then a pair
      expect(hasMoreCodePointsThan('\udc00\ud800', 1)).to.equal(true); // reversed: two lone surrogates
    });

    it('pairs a high surrogate only with the low surrogate right after it, at both ends of both ranges', () => {
      for (const pair of ['\ud800\udc00', '\ud800\udfff', '\udbff\udc00', '\udbff\udfff']) {
        expect(hasMoreCodePointsThan(pair, 1), JSON.stringify(pair)).to.equal(false);
      }
      for (const twoCodePoints of ['\ud7ff\udc00', '\ue000\udc00', '\ud800\udbff', '\ud800\ue000', '\ud800\ud7ff', '\ud800a', '\udc00\udc00']) {
        expect(hasMoreCodePointsThan(twoCodePoints, 1), JSON.stringify(twoCodePoints)).to.equal(true);
      }
    });

    it('agrees with counting every code point, for any string and limit', () => {
      fc.assert(
        fc.property(utf16Text({ maxLength: 80 }), fc.integer({ min: 0, max: 90 }), (text, limit) => {
          expect(hasMoreCodePointsThan(text, limit)).to.equal(codePoints(text) > limit);
        }),
        { numRuns: 2000 },
      );
    });
  });

  describe('isRoomName', () => {
    it('accepts 1 to 64 characters of the room alphabet, starting with a letter or digit', () => {
      for (const room of ['a', 'Z', '0', 'lobby', 'dev.team:eu-1_b', 'a' + '_.:-'.repeat(15) + 'xyz', 'x'.repeat(64)]) {
        expect(isRoomName(room), room).to.equal(true);
      }
    });

    it('refuses an empty name, a longer one, a bad first character or a character outside the alphabet', () => {
      for (const room of ['', 'x'.repeat(65), '_a', '.a', ':a', '-a', 'a b', 'a/b', 'é', 'lobby\n', 'a😀']) {
        expect(isRoomName(room), JSON.stringify(room)).to.equal(false);
      }
    });
  });

  describe('isClientId', () => {
    it('accepts a string of 1 to 64 characters, counted in code points', () => {
      for (const id of ['c', 'x'.repeat(64), '😀'.repeat(64), ' ']) expect(isClientId(id), id).to.equal(true);
    });

    it('refuses anything else', () => {
      for (const id of ['', 'x'.repeat(65), '😀'.repeat(65), 1, null, true, ['c1'], { id: 'c1' }]) {
        expect(isClientId(id), JSON.stringify(id)).to.equal(false);
      }
    });
  });

  describe('isPosition', () => {
    it('accepts 1 to 64 characters of A-Z a-z 0-9 . _ : -, whatever they spell', () => {
      // The last two are no position this daemon writes: another deployment's must still parse.
      for (const pos of ['0', 'a'.repeat(64), '1a2b3c4d:2s', 'lobby.17-x_y', '-', ':::', 'ZZZ.999']) {
        expect(isPosition(pos), pos).to.equal(true);
      }
    });

    it('refuses an empty or longer string, any other character, and anything but a string', () => {
      for (const pos of ['', 'a'.repeat(65), 'a b', 'a/b', 'a+b', 'é', '1\n', '\n1', '😀', 1, null, true, ['1'], { pos: '1' }]) {
        expect(isPosition(pos), JSON.stringify(pos)).to.equal(false);
      }
    });
  });

  describe('isClientKey', () => {
    it('accepts 16 to 64 characters of A-Z a-z 0-9 _ -', () => {
      for (const key of ['a'.repeat(16), 'Z'.repeat(64), 'tab-7f3a_9B0c-d1e2', '_'.repeat(16), '0123456789abcdef']) {
        expect(isClientKey(key), key).to.equal(true);
      }
    });

    it('refuses a shorter or longer key and any other character', () => {
      for (const key of ['', 'a'.repeat(15), 'a'.repeat(65), 'a'.repeat(15) + '.', 'a'.repeat(15) + ':', 'a'.repeat(16) + ' ', 'é'.repeat(16), 'a'.repeat(16) + '\n']) {
        expect(isClientKey(key), JSON.stringify(key)).to.equal(false);
      }
    });
  });
});
