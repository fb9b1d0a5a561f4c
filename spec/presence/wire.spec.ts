import { expect } from 'chai';
import type { PresenceMessage } from '../../lib/presence/replica';
import { decodePresenceMessage, encodePresenceMessage } from '../../lib/presence/wire';

const MESSAGES: readonly PresenceMessage[] = [
  { t: 'delta', node: 'n1', inc: 3, seq: 7, entries: [['dev', 'u1', 'alice', 2], ['dev', 'u2', 'bob', 0]] },
  { t: 'heartbeat', node: 'n1', inc: 3, seq: 0 },
  { t: 'snapshot', node: 'n1', inc: 3, seq: 7, part: 1, parts: 2, entries: [['dev', 'u1', 'ålice ✓', 2]] },
  { t: 'sync', node: 'n1', inc: 3, to: '*' },
  { t: 'goodbye', node: 'n1', inc: 3 },
];

const decodeJson = (value: unknown) => decodePresenceMessage(Buffer.from(JSON.stringify(value)));

describe('presence/wire', () => {
  it('gives back every kind of message as it was encoded', () => {
    for (const message of MESSAGES) expect(decodePresenceMessage(encodePresenceMessage(message)), message.t).to.deep.equal(message);
  });

  it('refuses what is not JSON, not an object, or not from a node at an incarnation', () => {
    for (const text of ['', '{', 'null', '[]', '"delta"', '7']) expect(decodePresenceMessage(Buffer.from(text)), text).to.equal(undefined);
    const heartbeat = { t: 'heartbeat', node: 'n1', inc: 3, seq: 0 };
    for (const broken of [{ node: 7 }, { node: undefined }, { inc: -1 }, { inc: 1.5 }, { inc: '3' }, { t: 'hello' }, { t: undefined }]) {
      expect(decodeJson({ ...heartbeat, ...broken }), JSON.stringify(broken)).to.equal(undefined);
    }
  });

  it('takes a snapshot part from the first to the last', () => {
    const [, , snapshot] = MESSAGES;
    for (const [part, parts] of [[0, 1], [0, 3], [2, 3]]) expect(decodeJson({ ...snapshot, part, parts }), `${part} of ${parts}`).to.deep.equal({ ...snapshot, part, parts });
  });

  it('refuses a message missing what its kind needs', () => {
    const [delta, heartbeat, snapshot, sync] = MESSAGES;
    const broken = [
      { ...delta, seq: -1 },
      { ...delta, seq: undefined },
      { ...delta, entries: undefined },
      { ...delta, entries: {} },
      { ...snapshot, seq: 0.5 },
      { ...snapshot, entries: 'dev' },
      { ...snapshot, part: undefined },
      { ...snapshot, part: -1 },
      { ...snapshot, part: 0.5 },
      { ...snapshot, parts: undefined },
      { ...snapshot, parts: 2.5 },
      { ...snapshot, parts: '2' },
      { ...snapshot, part: 2, parts: 2 },
      { ...snapshot, part: 0, parts: 0 },
      { ...heartbeat, seq: undefined },
      { ...heartbeat, seq: '1' },
      { ...sync, to: undefined },
      { ...sync, to: 2 },
    ];
    for (const message of broken) expect(decodeJson(message), JSON.stringify(message)).to.equal(undefined);
  });

  it('refuses an entry that is not [room, user, name, connections]', () => {
    const entries = [
      'dev',
      ['dev', 'u1', 'alice'],
      ['dev', 'u1', 'alice', 1, 'extra'],
      [1, 'u1', 'alice', 1],
      ['dev', 1, 'alice', 1],
      ['dev', 'u1', null, 1],
      ['dev', 'u1', 'alice', -1],
      ['dev', 'u1', 'alice', 0.5],
    ];
    for (const t of ['delta', 'snapshot']) {
      for (const entry of entries) expect(decodeJson({ t, node: 'n1', inc: 1, seq: 1, entries: [['dev', 'u2', 'bob', 1], entry] }), `${t} ${JSON.stringify(entry)}`).to.equal(undefined);
    }
  });
});
