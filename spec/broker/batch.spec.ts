import { expect } from 'chai';
import fc from 'fast-check';
import { decodeBatch, encodeBatch, msgIdOf } from '../../lib/broker/batch';
import { positionPlaceholder, POSITION_DIGITS } from '../../lib/broker/position';
import { chatMessage } from '../support/chat_frames';
import { utf16Text } from '../protocol/arbitraries';

const roomName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/);
/** Up to 2^48 - 1: what a u48 holds. */
const timestamp = fc.integer({ min: 0, max: 2 ** 48 - 1 });

describe('broker/batch', () => {
  it('gives back every room, key, time and frame, in order, for any batch of any unicode text', () => {
    const message = fc
      .record({ room: roomName, text: utf16Text(), key: fc.option(utf16Text({ maxLength: 300 }), { nil: undefined }), at: timestamp })
      .map(({ room, text, key, at }) => chatMessage(room, text, { key, at }));
    fc.assert(
      fc.property(fc.array(message, { maxLength: 50 }), (messages) => {
        const decoded = decodeBatch(encodeBatch(messages));
        const utf8 = (text: string) => Buffer.from(text, 'utf8').toString('utf8');
        expect(decoded.map(({ room, key, at, frame }) => ({ room, key, at, frame: frame.toString('utf8') }))).to.deep.equal(
          messages.map(({ room, key, at, frame }) => ({ room, key: key === '' || key === undefined ? undefined : utf8(key), at, frame: utf8(frame) })),
        );
      }),
    );
  });

  it("points at each frame's position placeholder, in bytes, whatever characters come before it", () => {
    fc.assert(
      fc.property(roomName, utf16Text({ maxLength: 30 }), (room, from) => {
        const message = chatMessage(room, 'hi', { msgId: 'n-1', from });
        const [delivery] = decodeBatch(encodeBatch([message]));
        const placeholder = positionPlaceholder('n-1');
        expect(delivery!.frame.toString('latin1', delivery!.posAt, delivery!.posAt + placeholder.length)).to.equal(placeholder);
        expect(msgIdOf(delivery!)).to.equal('n-1');
      }),
    );
  });

  it('encodes batches of any size one after another, each exactly as long as its records, sharing no bytes', () => {
    // Two of them take more than the scratch buffer's 1 MiB in UTF-8, in fewer UTF-16 units than that,
    // nearly all of them 3 bytes long, keys included: the worst case the batch is sized for.
    const big = (n: number) => chatMessage('lobby', `${n}${'€'.repeat(200_000)}`, { key: `${n}${'€'.repeat(1000)}` });
    const batches = [[big(1), big(2)], [chatMessage('dev', 'small')], [big(3), chatMessage('dev', 'é'.repeat(1000))], [chatMessage('lobby', 'last')]].map((messages) => ({ messages, batch: encodeBatch(messages) }));
    for (const { messages, batch } of batches) {
      const records = messages.reduce((sum, { room, key, frame }) => sum + 15 + room.length + Buffer.byteLength(key ?? '') + Buffer.byteLength(frame), 0);
      expect(batch.length).to.equal(records);
      expect(decodeBatch(batch).map(({ frame }) => frame.toString())).to.deep.equal(messages.map(({ frame }) => frame));
    }
  });

  // Not by comparing .buffer: a small copy shares Node's 8 KiB pool with the batch.
  it('hands out views into the batch, not copies', () => {
    const batch = encodeBatch([chatMessage('lobby', 'ab'), chatMessage('dev', 'cd')]);
    const deliveries = decodeBatch(batch);
    batch.write('AB', batch.indexOf('"ab"') + 1);
    batch.write('CD', batch.indexOf('"cd"') + 1);
    expect(deliveries.map(({ frame }) => JSON.parse(frame.toString()).text)).to.deep.equal(['AB', 'CD']);
  });

  it('refuses to encode a frame without a position, also when a later frame has one', () => {
    const withoutPos = { room: 'lobby', frame: '{"type":"message","text":"no pos"}', key: undefined, at: 0 };
    expect(() => encodeBatch([withoutPos])).to.throw(/without "pos"/);
    expect(() => encodeBatch([withoutPos, chatMessage('lobby', 'has one')])).to.throw(/without "pos"/);
  });

  it('refuses a batch that is cut short, or whose position would fall outside its frame', () => {
    const batch = encodeBatch([chatMessage('lobby', 'x'.repeat(100))]);
    expect(() => decodeBatch(batch.subarray(0, batch.length - 1))).to.throw(RangeError, /cut short/);
    expect(() => decodeBatch(batch.subarray(0, 3))).to.throw(RangeError);
    const [delivery] = decodeBatch(batch);
    const posAtField = 1 + 'lobby'.length + 2 + 6;
    batch.writeUInt16BE(delivery!.frame.length - POSITION_DIGITS + 1, posAtField);
    expect(() => decodeBatch(batch)).to.throw(RangeError, /position at/);
    batch.writeUInt16BE(delivery!.frame.length - POSITION_DIGITS, posAtField);
    expect(decodeBatch(batch)[0]!.posAt, 'the last place a position fits').to.equal(delivery!.frame.length - POSITION_DIGITS);
  });
});
