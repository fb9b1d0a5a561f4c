import { expect } from 'chai';
import fc from 'fast-check';
import { parseHandshake } from '../../lib/protocol/handshake';
import { unicodeText } from './arbitraries';

const parse = (query: string) => parseHandshake(query, { defaultRoom: 'lobby' });
const ANONYMOUS = /^anon-[0-9a-f]{4}$/;

function nameOf(query: string): string {
  const result = parse(query);
  if ('error' in result) return expect.fail(`refused: ${result.error}`);
  return result.name;
}

describe('protocol/handshake', () => {
  it('takes name and room from the query', () => {
    expect(parse('name=alice&room=dev')).to.deep.equal({ name: 'alice', room: 'dev' });
    expect(parse('room=dev&name=al%20ice')).to.deep.equal({ name: 'al ice', room: 'dev' });
    expect(parse('name=al+ice')).to.deep.equal({ name: 'al ice', room: 'lobby' });
    expect(parse('name=%F0%9F%98%80')).to.deep.equal({ name: '😀', room: 'lobby' });
  });

  it('joins the default room when room is missing or empty', () => {
    expect(parse('name=alice')).to.deep.equal({ name: 'alice', room: 'lobby' });
    expect(parse('name=alice&room=')).to.deep.equal({ name: 'alice', room: 'lobby' });
    expect(parseHandshake('', { defaultRoom: 'hall' })).to.have.property('room', 'hall');
  });

  it('takes the first of a repeated parameter', () => {
    expect(parse('name=a&name=b&room=x&room=y')).to.deep.equal({ name: 'a', room: 'x' });
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

  it('never throws, and any name it gives is trimmed, free of control characters and 1 to 32 characters long', () => {
    expect(nameOf('name=%zz%')).to.equal('%zz%');
    expect(nameOf('name=%E0%A4%A')).to.equal('\ufffd%A');
    const query = fc.oneof(
      unicodeText({ maxLength: 60 }),
      unicodeText({ maxLength: 40 }).map((name) => `name=${encodeURIComponent(name)}`),
    );
    fc.assert(
      fc.property(query, (query) => {
        const result = parse(query);
        if ('error' in result) {
          expect(result.error).to.not.include('\n');
        } else {
          expect(result.name).to.equal(result.name.trim()).and.not.match(/\p{Cc}/u);
          expect([...result.name].length).to.be.within(1, 32);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
