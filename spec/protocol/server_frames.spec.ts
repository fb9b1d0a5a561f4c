import { expect } from 'chai';
import fc from 'fast-check';
import { decodeClientFrame } from '../../lib/protocol/client_frames';
import { ERROR_MESSAGES, type ErrorCode } from '../../lib/protocol/errors';
import {
  encodeAck, encodeError, encodeJoined, encodeLeft, encodeMessage, encodePong, encodeReplay, encodeWelcome,
} from '../../lib/protocol/server_frames';
import { utf16Text } from './arbitraries';

describe('protocol/server_frames', () => {
  it('writes every frame as PROTOCOL.md shows it, keys in the same order', () => {
    expect(encodeWelcome({ session: 's1', name: 'alice', rooms: ['lobby'], node: 'n1' })).to.equal(
      '{"type":"welcome","protocol":1,"session":"s1","name":"alice","rooms":["lobby"],"node":"n1"}',
    );
    expect(encodeAck({ id: 'c1', msgId: 'm1' })).to.equal('{"type":"ack","id":"c1","msgId":"m1"}');
    expect(encodeJoined({ room: 'dev' })).to.equal('{"type":"joined","room":"dev"}');
    expect(encodeLeft({ room: 'dev' })).to.equal('{"type":"left","room":"dev"}');
    expect(encodePong({ id: 'p1' })).to.equal('{"type":"pong","id":"p1"}');
    expect(encodeError({ code: 'not_joined', message: 'join first', id: 'c1' })).to.equal(
      '{"type":"error","code":"not_joined","message":"join first","id":"c1"}',
    );
    expect(encodeMessage({ room: 'lobby', msgId: 'm1', from: 'alice', text: 'hi', ts: 1764100000000 })).to.equal(
      '{"type":"message","room":"lobby","msgId":"m1","from":"alice","text":"hi","ts":1764100000000}',
    );
  });

  it('writes an error frame for every code of the catalogue', () => {
    for (const [code, message] of Object.entries(ERROR_MESSAGES)) {
      expect(JSON.parse(encodeError({ code: code as ErrorCode, message, id: 'c1' }))).to.deep.equal({ type: 'error', code, message, id: 'c1' });
    }
  });

  it('echoes an id where there is one and leaves the key out where there is none', () => {
    expect(encodeAck({ msgId: 'm1' })).to.equal('{"type":"ack","msgId":"m1"}');
    expect(encodeJoined({ room: 'dev', id: 'j' })).to.equal('{"type":"joined","room":"dev","id":"j"}');
    expect(encodeLeft({ room: 'dev', id: 'l' })).to.equal('{"type":"left","room":"dev","id":"l"}');
    expect(encodePong({})).to.equal('{"type":"pong"}');
    expect(encodeError({ code: 'rate_limited', message: 'slow down' })).to.equal('{"type":"error","code":"rate_limited","message":"slow down"}');
  });

  it('answers a dropped client frame with the error the decoder returned', () => {
    const dropped = decodeClientFrame('{"type":"say","text":"","id":"c9"}', { maxTextChars: 4000 });
    if (dropped.type !== 'error') expect.fail('expected an error');
    expect(JSON.parse(encodeError(dropped))).to.deep.equal({ type: 'error', code: 'bad_request', message: dropped.message, id: 'c9' });
  });

  const anyText = utf16Text();

  it('writes valid JSON that parses back into the same message, for any text', () => {
    fc.assert(
      fc.property(anyText, anyText, anyText, anyText, fc.nat(), (room, msgId, from, text, ts) => {
        const frame = encodeMessage({ room, msgId, from, text, ts });
        expect(JSON.parse(frame)).to.deep.equal({ type: 'message', room, msgId, from, text, ts });
        expect(Object.keys(JSON.parse(frame))).to.deep.equal(['type', 'room', 'msgId', 'from', 'text', 'ts']);
      }),
      { numRuns: 500 },
    );
  });

  it('replays a message frame as the same message with "replay": true, for any text', () => {
    fc.assert(
      fc.property(anyText, anyText, anyText, anyText, fc.nat(), (room, msgId, from, text, ts) => {
        const replayed = encodeReplay(encodeMessage({ room, msgId, from, text, ts }));
        expect(JSON.parse(replayed)).to.deep.equal({ type: 'message', room, msgId, from, text, ts, replay: true });
      }),
      { numRuns: 300 },
    );
  });

  it('writes valid JSON that parses back into the same fields, for every other frame', () => {
    const id = fc.option(anyText, { nil: undefined });
    const withoutUndefined = (o: object) => JSON.parse(JSON.stringify(o));
    fc.assert(
      fc.property(anyText, anyText, fc.array(anyText), anyText, id, (a, b, rooms, c, id) => {
        expect(JSON.parse(encodeWelcome({ session: a, name: b, rooms, node: c }))).to.deep.equal({ type: 'welcome', protocol: 1, session: a, name: b, rooms, node: c });
        expect(JSON.parse(encodeAck({ id, msgId: a }))).to.deep.equal(withoutUndefined({ type: 'ack', id, msgId: a }));
        expect(JSON.parse(encodeJoined({ room: a, id }))).to.deep.equal(withoutUndefined({ type: 'joined', room: a, id }));
        expect(JSON.parse(encodeLeft({ room: a, id }))).to.deep.equal(withoutUndefined({ type: 'left', room: a, id }));
        expect(JSON.parse(encodePong({ id }))).to.deep.equal(withoutUndefined({ type: 'pong', id }));
        expect(JSON.parse(encodeError({ code: 'too_large', message: b, id }))).to.deep.equal(withoutUndefined({ type: 'error', code: 'too_large', message: b, id }));
      }),
      { numRuns: 300 },
    );
  });
});
