import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { isClientKey, isPosition } from '../../lib/protocol/fields';
import { checkUpgradeHeaders, parseHandshake } from '../../lib/protocol/handshake';
import { unicodeText } from './arbitraries';

const parse = (query: string) => parseHandshake(query, { defaultRoom: 'lobby', authenticated: false });
const ANONYMOUS = /^anon-[0-9a-f]{4}$/;
const KEY = 'tab-7f3a_9B0c-d1e2';
const POSITION_REASON = 'since: expected a position (1 to 64 of A-Z a-z 0-9 . _ : -)';
const CLIENT_KEY_REASON = 'client: expected a client key (16 to 64 of A-Z a-z 0-9 _ -)';

/** What an accepted handshake holds: `since` and `client` are undefined unless given. */
const accepted = (name: string, room: string, given: { since?: string; client?: string } = {}) => ({ name, room, since: undefined, client: undefined, ...given });

function nameOf(query: string): string {
  const result = parse(query);
  if ('error' in result) return expect.fail(`refused: ${result.error}`);
  return result.name;
}

describe('protocol/handshake', () => {
  it('takes name and room from the query', () => {
    expect(parse('name=alice&room=dev')).to.deep.equal(accepted('alice', 'dev'));
    expect(parse('room=dev&name=al%20ice')).to.deep.equal(accepted('al ice', 'dev'));
    expect(parse('name=al+ice')).to.deep.equal(accepted('al ice', 'lobby'));
    expect(parse('name=%F0%9F%98%80')).to.deep.equal(accepted('😀', 'lobby'));
  });

  it('joins the default room when room is missing or empty', () => {
    expect(parse('name=alice')).to.deep.equal(accepted('alice', 'lobby'));
    expect(parse('name=alice&room=')).to.deep.equal(accepted('alice', 'lobby'));
    expect(parseHandshake('', { defaultRoom: 'hall', authenticated: false })).to.have.property('room', 'hall');
  });

  it('takes the first of a repeated parameter', () => {
    expect(parse('name=a&name=b&room=x&room=y')).to.deep.equal(accepted('a', 'x'));
    expect(parse(`name=a&since=p1&since=p2&client=${KEY}&client=${'b'.repeat(16)}`)).to.deep.equal(accepted('a', 'lobby', { since: 'p1', client: KEY }));
  });

  it('trims the name and removes control characters, white space they hid included', () => {
    expect(nameOf('name=%20%20alice%09%20')).to.equal('alice');
    expect(nameOf('name=al%00i%07ce%7F%C2%85')).to.equal('alice'); // NUL, BEL, DEL, C1 NEL
    expect(nameOf('name=%01%20bob%20%1B')).to.equal('bob');
    expect(nameOf('name=%E3%80%80bob%C2%A0')).to.equal('bob'); // ideographic space, no-break space
    expect(nameOf('name=a%20%20b')).to.equal('a  b');
  });

  it('picks anon-XXXX when the name is missing, empty, white space or control characters only', () => {
    for (const query of ['', 'room=dev', 'name=', 'name=%20%09%20', 'name=+++', 'name=%00%1F%7F']) {
      expect(nameOf(query), query).to.match(ANONYMOUS);
    }
    const names = new Set(Array.from({ length: 20 }, () => nameOf('')));
    expect(names.size, 'random names').to.be.greaterThan(1);
  });

  it('accepts names of 1 to 32 characters, counted in code points, and refuses longer ones', () => {
    expect(nameOf('name=x')).to.equal('x');
    expect(nameOf(`name=${'x'.repeat(32)}`)).to.equal('x'.repeat(32));
    expect(nameOf(`name=${encodeURIComponent('😀'.repeat(32))}`)).to.equal('😀'.repeat(32));
    expect(nameOf(`name=%20${'x'.repeat(32)}%20%00`)).to.equal('x'.repeat(32));
    for (const name of ['x'.repeat(33), '😀'.repeat(33)]) {
      expect(parse(`name=${encodeURIComponent(name)}`)).to.deep.equal({ error: 'name: longer than 32 characters' });
    }
  });

  it('refuses a room that is not a room name, with a one-line reason', () => {
    for (const room of ['-dev', 'a%20b', 'x'.repeat(65), '%C3%A9', 'a%2Fb', 'dev%0A']) {
      const result = parse(`name=alice&room=${room}`);
      expect(result, room).to.have.property('error').that.matches(/^room: [^\n]+$/);
    }
    expect(parse(`room=${'x'.repeat(64)}`)).to.have.property('room', 'x'.repeat(64));
  });

  it('takes since and client from the query, percent-decoded', () => {
    expect(parse(`name=alice&room=dev&since=1a2b3c4d:2s&client=${KEY}`)).to.deep.equal(accepted('alice', 'dev', { since: '1a2b3c4d:2s', client: KEY }));
    expect(parse('since=room.7%3A42')).to.include({ room: 'lobby', since: 'room.7:42', client: undefined });
    expect(parse(`client=${KEY}`)).to.include({ since: undefined, client: KEY });
    expect(parse(`since=${'p'.repeat(64)}&client=${'k'.repeat(64)}`)).to.include({ since: 'p'.repeat(64), client: 'k'.repeat(64) });
  });

  it('counts an empty since or client as absent', () => {
    expect(parse('name=alice&since=&client=')).to.deep.equal(accepted('alice', 'lobby'));
  });

  it('refuses a since that is not a position, with a one-line reason', () => {
    for (const since of ['p'.repeat(65), 'a%20b', 'a%2Fb', 'a+b', '%C3%A9', 'p%0A', '%F0%9F%98%80']) {
      expect(parse(`name=alice&since=${since}`), since).to.deep.equal({ error: POSITION_REASON });
    }
  });

  it('refuses a client key that is not 16 to 64 of A-Z a-z 0-9 _ -, with a one-line reason', () => {
    for (const client of ['k'.repeat(15), 'k'.repeat(65), `${'k'.repeat(15)}.`, `${'k'.repeat(16)}%20`, `${'k'.repeat(15)}%C3%A9`, `${'k'.repeat(16)}%0A`]) {
      expect(parse(`name=alice&client=${client}`), client).to.deep.equal({ error: CLIENT_KEY_REASON });
    }
  });

  it('reads no name on an authenticated connection: none is picked, and a long one is not refused', () => {
    const authenticated = (query: string) => parseHandshake(query, { defaultRoom: 'lobby', authenticated: true });
    expect(authenticated('name=alice&room=dev')).to.deep.equal({ name: '', room: 'dev', since: undefined, client: undefined });
    expect(authenticated(`name=${'x'.repeat(40)}`)).to.deep.include({ name: '', room: 'lobby' });
    expect(authenticated('')).to.deep.include({ name: '' });
  });

  it('checks name, then room, then since, then client', () => {
    const name = `name=${'x'.repeat(33)}`;
    const [room, since, client] = ['room=-bad', 'since=a%20b', 'client=short'];
    expect(parse([client, since, room, name].join('&'))).to.deep.equal({ error: 'name: longer than 32 characters' });
    expect(parse([client, since, room].join('&'))).to.have.property('error').that.matches(/^room: /);
    expect(parse([client, since].join('&'))).to.deep.equal({ error: POSITION_REASON });
    expect(parse(client)).to.deep.equal({ error: CLIENT_KEY_REASON });
  });

  it('never throws, and any name it gives is trimmed, free of control characters and 1 to 32 characters long, any since a position, any client a key', () => {
    expect(nameOf('name=%zz%')).to.equal('%zz%');
    expect(nameOf('name=%E0%A4%A')).to.equal('\ufffd%A');
    const query = fc.oneof(
      unicodeText({ maxLength: 60 }),
      unicodeText({ maxLength: 40 }).map((name) => `name=${encodeURIComponent(name)}`),
      fc.tuple(fc.constantFrom('since', 'client'), unicodeText({ maxLength: 70 })).map(([key, value]) => `${key}=${encodeURIComponent(value)}`),
      fc.tuple(fc.constantFrom('since', 'client'), fc.stringMatching(/^[A-Za-z0-9._:-]{0,70}$/)).map(([key, value]) => `${key}=${value}`),
    );
    fc.assert(
      fc.property(query, (query) => {
        const result = parse(query);
        if ('error' in result) {
          expect(result.error).to.not.include('\n');
        } else {
          expect(result.name).to.equal(result.name.trim()).and.not.match(/\p{Cc}/u);
          expect([...result.name].length).to.be.within(1, 32);
          if (result.since !== undefined) expect(isPosition(result.since), result.since).to.equal(true);
          if (result.client !== undefined) expect(isClientKey(result.client), result.client).to.equal(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('protocol/handshake checkUpgradeHeaders', () => {
  // RFC 6455 §1.3's sample key, and 16 random bytes as clients make them.
  const KEYS = ['dGhlIHNhbXBsZSBub25jZQ==', randomBytes(16).toString('base64'), 'AAAAAAAAAAAAAAAAAAAAAA==', '/+/+/+/+/+/+/+/+/+/+/w=='];
  const OUTDATED = { status: '426 Upgrade Required', reason: 'Sec-WebSocket-Version: expected 13' };
  const BAD_KEY = { status: '400 Bad Request', reason: 'Sec-WebSocket-Key: expected the base64 of 16 bytes' };

  it('passes version 13 with the base64 of 16 bytes as the key', () => {
    for (const key of KEYS) expect(checkUpgradeHeaders('13', key), key).to.equal(undefined);
  });

  it('answers 426 to a version other than 13, a missing one included, before looking at the key', () => {
    for (const version of ['', '8', '12', '14', '13, 8', '8, 13', '013', '13.0', ' 13', '13 ', 'thirteen']) {
      expect(checkUpgradeHeaders(version, KEYS[0]!), JSON.stringify(version)).to.deep.equal(OUTDATED);
    }
    expect(checkUpgradeHeaders('8', '')).to.deep.equal(OUTDATED);
  });

  it('answers 400 to a missing key', () => {
    expect(checkUpgradeHeaders('13', '')).to.deep.equal({ status: '400 Bad Request', reason: 'Sec-WebSocket-Key: missing' });
  });

  it('answers 400 to a key that is not the base64 of 16 bytes', () => {
    const sample = KEYS[0]!;
    const malformed = {
      '15 bytes': randomBytes(15).toString('base64'),
      '17 bytes': randomBytes(17).toString('base64'),
      '32 bytes': randomBytes(32).toString('base64'),
      'no padding': sample.slice(0, 22),
      'one =': sample.slice(0, 23),
      'stray bits before ==': `${sample.slice(0, 21)}B==`,
      'the URL-safe alphabet': '-_-_-_-_-_-_-_-_-_-_-w==',
      'a character not in base64': `${sample.slice(0, 21)}!==`,
      'a space inside': `${sample.slice(0, 10)} ${sample.slice(11)}`,
      'a trailing space': `${sample} `,
      '16 bytes as hex': randomBytes(16).toString('hex'),
      'one character': 'x',
    };
    for (const [why, key] of Object.entries(malformed)) expect(checkUpgradeHeaders('13', key), `${why}: ${key}`).to.deep.equal(BAD_KEY);
  });

  it('passes exactly the keys that are 16 bytes in base64', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 24 }), (bytes) => {
        const key = Buffer.from(bytes).toString('base64');
        expect(checkUpgradeHeaders('13', key), key).to.deep.equal(bytes.length === 16 ? undefined : key === '' ? { status: '400 Bad Request', reason: 'Sec-WebSocket-Key: missing' } : BAD_KEY);
      }),
    );
  });
});
