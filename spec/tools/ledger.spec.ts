import { expect } from 'chai';
import { Ledger, type Violation, describeVerdict } from '../../tools/traffic/ledger';

/** A ledger with receivers a and b in room r; `a` says a:0 and a:1, both acked (m0, m1) on one socket, answered. */
function chatted(): Ledger {
  const ledger = new Ledger();
  ledger.addReceiver('a', 'r');
  ledger.addReceiver('b', 'r');
  const socket = ledger.socket('a');
  for (const n of [0, 1]) {
    const settle = ledger.said('a', 'r', n);
    socket.sent({ type: 'say', id: `s${n}` });
    socket.answered(`s${n}`);
    settle({ acked: `m${n}` });
  }
  return ledger;
}

function deliverAll(ledger: Ledger, receivers = ['a', 'b']): void {
  for (const receiver of receivers) for (const n of [0, 1]) ledger.heard(receiver, { msgId: `m${n}`, text: `a:${n}` });
}

const rules = (ledger: Ledger): string[] => ledger.verdict().violations.map(({ rule, detail }: Violation) => `${rule}: ${detail}`);

describe('the traffic ledger', () => {
  it('finds no rule broken when every acked say reached every receiver once, in order', () => {
    const ledger = chatted();
    deliverAll(ledger);
    expect(ledger.verdict()).to.deep.equal({ says: 2, acked: 2, failed: {}, deliveries: 4, gaps: 0, violations: [] });
    expect(describeVerdict(ledger.verdict())).to.equal('2 says: 2 acked, failed: none; 4 deliveries; 0 gaps\nno rule broken');
  });

  it('finds an acked say that never reached a receiver of its room, its sender included', () => {
    const ledger = chatted();
    ledger.heard('a', { msgId: 'm0', text: 'a:0' });
    ledger.heard('b', { msgId: 'm0', text: 'a:0' });
    ledger.heard('b', { msgId: 'm1', text: 'a:1' });
    expect(rules(ledger)).to.deep.equal(['missing: a (in r) never got a:1 (m1)']);
  });

  it('does not count a say as missing in another room, nor after a gap was told', () => {
    const ledger = chatted();
    ledger.addReceiver('elsewhere', 'other');
    ledger.addReceiver('gapped', 'r');
    ledger.gap('gapped');
    deliverAll(ledger);
    expect(rules(ledger)).to.deep.equal([]);
    expect(ledger.verdict().gaps).to.equal(1);
  });

  it('does not count a say as missing for a receiver that left, and still finds one it heard twice', () => {
    const ledger = chatted();
    ledger.addReceiver('churned', 'r');
    deliverAll(ledger);
    ledger.heard('churned', { msgId: 'm0', text: 'a:0' });
    ledger.heard('churned', { msgId: 'm0', text: 'a:0' });
    ledger.left('churned');
    expect(rules(ledger)).to.deep.equal(['duplicate: churned got m0 2×']);
  });

  it('finds a message heard twice, by msgId, and a say taken twice under two msgIds', () => {
    const ledger = chatted();
    deliverAll(ledger);
    ledger.heard('b', { msgId: 'm1', text: 'a:1' });
    ledger.heard('a', { msgId: 'm1-again', text: 'a:1' });
    expect(rules(ledger)).to.deep.equal(['duplicate: b got m1 2×', 'duplicate: a heard a:1 twice, as m1 and m1-again']);
  });

  it("finds a sender's messages heard out of order", () => {
    const ledger = chatted();
    ledger.heard('a', { msgId: 'm0', text: 'a:0' });
    ledger.heard('a', { msgId: 'm1', text: 'a:1' });
    ledger.heard('b', { msgId: 'm1', text: 'a:1' });
    ledger.heard('b', { msgId: 'm0', text: 'a:0' });
    expect(rules(ledger)).to.deep.equal(['order: b heard a:0 after a:1']);
  });

  it('keeps each sender apart whatever its name and n, and leaves texts that are no sender:n out of the order', () => {
    const ledger = new Ledger();
    ledger.addReceiver('r', 'room');
    for (const [msgId, text] of [['m1', 'chatter-12:10'], ['m2', 'hello'], ['m3', 'chatter-1:9'], ['m4', 'chatter-1:8 and more'], ['m5', 'chatter-12:11']]) ledger.heard('r', { msgId: msgId!, text: text! });
    expect(rules(ledger)).to.deep.equal([]);
    expect(ledger.verdict().deliveries).to.equal(5);
    ledger.heard('r', { msgId: 'm6', text: 'chatter-12:9' });
    ledger.heard('r', { msgId: 'm7', text: 'chatter-1:10' });
    expect(rules(ledger)).to.deep.equal(['order: r heard chatter-12:9 after chatter-12:11']);
  });

  it('measures the order against the highest n heard, not the last', () => {
    const ledger = new Ledger();
    ledger.addReceiver('b', 'r');
    for (const n of [2, 0, 1]) ledger.heard('b', { msgId: `m${n}`, text: `a:${n}` });
    expect(rules(ledger)).to.deep.equal(['order: b heard a:0 after a:2', 'order: b heard a:1 after a:2']);
  });

  it('allows a failed say to be missing, or to arrive, and counts failures by code', () => {
    const ledger = chatted();
    ledger.said('a', 'r', 2)({ failed: 'timeout' });
    ledger.said('a', 'r', 3)({ failed: 'timeout' });
    ledger.said('a', 'r', 4)({ failed: 'unavailable' });
    deliverAll(ledger);
    ledger.heard('b', { msgId: 'm3', text: 'a:3' });
    const verdict = ledger.verdict();
    expect(verdict.violations).to.deep.equal([]);
    expect(verdict).to.include({ says: 5, acked: 2, deliveries: 5 });
    expect(verdict.failed).to.deep.equal({ timeout: 2, unavailable: 1 });
    expect(describeVerdict(verdict)).to.match(/^5 says: 2 acked, failed: 2 timeout, 1 unavailable; 5 deliveries/);
  });

  it('finds a say that never settled', () => {
    const ledger = chatted();
    ledger.said('a', 'r', 2);
    deliverAll(ledger);
    expect(rules(ledger)).to.deep.equal(['unsettled: a:2 never settled']);
  });

  it('refuses to settle a say twice, and a receiver it does not know', () => {
    const ledger = new Ledger();
    const settle = ledger.said('a', 'r', 0);
    settle({ acked: 'm0' });
    expect(() => settle({ failed: 'timeout' })).to.throw('a:0 settled twice');
    expect(() => ledger.heard('nobody', { msgId: 'm0', text: 'a:0' })).to.throw('nobody is not a receiver');
    ledger.addReceiver('a', 'r');
    expect(() => ledger.addReceiver('a', 'r')).to.throw('receiver a is already in the ledger');
  });

  describe('answers on the wire', () => {
    it('wants one answer per send of a say on a socket that stayed open', () => {
      const ledger = new Ledger();
      const socket = ledger.socket('a');
      socket.sent({ type: 'say', id: 's0' });
      socket.sent({ type: 'say', id: 's0' }); // resent after a timeout on the same socket
      socket.answered('s0');
      socket.sent({ type: 'say', id: 's1' });
      expect(rules(ledger)).to.deep.equal(['unanswered: a sent s0 2× on a socket still open, 1 answered', 'unanswered: a sent s1 1× on a socket still open, 0 answered']);
      socket.answered('s0');
      socket.closed();
      expect(rules(ledger), 'a closed socket owes nothing').to.deep.equal([]);
    });

    it('finds a say answered twice, or an answer to a say never sent on that socket', () => {
      const ledger = new Ledger();
      const first = ledger.socket('a');
      first.sent({ type: 'say', id: 's0' });
      first.answered('s0');
      first.answered('s0');
      const second = ledger.socket('a');
      second.answered('s1');
      expect(rules(ledger)).to.deep.equal(['answered twice: a got 2 answers to 1 sends of s0 on one socket', 'unasked answer: a got an answer to s1, never sent on that socket']);
    });

    it("ignores the answers to requests other than says, and requests without an id", () => {
      const ledger = new Ledger();
      const socket = ledger.socket('a');
      socket.sent({ type: 'ping', id: 'p0' });
      socket.sent({ type: 'join', id: 'j0' });
      socket.sent({ type: 'typing' });
      socket.sent({ type: 'ping', id: 'p1' }); // its pong still on the way
      socket.answered('p0');
      socket.answered('j0');
      expect(rules(ledger)).to.deep.equal([]);
    });
  });

  it('lists 20 violations without a count of more', () => {
    const ledger = new Ledger();
    for (let n = 0; n < 20; n++) ledger.said('a', 'r', n);
    expect(describeVerdict(ledger.verdict()).split('\n')).to.have.length(1 + 1 + 20);
  });

  it('lists the first 20 violations and counts the rest', () => {
    const ledger = new Ledger();
    for (let n = 0; n < 25; n++) ledger.said('a', 'r', n);
    const description = describeVerdict(ledger.verdict());
    expect(description.split('\n')).to.have.length(1 + 1 + 20 + 1);
    expect(description).to.contain('25 rules broken:').and.to.contain('  unsettled: a:19 never settled').and.to.match(/\.\.\. and 5 more$/);
    expect(description).not.to.contain('a:20 never');
  });
});
