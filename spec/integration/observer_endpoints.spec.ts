/**
 * The observer's endpoints on the admin port (docs/observer.md): the
 * processes by mailbox, rate or restarts; one actor in full; a message trace
 * streamed as server-sent events; the node's last ten minutes. Against the
 * daemon as users run it, with real sockets.
 */
import { expect } from 'chai';
import { connectionOf, fetchTree, killActor } from '../support/admin';
import { ChatClient } from '../support/client';
import { eventually } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';

interface TopRow {
  path: string;
  name: string;
  kind: string;
  behaviour: string;
  mailbox: number;
  rate: number;
  processed: number;
  restarts: number;
}

/** A server-sent event. */
interface Sent {
  event: string;
  data: Record<string, unknown>;
}

function parseEvents(text: string): Sent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const [eventLine, dataLine] = block.split('\n');
      return { event: eventLine!.replace(/^event: /, ''), data: JSON.parse(dataLine!.replace(/^data: /, '')) as Record<string, unknown> };
    });
}

describe('the observer endpoints (admin port)', function () {
  this.timeout(30_000);
  const daemon = useDaemon();
  const get = async (path: string) => {
    const response = await fetch(daemon().adminUrl(path));
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const trace = (query: string, init: RequestInit = {}) => fetch(daemon().adminUrl(`/debug/trace?${query}`), { method: 'POST', ...init });
  let clients: ChatClient[] = [];
  afterEach(() => {
    for (const client of clients) client.close();
    clients = [];
  });
  const connect = async (name: string) => {
    const client = await ChatClient.connect(daemon().wsUrl(`name=${name}&room=obs`));
    clients.push(client);
    const path = connectionOf((await fetchTree(daemon())).tree, name)!.path;
    return { client, path };
  };

  describe('GET /debug/top', () => {
    it('lists every actor it walked, sorted by the key asked for, at most n, with the fields of a row', async () => {
      await connect('topper');
      const { status, body } = await get('/debug/top?by=processed&n=3');
      expect(status).to.equal(200);
      expect(body).to.include({ by: 'processed', n: 3, intervalMs: body['intervalMs'] });
      expect(body['node']).to.be.a('string');
      expect(Date.parse(body['at'] as string)).to.be.closeTo(Date.now(), 60_000);
      const tree = (await fetchTree(daemon())).tree;
      const count = (actor: typeof tree): number => 1 + actor.children.reduce((sum, child) => sum + count(child), 0);
      expect(body['actors']).to.equal(count(tree));
      const rows = body['top'] as TopRow[];
      expect(rows).to.have.length(3);
      expect(Object.keys(rows[0]!)).to.deep.equal(['path', 'name', 'kind', 'behaviour', 'mailbox', 'rate', 'processed', 'restarts']);
      expect(rows.map((row) => row.processed)).to.deep.equal([...rows.map((row) => row.processed)].sort((a, b) => b - a));
    });

    it('filters on path or behaviour, and counts what matched', async () => {
      await connect('filtered-a');
      await connect('filtered-b');
      const { body } = await get('/debug/top?filter=CONSUMER&n=1000');
      const rows = body['top'] as TopRow[];
      expect(rows.length).to.equal(body['matched']);
      expect(rows.length).to.be.at.least(2);
      expect(rows.every((row) => row.behaviour === 'consumer')).to.equal(true);
    });

    it('ranks a socket that talks by its messages per second over the last interval', async () => {
      const { client, path } = await connect('chatter');
      const talking = setInterval(() => client.send({ type: 'ping', id: 'p' }), 5);
      try {
        await eventually(async () => {
          const { body } = await get('/debug/top?by=rate&n=1');
          const [first] = body['top'] as TopRow[];
          expect(first).to.include({ path });
          expect(first!.rate).to.be.above(10);
        }, 10_000);
      } finally {
        clearInterval(talking);
      }
    });

    it('ranks by restarts after a consumer was killed', async () => {
      const { path } = await connect('restarted');
      expect((await killActor(daemon(), `${path}/consumer`)).status).to.equal(200);
      await eventually(async () => {
        const { body } = await get('/debug/top?by=restarts&n=1');
        expect((body['top'] as TopRow[])[0]).to.include({ path: `${path}/consumer`, restarts: 1 });
      });
    });

    for (const [query, error] of [
      ['by=memory', 'by must be one of mailbox, rate, restarts, processed'],
      ['n=0', 'n must be a whole number from 1 to 1000'],
      ['n=1001', 'n must be a whole number from 1 to 1000'],
      ['n=2.5', 'n must be a whole number from 1 to 1000'],
    ] as const) {
      it(`answers 400 to ${query}`, async () => {
        expect(await get(`/debug/top?${query}`)).to.deep.equal({ status: 400, body: { error } });
      });
    }
  });

  describe('GET /debug/actor', () => {
    it('shows a connection in full: its links to connection_sup and its consumer, who monitors it, its consumer\'s restarts', async () => {
      const { path } = await connect('detailed');
      const { status, body } = await get(`/debug/actor?path=${encodeURIComponent(path)}`);
      expect(status).to.equal(200);
      const actor = body['actor'] as Record<string, any>;
      expect(actor).to.include({ path, kind: 'worker', behaviour: 'connection', status: 'running', mailbox: 0 });
      expect(actor['info']).to.include({ name: 'detailed' });
      expect(actor['links']).to.deep.equal({ parent: '/warren_sup/connection_sup', children: [`${path}/consumer`], childCount: 1 });
      expect(actor['monitors'].monitoredBy).to.deep.equal(['/warren_sup/presence']);

      await killActor(daemon(), `${path}/consumer`);
      await eventually(async () => {
        const consumer = (await get(`/debug/actor?path=${encodeURIComponent(`${path}/consumer`)}`)).body['actor'] as Record<string, any>;
        expect(consumer['restarts']).to.equal(1);
        expect(consumer['restartHistory'].map((restart: { reason: string }) => restart.reason)).to.deep.equal([`KilledOnPurpose: ${path}/consumer was crashed on purpose`]);
        expect(consumer['monitors'].monitoredBy, 'the relay watches the new consumer').to.deep.equal(['/warren_sup/relay']);
      });
      const relay = (await get('/debug/actor?path=/warren_sup/relay')).body['actor'] as Record<string, any>;
      expect(relay['monitors'].monitoring).to.include(`${path}/consumer`);
    });

    it('answers 400 without a path and 404 for an unknown one', async () => {
      expect(await get('/debug/actor')).to.deep.equal({ status: 400, body: { error: 'the path query parameter is required' } });
      expect(await get('/debug/actor?path=/warren_sup/nobody')).to.deep.equal({ status: 404, body: { error: 'no actor at /warren_sup/nobody' } });
    });
  });

  describe('POST /debug/trace', () => {
    it('streams the type and size of each message a connection handles, never its text, and stops after its count', async () => {
      const { client, path } = await connect('traced');
      const response = await trace(`path=${encodeURIComponent(path)}&count=5`);
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.equal('text/event-stream');
      for (let n = 0; n < 8; n++) client.send({ type: 'say', text: `secret words ${n}`, id: `s${n}` });
      const body = await response.text();
      const events = parseEvents(body);
      expect(events[0]).to.deep.equal({ event: 'start', data: { path, behaviour: 'connection', count: 5, rate: 1000, seconds: 60 } });
      const messages = events.filter((sent) => sent.event === 'message');
      expect(messages.map((sent) => sent.data['n'])).to.deep.equal([1, 2, 3, 4, 5]);
      expect(Object.keys(messages[0]!.data).sort()).to.deep.equal(['at', 'kind', 'mailbox', 'n', 'size', 'type', 'us']);
      expect(events.at(-1)).to.deep.equal({ event: 'end', data: { reason: 'count', traced: 5 } });
      expect(body).not.to.include('secret words');
      await client.collect('ack', 8);
    });

    it('answers 409 while the actor is traced, and stops when the reader leaves, so it can be traced again', async () => {
      const { path } = await connect('watched');
      const reader = new AbortController();
      const first = await trace(`path=${encodeURIComponent(path)}`, { signal: reader.signal });
      expect(first.status).to.equal(200);
      const second = await trace(`path=${encodeURIComponent(path)}`);
      expect(second.status).to.equal(409);
      expect(await second.json()).to.deep.equal({ error: `${path} is being traced already` });
      reader.abort();
      await eventually(async () => {
        const again = await trace(`path=${encodeURIComponent(path)}&count=1&seconds=1`);
        expect(again.status).to.equal(200);
        expect(parseEvents(await again.text()).at(-1)!.data).to.deep.equal({ reason: 'timeout', traced: 0 });
      });
    });

    it('ends with `exited` when the traced actor goes', async () => {
      const { client, path } = await connect('leaving');
      const response = await trace(`path=${encodeURIComponent(path)}`);
      client.close();
      expect(parseEvents(await response.text()).at(-1)!.data['reason']).to.equal('exited');
    });

    for (const [query, status, error] of [
      ['count=5', 400, 'the path query parameter is required'],
      ['path=/warren_sup/relay&count=0', 400, 'count must be a whole number from 1 to 10000'],
      ['path=/warren_sup/relay&rate=10001', 400, 'rate must be a whole number from 1 to 10000'],
      ['path=/warren_sup/relay&seconds=3601', 400, 'seconds must be a whole number from 1 to 3600'],
      ['path=/warren_sup/nobody', 404, 'no actor at /warren_sup/nobody'],
    ] as const) {
      it(`answers ${status} to ${query}`, async () => {
        const response = await trace(query);
        expect({ status: response.status, body: await response.json() }).to.deep.equal({ status, body: { error } });
      });
    }
  });

  describe('GET /debug/history', () => {
    it('has a point a second with the node\'s figures, and marks a crash and its restart', async () => {
      const { path } = await connect('charted');
      await killActor(daemon(), `${path}/consumer`);
      await eventually(async () => {
        const { body } = await get('/debug/history');
        const marks = body['marks'] as Array<Record<string, unknown>>;
        expect(marks.filter((mark) => mark['path'] === `${path}/consumer`).map((mark) => mark['kind'])).to.deep.equal(['crash', 'restart']);
        const series = body['series'] as Record<string, number[]>;
        expect(series['connections']!.at(-1)).to.be.at.least(1);
      });
      const { status, body } = await get('/debug/history');
      expect(status).to.equal(200);
      expect(body).to.include({ intervalMs: 1000, capacity: 600 });
      const series = body['series'] as Record<string, number[]>;
      expect(Object.keys(series)).to.deep.equal(['at', 'connections', 'messages', 'deliveries', 'actorMessages', 'lagMs', 'lagMaxMs', 'relayMailbox', 'rss', 'heapUsed']);
      const lengths = new Set(Object.values(series).map((values) => values.length));
      expect(lengths.size, 'all as long').to.equal(1);
      expect((body['marks'] as Array<Record<string, unknown>>)[0]).to.include({ kind: 'broker', state: 'connected' });

      const last = series['at']!.at(-1)!;
      const since = (await get(`/debug/history?since=${last}`)).body;
      expect((since['series'] as Record<string, number[]>)['at']!.every((at) => at > last)).to.equal(true);
      expect(await get('/debug/history?since=yesterday')).to.deep.equal({ status: 400, body: { error: 'since must be a time in epoch ms' } });
    });
  });
});
