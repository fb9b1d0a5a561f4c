import { expect } from 'chai';
import fc from 'fast-check';
import { decodeClientFrame } from '../../lib/protocol/client_frames';
import { ROOM_NAME } from '../../lib/protocol/fields';
import { unicodeText } from './arbitraries';

const limits = { maxTextChars: 4000 };
const decode = (text: string) => decodeClientFrame(text, limits);
const command = (frame: object) => decode(JSON.stringify(frame));
const shortcut = (text: string) => ({ type: 'say', text, room: undefined, id: undefined, shortcut: true });
const badRequest = (id?: string) => ({ type: 'error', code: 'bad_request', id });

describe('protocol/client_frames', () => {
  describe('the commands of PROTOCOL.md', () => {
    it('say: text, room and id', () => {
      expect(decode('{"type":"say","text":"hi","room":"lobby","id":"c1"}')).to.deep.equal({
        type: 'say', text: 'hi', room: 'lobby', id: 'c1', shortcut: false,
      });
    });

    it('say without room (the default room) or id', () => {
      expect(command({ type: 'say', text: 'hi' })).to.deep.equal({ type: 'say', text: 'hi', room: undefined, id: undefined, shortcut: false });
    });

    it('join and leave a room, with or without id', () => {
      expect(decode('{"type":"join","room":"dev"}')).to.deep.equal({ type: 'join', room: 'dev', id: undefined, since: undefined, history: 0, presence: false });
      expect(decode('{"type":"leave","room":"dev"}')).to.deep.equal({ type: 'leave', room: 'dev', id: undefined });
      expect(command({ type: 'join', room: 'dev', id: 'j' })).to.deep.equal({ type: 'join', room: 'dev', id: 'j', since: undefined, history: 0, presence: false });
      expect(command({ type: 'leave', room: 'dev', id: 'l' })).to.deep.equal({ type: 'leave', room: 'dev', id: 'l' });
    });

    it('join with history: an integer from 0 to 100', () => {
      for (const history of [0, 1, 100]) expect(command({ type: 'join', room: 'dev', history })).to.deep.equal({ type: 'join', room: 'dev', id: undefined, since: undefined, history, presence: false });
      for (const history of [-1, 101, 1.5, '5', null, true]) {
        expect(command({ type: 'join', room: 'dev', history, id: 'h' })).to.deep.equal({
          type: 'error', code: 'bad_request', message: 'history: expected an integer from 0 to 100', id: 'h',
        });
      }
    });

    it('join with since: a position, with or without id, with or without history', () => {
      for (const since of ['1a2b3c4d:2s', 'p'.repeat(64), '0', 'from.another-deployment_9']) {
        expect(command({ type: 'join', room: 'dev', since })).to.deep.equal({ type: 'join', room: 'dev', id: undefined, since, history: 0, presence: false });
        expect(command({ type: 'join', room: 'dev', since, id: 'j', history: 5 })).to.deep.equal({ type: 'join', room: 'dev', id: 'j', since, history: 5, presence: false });
      }
    });

    it('join with presence: true or false, false when absent', () => {
      expect(command({ type: 'join', room: 'dev', presence: true, id: 'j' })).to.deep.equal({ type: 'join', room: 'dev', id: 'j', since: undefined, history: 0, presence: true });
      expect(command({ type: 'join', room: 'dev', presence: false })).to.deep.include({ presence: false });
      for (const presence of [1, 'true', null, {}]) {
        expect(command({ type: 'join', room: 'dev', presence, id: 'p' }), JSON.stringify(presence)).to.deep.equal({
          type: 'error', code: 'bad_request', message: 'presence: expected true or false', id: 'p',
        });
      }
    });

    it('presence of a room, with or without id; a bad room is a bad_request', () => {
      expect(command({ type: 'presence', room: 'dev', id: 'w' })).to.deep.equal({ type: 'presence', room: 'dev', id: 'w' });
      expect(command({ type: 'presence', room: 'dev' })).to.deep.equal({ type: 'presence', room: 'dev', id: undefined });
      expect(command({ type: 'presence', id: 'w' })).to.deep.include({ ...badRequest('w'), message: 'room: missing' });
      expect(command({ type: 'presence', room: 'no spaces' })).to.deep.include(badRequest()).and.have.property('message').that.matches(/^room: expected/);
    });

    it('ping, with or without id', () => {
      expect(decode('{"type":"ping","id":"p1"}')).to.deep.equal({ type: 'ping', id: 'p1' });
      expect(decode('{"type":"ping"}')).to.deep.equal({ type: 'ping', id: undefined });
    });

    it('refresh: a token, with or without id; its content is the verifier\'s to judge', () => {
      expect(command({ type: 'refresh', token: 'a.b.c', id: 'r1' })).to.deep.equal({ type: 'refresh', token: 'a.b.c', id: 'r1' });
      expect(command({ type: 'refresh', token: 'x' })).to.deep.equal({ type: 'refresh', token: 'x', id: undefined });
      for (const token of [undefined, '', 7, ['a.b.c']]) {
        expect(command({ type: 'refresh', token, id: 'r' }), String(token)).to.deep.include({ ...badRequest('r'), message: token === undefined ? 'token: missing' : 'token: expected a JSON Web Token' });
      }
    });

        it('ignores unknown fields, so that newer clients keep working', () => {
      expect(command({ type: 'ping', id: 'p', since: 3, extra: { x: 1 } })).to.deep.equal({ type: 'ping', id: 'p' });
      expect(command({ type: 'say', text: 'hi', priority: 'high' })).to.include({ type: 'say', text: 'hi' });
    });

    it('accepts white space around the JSON object', () => {
      expect(decode(' \t\r\n{"type":"ping"}\n')).to.deep.equal({ type: 'ping', id: undefined });
    });
  });

  describe('bad_request', () => {
    it('for an unknown type, echoing the id', () => {
      expect(command({ type: 'shout', id: 'c1' })).to.deep.include(badRequest('c1')).and.have.property('message').that.matches(/^type: /);
      expect(command({ type: 'Say' })).to.deep.include(badRequest());
      expect(command({ type: '' })).to.deep.include(badRequest());
    });

    it('for a missing or mistyped field, naming the field', () => {
      const cases: Array<[object, string]> = [
        [{ type: 'say', id: 'c1' }, 'text: missing'],
        [{ type: 'say', text: 5, id: 'c1' }, 'text: expected a string'],
        [{ type: 'say', text: null, id: 'c1' }, 'text: expected a string'],
        [{ type: 'say', text: 'hi', room: 7, id: 'c1' }, 'room: expected a room name'],
        [{ type: 'join', id: 'c1' }, 'room: missing'],
        [{ type: 'join', room: ['dev'], id: 'c1' }, 'room: expected a room name'],
        [{ type: 'leave', id: 'c1' }, 'room: missing'],
      ];
      for (const [frame, message] of cases) {
        const result = command(frame);
        expect(result, JSON.stringify(frame)).to.deep.include(badRequest('c1'));
        expect(result).to.have.property('message').that.satisfies((m: string) => m.startsWith(message));
      }
    });

    it('for a bad room name in say, join or leave, stating the rule of PROTOCOL.md', () => {
      for (const room of ['', '-dev', 'a b', 'x'.repeat(65), 'é']) {
        for (const type of ['say', 'join', 'leave']) {
          const result = command({ type, text: 'hi', room, id: 'r' });
          expect(result, `${type} ${room}`).to.deep.include(badRequest('r'));
          expect(result).to.have.property('message', 'room: expected a room name (1 to 64 of A-Z a-z 0-9 _ . : - starting with a letter or digit)');
        }
      }
    });

    it('for a since that is not a position: too long, mistyped or with a character outside the rule, echoing a valid id', () => {
      const message = 'since: expected a position (1 to 64 of A-Z a-z 0-9 . _ : -)';
      for (const since of ['p'.repeat(65), '', 42, null, true, ['p1'], { pos: 'p1' }, 'a b', 'a/b', 'é', 'p\n', '😀']) {
        expect(command({ type: 'join', room: 'dev', since, id: 's' }), JSON.stringify(since)).to.deep.equal({ type: 'error', code: 'bad_request', message, id: 's' });
        expect(command({ type: 'join', room: 'dev', since }), JSON.stringify(since)).to.deep.equal({ type: 'error', code: 'bad_request', message, id: undefined });
      }
    });

    it('for an empty text', () => {
      expect(command({ type: 'say', text: '', id: 'e' })).to.deep.include(badRequest('e')).and.have.property('message').that.matches(/^text: /);
    });
  });

  describe('too_large', () => {
    it('for a text over 4000 characters, counted in code points', () => {
      expect(command({ type: 'say', text: 'x'.repeat(4000) })).to.include({ type: 'say', text: 'x'.repeat(4000) });
      expect(command({ type: 'say', text: '😀'.repeat(4000) })).to.include({ type: 'say', text: '😀'.repeat(4000) });
      for (const text of ['x'.repeat(4001), '😀'.repeat(4001), '😀'.repeat(3999) + 'ab']) {
        expect(command({ type: 'say', text, id: 'big' })).to.deep.include({ type: 'error', code: 'too_large', id: 'big' });
      }
    });

    it('for the limit it is given, which the message names', () => {
      expect(decodeClientFrame('{"type":"say","text":"abc"}', { maxTextChars: 2 })).to.include({ code: 'too_large', message: 'text: longer than 2 characters' });
      expect(decodeClientFrame('abc', { maxTextChars: 2 })).to.include({ code: 'too_large', message: 'text: longer than 2 characters' });
    });
  });

  describe('id', () => {
    it('is echoed when it is a string of 1 to 64 characters', () => {
      for (const id of ['x', 'x'.repeat(64), '😀'.repeat(64)]) {
        expect(command({ type: 'ping', id })).to.deep.equal({ type: 'ping', id });
        expect(command({ type: 'nope', id })).to.include({ id });
      }
    });

    it('when present but invalid, is a bad_request that states the rule and does not echo it, whatever else the frame holds', () => {
      for (const id of ['', 'x'.repeat(65), '😀'.repeat(65), 42, null, false, ['c1'], { c: 1 }]) {
        for (const frame of [{ type: 'ping', id }, { type: 'say', text: 'hi', id }, { type: 'nope', id }, { type: 'say', text: '', id }]) {
          const result = command(frame);
          expect(result, JSON.stringify(frame)).to.deep.include(badRequest());
          expect(result).to.have.property('message', 'id: expected a string of 1 to 64 characters');
        }
      }
    });
  });

  describe('the plain-text shortcut', () => {
    it('takes any frame that is not a JSON object with a string type as a say of that exact text', () => {
      for (const text of ['hello everyone', '{"text":"x"}', '{"type":5}', '{"type":null,"text":"x"}', '[{"type":"say"}]', '42', '"ping"', 'null', 'true',
        '{"type":"ping"', '{"type":"ping"} trailing', '{ not json }', '  ', '😀', '\u0000']) {
        expect(decode(text), JSON.stringify(text)).to.deep.equal(shortcut(text));
      }
    });

    it('answers an empty text with bad_request and a long one with too_large, without id', () => {
      expect(decode('')).to.deep.include(badRequest());
      expect(decode('😀'.repeat(4000))).to.deep.equal(shortcut('😀'.repeat(4000)));
      expect(decode('😀'.repeat(4001))).to.deep.include({ type: 'error', code: 'too_large', id: undefined });
    });

    it('round-trips every text that is not a command, exactly', () => {
      const isCommand = (text: string) => {
        try {
          const value: unknown = JSON.parse(text);
          return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
        } catch {
          return false;
        }
      };
      const texts = fc.oneof(
        unicodeText({ minLength: 1, maxLength: 200 }),
        fc.json().map((json) => json.replace(/"type"/g, '"kind"')),
        fc.jsonValue().filter((v) => !isCommand(JSON.stringify(v))).map((v) => JSON.stringify(v)),
      );
      fc.assert(
        fc.property(texts.filter((text) => !isCommand(text)), (text) => {
          expect(decode(text)).to.deep.equal(shortcut(text));
        }),
        { numRuns: 1000 },
      );
    });
  });

  it('decodes every valid say it is given back into its fields', () => {
    const id = fc.option(unicodeText({ minLength: 1, maxLength: 64 }), { nil: undefined });
    const room = fc.option(fc.stringMatching(ROOM_NAME), { nil: undefined });
    fc.assert(
      fc.property(unicodeText({ minLength: 1, maxLength: 4000 }), room, id, (text, room, id) => {
        expect(command({ type: 'say', text, room, id })).to.deep.equal({ type: 'say', text, room, id, shortcut: false });
      }),
      { numRuns: 300 },
    );
  });

  it('decodes every valid join it is given back into its fields', () => {
    const id = fc.option(unicodeText({ minLength: 1, maxLength: 64 }), { nil: undefined });
    const since = fc.option(fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/), { nil: undefined });
    fc.assert(
      fc.property(fc.stringMatching(ROOM_NAME), since, fc.integer({ min: 0, max: 100 }), fc.boolean(), id, (room, since, history, presence, id) => {
        expect(command({ type: 'join', room, since, history, presence, id })).to.deep.equal({ type: 'join', room, id, since, history, presence });
      }),
      { numRuns: 300 },
    );
  });
});
