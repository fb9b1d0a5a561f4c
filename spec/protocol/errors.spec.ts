import { expect } from 'chai';
import { CLOSE, ERROR_MESSAGES } from '../../lib/protocol/errors';

describe('protocol/errors', () => {
  it('has exactly the error codes of PROTOCOL.md, each with a message', () => {
    expect(Object.keys(ERROR_MESSAGES)).to.have.members([
      'bad_request', 'too_large', 'not_joined', 'too_many_rooms', 'forbidden', 'unauthorized', 'rate_limited', 'unavailable',
    ]);
    for (const message of Object.values(ERROR_MESSAGES)) expect(message).to.be.a('string').that.is.not.empty;
  });

  it('has the close codes of PROTOCOL.md and 1011 for a crashed connection', () => {
    const codes = Object.fromEntries(Object.entries(CLOSE).map(([why, { code }]) => [why, code]));
    expect(codes).to.deep.equal({
      normal: 1000, shutdown: 1001, binaryFrame: 1003, rateLimit: 1008, tooBig: 1009, internalError: 1011, slowClient: 1013,
      unauthenticated: 4001, tokenExpired: 4001, roomForbidden: 4003, otherUser: 4003,
    });
  });

  it('keeps every close reason within the 123 bytes a close frame allows', () => {
    for (const { reason } of Object.values(CLOSE)) {
      expect(reason).to.not.be.empty;
      expect(Buffer.byteLength(reason, 'utf8')).to.be.at.most(123);
    }
  });
});
