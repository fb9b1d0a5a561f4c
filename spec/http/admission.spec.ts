import { expect } from 'chai';
import fc from 'fast-check';
import { ConnectionAdmission, type Refusal } from '../../lib/http/admission';

const LIMITS = { maxConnections: 1000, connectRate: 10 };
const RATE_REFUSAL: Refusal = { reason: 'connect_rate', retryAfterSeconds: 1 };

/** How many of `count` upgrades at `nowMs` are admitted, with `open` sockets each time. */
function admitted(admission: ConnectionAdmission, count: number, nowMs: number, open = 0): number {
  return Array.from({ length: count }, () => admission.admit(open, nowMs)).filter((refusal) => refusal === undefined).length;
}

describe('http/admission', () => {
  it('admits a burst of twice the connect rate at once, then refuses with Retry-After 1', () => {
    const admission = new ConnectionAdmission(LIMITS);
    expect(admitted(admission, 20, 5_000)).to.equal(20);
    expect(admission.admit(0, 5_000)).to.deep.equal(RATE_REFUSAL);
    expect(admitted(admission, 100, 5_000)).to.equal(0);
  });

  it('refills connectRate tokens per second, up to the burst', () => {
    const admission = new ConnectionAdmission(LIMITS);
    admitted(admission, 20, 0);
    expect(admission.admit(0, 99)).to.deep.equal(RATE_REFUSAL);
    expect(admission.admit(0, 100)).to.equal(undefined);
    expect(admitted(admission, 20, 1_100)).to.equal(10);
    expect(admitted(admission, 100, 3_600_000)).to.equal(20);
  });

  it('admits connectRate new sockets per second sustained, and no more', () => {
    const admission = new ConnectionAdmission({ maxConnections: 1000, connectRate: 50 });
    admitted(admission, 100, 0);
    for (let t = 20; t <= 10_000; t += 20) {
      expect(admission.admit(0, t), `at ${t} ms`).to.equal(undefined);
      expect(admission.admit(0, t), `a second one at ${t} ms`).to.deep.equal(RATE_REFUSAL);
    }
  });

  it('counts whole milliseconds, so that the refill is exact', () => {
    const admission = new ConnectionAdmission({ maxConnections: 1000, connectRate: 3 });
    admitted(admission, 6, 0.5);
    // A token takes 333.33 ms at 3 per second: 333 whole ms are 999 thousandths of one.
    expect(admission.admit(0, 333.9)).to.deep.equal(RATE_REFUSAL);
    expect(admission.admit(0, 334)).to.equal(undefined);
    expect(admission.admit(0, 667.9), 'with the thousandths left over').to.equal(undefined);
  });

  it('refuses at maxConnections open sockets, whatever the tokens, and takes none', () => {
    const admission = new ConnectionAdmission({ maxConnections: 5, connectRate: 10 }, () => 0);
    expect(admission.admit(4, 0)).to.equal(undefined);
    for (const open of [5, 6, 1_000_000]) expect(admission.admit(open, 0), `${open} open`).to.deep.equal({ reason: 'max_connections', retryAfterSeconds: 1 });
    expect(admitted(admission, 100, 0, 5)).to.equal(0);
    expect(admitted(admission, 100, 0, 4), 'the tokens left').to.equal(19);
  });

  it('takes no token for an upgrade refused for the rate', () => {
    const admission = new ConnectionAdmission(LIMITS);
    admitted(admission, 20, 0);
    expect(admitted(admission, 1000, 50)).to.equal(0);
    expect(admission.admit(0, 100), 'the token of 100 ms').to.equal(undefined);
  });

  it('reports max_connections when both limits are reached', () => {
    const admission = new ConnectionAdmission({ maxConnections: 5, connectRate: 1 }, () => 0);
    admitted(admission, 2, 0);
    expect(admission.admit(0, 0)).to.deep.equal(RATE_REFUSAL);
    expect(admission.admit(5, 0)).to.have.property('reason', 'max_connections');
  });

  it('spreads the Retry-After of a full node over 1 to 5 s', () => {
    const retryAfter = (random: number) => new ConnectionAdmission({ maxConnections: 1, connectRate: 1 }, () => random).admit(1, 0)?.retryAfterSeconds;
    expect([0, 0.1999, 0.2, 0.5, 0.7999, 0.8, 0.999999].map(retryAfter)).to.deep.equal([1, 1, 2, 3, 4, 5, 5]);
    const full = new ConnectionAdmission({ maxConnections: 1, connectRate: 1 });
    const seen = new Set(Array.from({ length: 500 }, () => full.admit(1, 0)?.retryAfterSeconds));
    expect([...seen].sort()).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('neither takes credit away nor refills when the clock goes back', () => {
    const admission = new ConnectionAdmission(LIMITS);
    admitted(admission, 20, 10_000);
    expect(admitted(admission, 5, 11_000)).to.equal(5);
    expect(admitted(admission, 10, 1_000), 'the five tokens left, at an earlier time').to.equal(5);
    expect(admission.admit(0, 11_000), 'nothing refilled since 11 s').to.deep.equal(RATE_REFUSAL);
    expect(admission.admit(0, 11_100)).to.equal(undefined);
  });

  it('never admits more than the burst plus the rate times the time passed', () => {
    const step = fc.record({ advanceMs: fc.integer({ min: 0, max: 400 }), count: fc.integer({ min: 0, max: 30 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(step, { maxLength: 30 }), (connectRate, steps) => {
        const admission = new ConnectionAdmission({ maxConnections: 1000, connectRate });
        let now = 0;
        let total = 0;
        for (const { advanceMs, count } of steps) {
          now += advanceMs;
          total += admitted(admission, count, now);
          expect(total).to.be.at.most(2 * connectRate + Math.floor((now * connectRate) / 1000));
        }
      }),
    );
  });
});
