import { expect } from 'chai';
import fc from 'fast-check';
import { decodeBatch, encodeBatch } from '../../lib/broker/batch';
import { utf16Text } from '../protocol/arbitraries';

const roomName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/);

describe('broker/batch', () => {
  it('gives back every room and frame, in order, for any batch of any unicode frames', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ room: roomName, frame: utf16Text() }), { maxLength: 50 }), (messages) => {
        const decoded = decodeBatch(encodeBatch(messages));
        expect(decoded.map(({ room, frame }) => ({ room, frame: Buffer.from(frame).toString('utf8') }))).to.deep.equal(
          messages.map(({ room, frame }) => ({ room, frame: Buffer.from(frame, 'utf8').toString('utf8') })),
        );
      }),
    );
  });

  // Not by comparing .buffer: a small copy shares Node's 8 KiB pool with the batch.
  it('hands out views into the batch, not copies', () => {
    const batch = encodeBatch([{ room: 'lobby', frame: 'ab' }, { room: 'dev', frame: 'cd' }]);
    const deliveries = decodeBatch(batch);
    batch.write('AB', batch.indexOf('ab'));
    batch.write('CD', batch.indexOf('cd'));
    expect(deliveries.map(({ frame }) => Buffer.from(frame).toString('utf8'))).to.deep.equal(['AB', 'CD']);
  });

  it('refuses a batch that is cut short', () => {
    const batch = encodeBatch([{ room: 'lobby', frame: 'x'.repeat(100) }]);
    expect(() => decodeBatch(batch.subarray(0, batch.length - 1))).to.throw(RangeError, /cut short/);
    expect(() => decodeBatch(batch.subarray(0, 3))).to.throw(RangeError);
  });
});
