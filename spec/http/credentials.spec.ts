import { expect } from 'chai';
import { offeredToken, selectedProtocol } from '../../lib/http/credentials';

const request = (fields: { protocols?: string; authorization?: string; query?: string }) => ({ protocols: '', authorization: '', query: '', ...fields });

describe('http/credentials', () => {
  describe('offeredToken', () => {
    it('takes the token from the warren.bearer. subprotocol, wherever it is in the list', () => {
      expect(offeredToken(request({ protocols: 'warren.v2, warren.bearer.a.b.c' }), false)).to.deep.equal({ token: 'a.b.c' });
      expect(offeredToken(request({ protocols: 'warren.bearer.a.b.c,warren.v2' }), false)).to.deep.equal({ token: 'a.b.c' });
      expect(offeredToken(request({ protocols: 'other, warren.bearer.x' }), false)).to.deep.equal({ token: 'x' });
    });

    it('takes Authorization: Bearer, the scheme in any case', () => {
      expect(offeredToken(request({ authorization: 'Bearer a.b.c' }), false)).to.deep.equal({ token: 'a.b.c' });
      expect(offeredToken(request({ authorization: 'bearer   a.b.c ' }), false)).to.deep.equal({ token: 'a.b.c' });
      for (const authorization of ['Basic YWxpY2U6cHc=', 'Bearer', 'Bearer a b', 'Bearera.b.c', 'NotBearer a.b.c', 'Basic x, Bearer a.b.c']) {
        expect(offeredToken(request({ authorization }), false), authorization).to.deep.equal({ missing: 'token missing' });
      }
    });

    it('prefers the subprotocol to the header, and the header to the query', () => {
      expect(offeredToken(request({ protocols: 'warren.bearer.p', authorization: 'Bearer h', query: 'token=q' }), true)).to.deep.equal({ token: 'p' });
      expect(offeredToken(request({ authorization: 'Bearer h', query: 'token=q' }), true)).to.deep.equal({ token: 'h' });
    });

    it('takes ?token= only when allowed, and says why it did not', () => {
      expect(offeredToken(request({ query: 'room=a&token=q.r.s' }), true)).to.deep.equal({ token: 'q.r.s' });
      expect(offeredToken(request({ query: 'room=a&token=q.r.s' }), false)).to.deep.equal({ missing: 'token in the URL not accepted: send it as a subprotocol' });
      expect(offeredToken(request({ query: 'token=' }), true)).to.deep.equal({ missing: 'token missing' });
      expect(offeredToken(request({ query: 'mytoken=x' }), true)).to.deep.equal({ missing: 'token missing' });
    });

    it('finds no token in an empty bearer protocol, nor anywhere in an empty request', () => {
      expect(offeredToken(request({ protocols: 'warren.v2, warren.bearer.' }), false)).to.deep.equal({ missing: 'token missing' });
      expect(offeredToken(request({}), true)).to.deep.equal({ missing: 'token missing' });
    });
  });

  describe('selectedProtocol', () => {
    it('is warren.v2 when offered, wherever it is, and never the token', () => {
      expect(selectedProtocol('warren.v2')).to.equal('warren.v2');
      expect(selectedProtocol('warren.bearer.a.b.c, warren.v2')).to.equal('warren.v2');
      expect(selectedProtocol(' warren.v2 ,chat')).to.equal('warren.v2');
    });

    it('is none when warren.v2 was not offered', () => {
      for (const offer of ['', 'warren.bearer.a.b.c', 'chat, superchat', 'warren.v1', 'warren.v20']) expect(selectedProtocol(offer), offer).to.equal('');
    });
  });
});
