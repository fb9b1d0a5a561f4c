import { expect } from 'chai';
import { type ExitReason, KilledOnPurpose, formatReason, isOrderlyExit } from '../../lib/otp/exit_reason';

describe('exit reasons', () => {
  it('are orderly for normal, shutdown and {shutdown, Detail}, and crashes otherwise', () => {
    const orderly: ExitReason[] = ['normal', 'shutdown', { shutdown: 'closing' }];
    const crashes: ExitReason[] = ['killed', 'noproc', new Error('boom'), new KilledOnPurpose('/a')];
    expect(orderly.map(isOrderlyExit)).to.deep.equal([true, true, true]);
    expect(crashes.map(isOrderlyExit)).to.deep.equal([false, false, false, false]);
  });

  it('read as the atom, the error\'s name and message, or shutdown: Detail', () => {
    expect(['normal', 'killed', new TypeError('bad'), new KilledOnPurpose('/a/b'), { shutdown: 'closing' }].map((reason) => formatReason(reason as ExitReason))).to.deep.equal([
      'normal',
      'killed',
      'TypeError: bad',
      'KilledOnPurpose: /a/b was crashed on purpose',
      'shutdown: closing',
    ]);
  });
});
