/**
 * The admin port (PROTOCOL.md, "Admin port"), metrics and logs, against the
 * daemon as users run it.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { fetchTree, killActor } from '../support/admin';
import { ChatClient } from '../support/client';
import { Daemon } from '../support/daemon';
import { eventually } from '../support/eventually';
import { freePorts } from '../support/free_ports';
import { useDaemon } from '../support/lifecycle';
import { parseMetrics } from '../support/metrics';

describe('the admin port', function () {
  this.timeout(30_000);

  describe('on loopback without a token', () => {
    const daemon = useDaemon();

    it('answers /debug/tree with the node, its start and the tree of PROTOCOL.md', async () => {
      const { node, startedAt, tree } = await fetchTree(daemon());
      const client = await ChatClient.connect(daemon().wsUrl());
      expect(node).to.equal(client.welcome['node']);
      expect(new Date(startedAt).getTime()).to.be.closeTo(Date.now(), 60_000);
      expect(tree).to.include({ name: 'warren_sup', path: '/warren_sup', kind: 'supervisor', behaviour: 'supervisor', strategy: 'rest_for_one' });
      expect(tree.children.map((child) => child.behaviour)).to.deep.equal(['relay', 'broker', 'presence', 'supervisor', 'listener', 'sampler']);
      const brokerInfo = tree.children[1]!.info;
      expect(brokerInfo).to.include({ kind: 'local', state: 'connected' });
      expect(tree.children[4]!.info).to.include({ uws: 'native' });
    });

    it('serves the observer page at /debug', async () => {
      const response = await fetch(daemon().adminUrl('/debug'));
      expect(response.status).to.equal(200);
      expect(await response.text()).to.include('observer');
    });

    it('answers 400 for a kill without a path', async () => {
      expect((await fetch(daemon().adminUrl('/debug/kill'), { method: 'POST' })).status).to.equal(400);
    });

    it('exposes Prometheus metrics that move when traffic flows', async () => {
      const scrape = async () => {
        const response = await fetch(daemon().adminUrl('/metrics'));
        expect(response.headers.get('content-type')).to.include('text/plain');
        return parseMetrics(await response.text());
      };
      const before = await scrape();
      const alice = await ChatClient.connect(daemon().wsUrl('name=alice&room=metrics'));
      const bob = await ChatClient.connect(daemon().wsUrl('name=bob&room=metrics'));
      alice.send({ type: 'say', text: 'counted', id: 'm' });
      await bob.next('message', { text: 'counted' });
      await alice.next('ack', { id: 'm' });
      const after = await scrape();
      const grew = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
      expect(after.get('warren_connections')).to.be.at.least(2);
      expect(grew('warren_frames_in_total{type="say"}')).to.equal(1);
      expect(grew('warren_frames_out_total{type="ack"}')).to.equal(1);
      expect(grew('warren_deliveries_total')).to.equal(2);
      expect(grew('warren_publishes_total{outcome="acked"}')).to.equal(1);
      expect(grew('warren_publish_confirm_seconds_count')).to.equal(1);
      expect(after.get('warren_broker_state{state="connected"}')).to.equal(1);
      expect(after.has('warren_relay_mailbox')).to.equal(true);
      expect(grew('warren_history_messages')).to.equal(1);
      expect(grew('warren_history_bytes')).to.be.above(0);
      expect(after.has('warren_nodejs_eventloop_lag_seconds')).to.equal(true);
      expect(after.has('warren_process_cpu_seconds_total')).to.equal(true);
      await killActor(daemon(), '/warren_sup/listener');
      await eventually(async () => expect((await scrape()).get('warren_restarts_total{behaviour="listener"}')).to.equal(1));
    });

    it('logs one line per lifecycle event: start with the config, broker state, restarts with their reason; no chat text', async () => {
      const starting = daemon().logs.find((line) => line.msg === 'warren starting')!;
      expect(starting['config']).to.include({ port: 0, broker: 'in-process', adminToken: 'none' });
      expect(daemon().logs.map((line) => line.msg)).to.include('broker connected');
      const text = `never logged ${randomUUID()}`;
      const client = await ChatClient.connect(daemon().wsUrl('name=quiet&room=unlogged'));
      client.send({ type: 'say', text, id: 'q' });
      client.send(text);
      await client.collect('message', 2);
      await killActor(daemon(), '/warren_sup/relay');
      const restarted = await daemon().waitForLog((line) => line.msg.startsWith('/warren_sup/relay restarted'));
      const reason = 'KilledOnPurpose: /warren_sup/relay was crashed on purpose';
      expect(restarted).to.include({ level: 40, reason });
      expect(restarted.msg).to.include(`after: ${reason}`);
      // Whole lines, whatever key a text might hide under.
      const leaks = [...daemon().logs.map((line) => JSON.stringify(line)), ...daemon().stderr].filter((line) => line.includes(text));
      expect(leaks).to.be.empty;
    });
  });

  describe('with ADMIN_TOKEN', () => {
    const daemon = useDaemon(undefined, { env: { ADMIN_TOKEN: 's3cret-token' } });

    for (const path of ['/debug', '/debug/tree', '/metrics', '/debug/top?by=rate', '/debug/actor?path=/warren_sup/relay', '/debug/history']) {
      it(`answers 401 on ${path} without the bearer token, or with a wrong one, and 200 with it`, async () => {
        expect((await fetch(daemon().adminUrl(path))).status).to.equal(401);
        expect((await fetch(daemon().adminUrl(path), { headers: { authorization: 'Bearer nope' } })).status).to.equal(401);
        expect((await fetch(daemon().adminUrl(path), { headers: { authorization: 'Bearer s3cret-token' } })).status).to.equal(200);
      });
    }

    it('answers 401 to a trace without the token, and traces nothing; with it, streams', async () => {
      const trace = (init: RequestInit = {}) => fetch(daemon().adminUrl('/debug/trace?path=/warren_sup/sampler&count=1'), { method: 'POST', ...init });
      const refused = await trace({ headers: { authorization: 'Bearer nope' } });
      expect(refused.status).to.equal(401);
      const streamed = await trace({ headers: { authorization: 'Bearer s3cret-token' } });
      expect(streamed.status, 'not 409: the refused one never started').to.equal(200);
      expect(await streamed.text()).to.include('event: end\ndata: {"reason":"count","traced":1}');
    });

    it('answers 401 to a kill without the token, and kills nothing', async () => {
      expect((await killActor(daemon(), '/warren_sup/relay')).status).to.equal(401);
      const { tree } = await fetchTree(daemon(), { headers: { authorization: 'Bearer s3cret-token' } });
      expect(tree.children[0]!.restarts).to.equal(0);
    });

    it('never logs the token', () => {
      expect(JSON.stringify(daemon().logs)).not.to.include('s3cret-token');
    });
  });

  it('respects LOG_LEVEL: at warn it logs a crash and its restart, and no info line', async () => {
    const [port, adminPort] = await freePorts(2, []);
    const daemon = Daemon.spawn({ env: { LOG_LEVEL: 'warn', PORT: String(port), ADMIN_PORT: String(adminPort) } });
    // At warn no line says where it listens: it listens where it was told.
    daemon.port = port!;
    daemon.adminPort = adminPort!;
    await eventually(() => fetchTree(daemon), 20_000, 100);
    expect((await killActor(daemon, '/warren_sup/listener')).status).to.equal(200);
    await daemon.waitForLog((line) => line.level === 40 && line.msg.startsWith('/warren_sup/listener restarted'));
    await daemon.stop();
    expect(daemon.logs.filter((line) => line.level < 40)).to.be.empty;
  });
});
