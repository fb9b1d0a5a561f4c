import { expect } from 'chai';
import { daemonCommands, parseBrokerArgs } from './broker-cli';

describe('npm run broker (spec/support/broker-cli.ts)', () => {
  it('runs one node without arguments, a cluster of N with --cluster N (2 to 9), and refuses anything else with the usage', () => {
    expect(parseBrokerArgs([])).to.equal(1);
    expect(parseBrokerArgs(['--cluster', '3'])).to.equal(3);
    expect(parseBrokerArgs(['--cluster', '2'])).to.equal(2);
    for (const argv of [['--cluster'], ['--cluster', '1'], ['--cluster', '10'], ['--cluster', 'three'], ['--cluster', '2.5'], ['--nodes', '3'], ['--cluster', '3', '--cluster']]) {
      expect(() => parseBrokerArgs(argv), argv.join(' ')).to.throw('usage: npm run broker [-- --cluster N]');
    }
  });

  it('shows two daemons on their own ports, each listing every node from a different first one', () => {
    const nodes = ['amqp://n1', 'amqp://n2', 'amqp://n3'];
    const urls = (first: number) => nodes.map((_, i) => nodes[(first + i) % nodes.length]!);
    expect(daemonCommands(urls)).to.deep.equal([
      'PORT=8081 ADMIN_PORT=8082 AMQP_URL=amqp://n1,amqp://n2,amqp://n3 npm start',
      'PORT=9081 ADMIN_PORT=9082 AMQP_URL=amqp://n2,amqp://n3,amqp://n1 npm start',
    ]);
  });
});
