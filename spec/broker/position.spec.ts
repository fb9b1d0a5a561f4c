import { expect } from 'chai';
import fc from 'fast-check';
import { logPosition, MAX_BATCH_MESSAGES, parsePosition, positionPlaceholder, writePosition } from '../../lib/broker/position';

/** A frame's `pos` once its reader has written the digits. */
function positionOf(msgId: string, position: number): string {
  const placeholder = positionPlaceholder(msgId);
  const frame = Buffer.from(`"pos":"${placeholder}"`, 'latin1');
  writePosition(frame, 7, position);
  return frame.toString('latin1', 7, 7 + placeholder.length);
}

const offset = fc.integer({ min: 0, max: 2 ** 40 });
const index = fc.integer({ min: 0, max: MAX_BATCH_MESSAGES - 1 });

describe('broker/position', () => {
  it('reads back the log position its reader wrote, for any offset and index', () => {
    fc.assert(
      fc.property(offset, index, fc.string({ minLength: 1, maxLength: 40 }), (o, i, msgId) => {
        expect(parsePosition(positionOf(msgId, logPosition(o, i)))).to.equal(logPosition(o, i));
      }),
    );
  });

  it('sorts as strings in the log order: by offset, then by index', () => {
    fc.assert(
      fc.property(offset, index, offset, index, (o1, i1, o2, i2) => {
        const [a, b] = [positionOf('m', logPosition(o1, i1)), positionOf('m', logPosition(o2, i2))];
        expect(a < b).to.equal(o1 < o2 || (o1 === o2 && i1 < i2));
      }),
    );
  });

  it('orders the messages of one batch by their index', () => {
    expect(positionOf('m', logPosition(7, 0)) < positionOf('m', logPosition(7, 1))).to.equal(true);
    expect(positionOf('m', logPosition(7, MAX_BATCH_MESSAGES - 1)) < positionOf('m', logPosition(8, 0))).to.equal(true);
    expect(logPosition(7, 3)).to.equal(7 * 4096 + 3);
  });

  // Positions are kept by clients across daemon upgrades: the check must not change between
  // versions. The values are FNV-1a's published test vectors.
  it('checks a msgId with FNV-1a, 32 bits, in base 36', () => {
    expect(positionPlaceholder('')).to.equal(`${'0'.repeat(16)}-${(0x811c9dc5).toString(36).padStart(7, '0')}`);
    expect(positionPlaceholder('a').slice(17)).to.equal((0xe40c292c).toString(36).padStart(7, '0'));
    expect(positionPlaceholder('foobar').slice(17)).to.equal((0xbf9cf968).toString(36).padStart(7, '0'));
  });

  it('tells two msgIds at the same place apart, and fits in 64 characters', () => {
    const [a, b] = [positionOf('node-a-run1-5', 4096), positionOf('node-a-run2-5', 4096)];
    expect(a).to.not.equal(b);
    expect(a).to.have.length.at.most(64);
    expect(a).to.match(/^[0-9a-f]{16}-[0-9a-z]{7}$/);
  });

  it('writes only the digits, leaving the bytes around them', () => {
    const frame = Buffer.from(`{"pos":"${positionPlaceholder('m')}","x":1}`, 'latin1');
    writePosition(frame, 8, 0xabc);
    expect(JSON.parse(frame.toString('latin1'))).to.deep.equal({ pos: `0000000000000abc-${positionPlaceholder('m').slice(17)}`, x: 1 });
  });

  it('finds no position of ours in anything else', () => {
    for (const foreign of ['', '42', 'abc-def', '0000000000000001-', '0000000000000001-ABCDEFG', 'g000000000000001-0000000', 'x0000000000000001-0000000', '0000000000000001-0000000x']) {
      expect(parsePosition(foreign), foreign).to.equal(undefined);
    }
  });
});
