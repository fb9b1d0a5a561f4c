import { expect } from 'chai';
import { CHROMIUM_PACKAGE, plan, RABBITMQ_PACKAGE } from './system_packages';

describe('the Debian packages the specs need', function () {
  const root = { root: true, aptGet: true };

  it('does nothing when none is missing, root or not', function () {
    expect(plan([], root)).to.deep.equal({ action: 'none' });
    expect(plan([], { root: false, aptGet: false })).to.deep.equal({ action: 'none' });
  });

  it('installs only the missing ones as root with apt-get', function () {
    expect(plan([CHROMIUM_PACKAGE], root)).to.deep.equal({ action: 'install', packages: [CHROMIUM_PACKAGE] });
  });

  it('stops with one line naming the package, why it cannot install it, and the command', function () {
    const notRoot = plan([CHROMIUM_PACKAGE], { root: false, aptGet: true });
    expect(notRoot).to.deep.equal({
      action: 'stop',
      line:
        `warren's specs need Debian's chromium (${CHROMIUM_PACKAGE.path} is missing, for the browser specs), ` +
        'and cannot install it here (not root): as root, apt-get install chromium',
    });
    const noAptGet = plan([CHROMIUM_PACKAGE], { root: true, aptGet: false });
    expect(noAptGet).to.have.property('line').that.includes('(apt-get is not on PATH): as root, apt-get install chromium');
  });

  it('names every missing package in the one line, RabbitMQ as needed with AMQP_URL too', function () {
    const stop = plan([RABBITMQ_PACKAGE, CHROMIUM_PACKAGE], { root: false, aptGet: false });
    expect(stop).to.deep.equal({
      action: 'stop',
      line:
        `warren's specs need Debian's rabbitmq-server (${RABBITMQ_PACKAGE.path} is missing, for the integration specs, AMQP_URL or not) ` +
        `and chromium (${CHROMIUM_PACKAGE.path} is missing, for the browser specs), ` +
        'and cannot install them here (not root): as root, apt-get install rabbitmq-server chromium',
    });
  });
});
