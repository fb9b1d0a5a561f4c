/**
 * Starting the daemon (PROTOCOL.md, "Starting the daemon"): a bad value or
 * a broker that never answers makes it exit non-zero naming the setting.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { loadConfig } from '../../lib/config';
import { CONFIG_DIR } from '../../lib/paths';
import { fetchTree } from '../support/admin';
import { Daemon, type DaemonOptions } from '../support/daemon';

async function exitOf(options: DaemonOptions): Promise<{ code: number | null; stderr: string }> {
  const daemon = Daemon.spawn(options);
  const { code } = await daemon.exited;
  return { code, stderr: daemon.stderr.join('\n') };
}

describe('starting the daemon', function () {
  this.timeout(30_000);

  for (const [env, setting] of [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ ADMIN_HOST: '0.0.0.0' }, 'ADMIN_TOKEN'],
    [{ AMQP_URL: 'http://example' }, 'AMQP_URL'],
  ] as const) {
    it(`exits non-zero naming ${setting} for ${JSON.stringify(env)}`, async () => {
      const { code, stderr } = await exitOf({ env });
      expect(code).to.equal(1);
      expect(stderr).to.match(new RegExp(`^warren: .*${setting}`));
    });
  }

  it('exits non-zero naming PORT when the port is taken', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const { code, stderr } = await exitOf({ env: { PORT: String(port) } });
      expect(code).to.equal(1);
      expect(stderr).to.include(`PORT: cannot listen on 127.0.0.1:${port}`);
    } finally {
      server.close();
    }
  });

  describe('on a RabbitMQ that never answers', () => {
    const { startupTimeoutMs } = loadConfig({ env: { NODE_ENV: 'test' }, argv: [], configDir: CONFIG_DIR }).broker;
    // An attempt is cut at the deadline; what is left is timer lag on a loaded machine.
    const overrunMs = 3_000;
    let silent: Server;
    const held: Socket[] = [];
    before(async () => {
      silent = createServer((socket) => held.push(socket)).listen(0, '127.0.0.1');
      await once(silent, 'listening');
    });
    after(() => {
      for (const socket of held) socket.destroy();
      silent.close();
    });

    for (const [what, port] of [
      ['refuses connections', () => 1],
      ['accepts connections and stays silent', () => (silent.address() as AddressInfo).port],
    ] as const) {
      it(`gives up on one that ${what} after broker.startupTimeoutMs, naming AMQP_URL without its password`, async function () {
        this.timeout(startupTimeoutMs + overrunMs + 30_000);
        const daemon = Daemon.spawn({ amqpUrl: `amqp://guest:guest@127.0.0.1:${port()}` });
        const { code } = await daemon.exited;
        expect(code).to.equal(1);
        expect(daemon.stderr.join('\n')).to.match(/^warren: .*AMQP_URL/).and.not.match(/guest:guest/);
        // The daemon's own clock, from its start to its giving up.
        const at = (msg: string) => Date.parse(String(daemon.logs.find((line) => line.msg.startsWith(msg))?.['time']));
        const tried = at('warren could not start') - at('warren starting');
        expect(tried).to.be.at.least(startupTimeoutMs).and.below(startupTimeoutMs + overrunMs);
      });
    }
  });

  it('prints its settings for --help and exits 0', async () => {
    const daemon = Daemon.spawn({ args: ['--help'] });
    const { code } = await daemon.exited;
    expect(code).to.equal(0);
    const help = daemon.logs.map((line) => line.msg).join('\n');
    for (const name of ['PORT', 'HOST', 'ADMIN_PORT', 'ADMIN_HOST', 'ADMIN_TOKEN', 'AMQP_URL', 'LOG_LEVEL']) expect(help).to.include(name);
  });

  it('says in one log line that it runs on the in-process broker when no AMQP_URL is set', async () => {
    const daemon = await Daemon.start();
    try {
      await daemon.waitForLog((line) => line.msg.startsWith('no AMQP_URL: using the in-process broker'));
    } finally {
      await daemon.stop();
    }
  });
});

describe('on the uWebSockets.js JavaScript fallback', function () {
  this.timeout(30_000);

  it('says so loudly, and shows it in /readyz (503: it cannot serve websockets) and /debug/tree', async () => {
    const daemon = await Daemon.start({ env: { UWS_USE_FALLBACK: '1' } });
    try {
      const loud = await daemon.waitForLog((line) => line.msg.startsWith('uWebSockets.js runs its JavaScript fallback'));
      expect(loud.level).to.equal(50);
      const ready = await fetch(daemon.url('/readyz'));
      expect(ready.status).to.equal(503);
      expect(await ready.json()).to.include({ uws: 'fallback', broker: 'connected' });
      const { tree } = await fetchTree(daemon);
      expect(tree.children.find((child) => child.behaviour === 'listener')!.info).to.include({ uws: 'fallback' });
    } finally {
      await daemon.stop();
    }
  });
});
