import { expect } from 'chai';
import fc from 'fast-check';
import { decodeClientFrame } from '../../lib/protocol/client_frames';
import { ERROR_MESSAGES, type ErrorCode } from '../../lib/protocol/errors';
import {
  encodeAck, encodeError, encodeJoined, encodeLeft, encodeMessage, encodePong, encodePresence, encodePresenceDiff, encodeRefreshed, encodeReplay,
  encodeTokenExpiring, encodeWelcome, withRecovered,
} from '../../lib/protocol/server_frames';
import { utf16Text } from './arbitraries';

// Each frame's keys in the order PROTOCOL.md shows them. An optional key
// (`id`, `recovered`) is left out when it is undefined.
const KEYS = {
  welcome: ['type', 'protocol', 'session', 'user', 'name', 'rooms', 'node'],
  ack: ['type', 'id', 'msgId'],
  joined: ['type', 'room', 'id', 'recovered'],
  left: ['type', 'room', 'id'],
  pong: ['type', 'id'],
  refreshed: ['type', 'exp', 'id'],
  token_expiring: ['type', 'exp'],
  error: ['type', 'code', 'message', 'id'],
  message: ['type', 'room', 'msgId', 'pos', 'from', 'user', 'text', 'ts'],
  presence: ['type', 'room', 'members', 'users', 'connections', 'truncated', 'id'],
  presence_diff: ['type', 'room', 'joins', 'leaves', 'users', 'connections'],
} as const;
type FrameType = keyof typeof KEYS;

/** `frame` parses into exactly the defined fields of `expected`, in the order of KEYS, plus `extra` after them. */
function expectFrame(frame: string, expected: { readonly type: FrameType; readonly [field: string]: unknown }, extra: object = {}): void {
  const keys = [...KEYS[expected.type].filter((key) => expected[key] !== undefined), ...Object.keys(extra)];
  const parsed: object = JSON.parse(frame);
  expect(Object.keys(parsed)).to.deep.equal(keys);
  expect(parsed).to.deep.equal({ ...Object.fromEntries(keys.map((key) => [key, expected[key]])), ...extra });
}

const anyText = utf16Text();
const id = fc.option(anyText, { nil: undefined });
const recovered = fc.option(fc.boolean(), { nil: undefined });
const code = fc.constantFrom(...(Object.keys(ERROR_MESSAGES) as ErrorCode[]));
const welcome = fc.record({ session: anyText, user: anyText, name: anyText, rooms: fc.array(anyText), node: anyText });
const joined = fc.record({ room: anyText, id, recovered });
const message = fc.record({ room: anyText, msgId: anyText, pos: anyText, from: anyText, user: anyText, text: anyText, ts: fc.nat() });
const presence = fc.record({
  room: anyText,
  members: fc.array(fc.record({ user: anyText, name: anyText, connections: fc.nat() })),
  users: fc.nat(),
  connections: fc.nat(),
  truncated: fc.option(fc.constant(true as const), { nil: undefined }),
  id,
});
const listedOrNot = <T>(items: fc.Arbitrary<T>) => fc.option(fc.array(items), { nil: undefined });
const presenceDiff = fc.record({
  room: anyText,
  joins: listedOrNot(fc.record({ user: anyText, name: anyText })),
  leaves: listedOrNot(fc.record({ user: anyText })),
  users: fc.nat(),
  connections: fc.nat(),
});

/** `fixed`: the fields the encoder writes itself. */
function encodesExactly<F extends object>(type: FrameType, fields: fc.Arbitrary<F>, encode: (f: F) => string, fixed: object = {}): void {
  it(type, () => {
    fc.assert(fc.property(fields, (f) => expectFrame(encode(f), { type, ...fixed, ...f })), { numRuns: 300 });
  });
}

describe('protocol/server_frames', () => {
  it('writes every frame as PROTOCOL.md shows it, keys in the same order', () => {
    expect(encodeWelcome({ session: 's1', user: 'anon:s1', name: 'alice', rooms: ['lobby'], node: 'n1' })).to.equal(
      '{"type":"welcome","protocol":2,"session":"s1","user":"anon:s1","name":"alice","rooms":["lobby"],"node":"n1"}',
    );
    expect(encodeAck({ id: 'c1', msgId: 'm1' })).to.equal('{"type":"ack","id":"c1","msgId":"m1"}');
    expect(encodeJoined({ room: 'dev' })).to.equal('{"type":"joined","room":"dev"}');
    expect(encodeLeft({ room: 'dev' })).to.equal('{"type":"left","room":"dev"}');
    expect(encodePong({ id: 'p1' })).to.equal('{"type":"pong","id":"p1"}');
    expect(encodeRefreshed({ exp: 1764103600, id: 'r1' })).to.equal('{"type":"refreshed","exp":1764103600,"id":"r1"}');
    expect(encodeTokenExpiring({ exp: 1764103600 })).to.equal('{"type":"token_expiring","exp":1764103600}');
    expect(encodeError({ code: 'not_joined', message: 'join first', id: 'c1' })).to.equal(
      '{"type":"error","code":"not_joined","message":"join first","id":"c1"}',
    );
    expect(encodeMessage({ room: 'lobby', msgId: 'm1', pos: 'p7', from: 'alice', user: 'u1', text: 'hi', ts: 1764100000000 })).to.equal(
      '{"type":"message","room":"lobby","msgId":"m1","pos":"p7","from":"alice","user":"u1","text":"hi","ts":1764100000000}',
    );
    expect(encodePresence({ room: 'dev', members: [{ user: 'u1', name: 'alice', connections: 2 }], users: 1, connections: 2 })).to.equal(
      '{"type":"presence","room":"dev","members":[{"user":"u1","name":"alice","connections":2}],"users":1,"connections":2}',
    );
    expect(encodePresenceDiff({ room: 'dev', joins: [{ user: 'u2', name: 'bob' }], leaves: [{ user: 'u1' }], users: 1, connections: 1 })).to.equal(
      '{"type":"presence_diff","room":"dev","joins":[{"user":"u2","name":"bob"}],"leaves":[{"user":"u1"}],"users":1,"connections":1}',
    );
  });

  it('writes truncated and then the id last in a presence frame, and a diff above maxListed with only the counts', () => {
    expect(encodePresence({ room: 'dev', members: [], users: 150, connections: 160, truncated: true, id: 'p1' })).to.equal(
      '{"type":"presence","room":"dev","members":[],"users":150,"connections":160,"truncated":true,"id":"p1"}',
    );
    expect(encodePresenceDiff({ room: 'r', users: 150, connections: 160 })).to.equal('{"type":"presence_diff","room":"r","users":150,"connections":160}');
  });

  it('writes only the fields of PROTOCOL.md of each member, join and leave, whatever else the objects hold', () => {
    const member = { user: 'u1', name: 'alice', connections: 2, node: 'n1' };
    expect(JSON.parse(encodePresence({ room: 'dev', members: [member], users: 1, connections: 2 })).members).to.deep.equal([
      { user: 'u1', name: 'alice', connections: 2 },
    ]);
    const diff = JSON.parse(encodePresenceDiff({ room: 'dev', joins: [member], leaves: [member], users: 1, connections: 2 }));
    expect(Object.keys(diff.joins[0])).to.deep.equal(['user', 'name']);
    expect(Object.keys(diff.leaves[0])).to.deep.equal(['user']);
  });

  it('writes recovered in joined, last, only when it is given', () => {
    expect(encodeJoined({ room: 'dev', id: 'j', recovered: true })).to.equal('{"type":"joined","room":"dev","id":"j","recovered":true}');
    expect(encodeJoined({ room: 'dev', recovered: false })).to.equal('{"type":"joined","room":"dev","recovered":false}');
    expect(encodeJoined({ room: 'dev', id: 'j', recovered: undefined })).to.equal('{"type":"joined","room":"dev","id":"j"}');
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

  describe('writes valid JSON with exactly the fields of PROTOCOL.md, in its order, for any text', () => {
    encodesExactly('welcome', welcome, encodeWelcome, { protocol: 2 });
    encodesExactly('ack', fc.record({ id, msgId: anyText }), encodeAck);
    encodesExactly('joined', joined, encodeJoined);
    encodesExactly('left', fc.record({ room: anyText, id }), encodeLeft);
    encodesExactly('pong', fc.record({ id }), encodePong);
    encodesExactly('refreshed', fc.record({ exp: fc.nat(), id }), encodeRefreshed);
    encodesExactly('token_expiring', fc.record({ exp: fc.nat() }), encodeTokenExpiring);
    encodesExactly('error', fc.record({ code, message: anyText, id }), encodeError);
    encodesExactly('message', message, encodeMessage);
    encodesExactly('presence', presence, encodePresence);
    encodesExactly('presence_diff', presenceDiff, encodePresenceDiff);
  });

  it('replays a message frame as the same message with "replay": true after its fields, for any text', () => {
    fc.assert(
      fc.property(message, (m) => expectFrame(encodeReplay(encodeMessage(m)), { type: 'message', ...m }, { replay: true })),
      { numRuns: 300 },
    );
  });

  it('adds recovered to a welcome or joined frame after its other fields, keeping them all, for any text', () => {
    fc.assert(
      fc.property(welcome, fc.boolean(), (w, recovered) => {
        expectFrame(withRecovered(encodeWelcome(w), recovered), { type: 'welcome', protocol: 2, ...w }, { recovered });
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(joined, fc.boolean(), (j, recovered) => {
        const frame = withRecovered(encodeJoined({ ...j, recovered: undefined }), recovered);
        expectFrame(frame, { type: 'joined', ...j, recovered });
        expect(frame).to.equal(encodeJoined({ ...j, recovered }));
      }),
      { numRuns: 300 },
    );
  });
});
