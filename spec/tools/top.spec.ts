// `npm run top` (tools/top.ts): its command line, the frame it draws from
// the admin port's answers (a pure function: widths, truncation, what fits
// the rows), the last minute it keeps between polls, and how it talks to an
// admin port: a stand-in one for the failures, the daemon for the real run.
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT } from '../../lib/paths';
import type { HistoryAnswer, Mark, Figure, TopAnswer, TopRow } from '../../tools/top/answers';
import { FIGURES } from '../../tools/top/answers';
import { fitNumber, keepEnd, keepStart, perSecond, sparkline } from '../../tools/top/format';
import { parseTopArgs, USAGE } from '../../tools/top/options';
import { Observer } from '../../tools/top/poll';
import { RECENT_POINTS, RecentFigures } from '../../tools/top/recent';
import { type Line, renderFrame, tableRows, type View } from '../../tools/top/render';
import { actors, connectionOf, fetchTree } from '../support/admin';
import { ChatClient } from '../support/client';
import { freePorts } from '../support/free_ports';
import { useDaemon } from '../support/lifecycle';
import { killOnExit } from '../support/process_group';

const ADMIN = 'http://127.0.0.1:8082';
const AT = Date.parse('2025-01-02T03:04:05.000Z');

function row(path: string, fields: Partial<TopRow> = {}): TopRow {
  return { path, name: path.split('/').pop()!, kind: 'worker', behaviour: 'connection', mailbox: 0, rate: 0, processed: 0, restarts: 0, ...fields };
}

function topAnswer(rows: readonly TopRow[], fields: Partial<TopAnswer> = {}): TopAnswer {
  return { node: 'node-a', at: new Date(AT).toISOString(), by: 'mailbox', n: 50, intervalMs: 1000, actors: rows.length, matched: rows.length, top: [...rows], ...fields };
}

/** `points` seconds of history ending at AT, each series `value(name, i)`. */
function history(points: number, value: (name: Figure, i: number) => number, marks: readonly Mark[] = [], node = 'node-a'): HistoryAnswer {
  const at = Array.from({ length: points }, (_, i) => AT - (points - 1 - i) * 1000);
  const series = Object.fromEntries(FIGURES.map((name) => [name, at.map((_, i) => value(name, i))])) as Record<Figure, number[]>;
  return { node, intervalMs: 1000, capacity: 600, series: { at, ...series }, marks: [...marks] };
}

function figures(answer?: HistoryAnswer): RecentFigures {
  const recent = new RecentFigures();
  if (answer) recent.add(answer);
  return recent;
}

function view(fields: Partial<View> = {}): View {
  return { admin: ADMIN, by: 'mailbox', intervalSeconds: 2, now: new Date(AT), figures: figures(), ...fields };
}

const texts = (lines: readonly Line[]) => lines.map((line) => line.text);
/** The table's rows: the lines after its heading. */
const tableOf = (lines: readonly Line[]) => texts(lines.slice(lines.findIndex((line) => line.style === 'heading') + 1));
const headingOf = (lines: readonly Line[]) => lines.find((line) => line.style === 'heading')!.text;

describe('tools/top', () => {
  describe('parseTopArgs', () => {
    it('needs --admin only; sorts by mailbox every 2 s, and takes the token from ADMIN_TOKEN', () => {
      expect(parseTopArgs(['--admin', ADMIN], {})).to.deep.equal({ admin: ADMIN, by: 'mailbox', intervalSeconds: 2, once: false });
      expect(parseTopArgs([`--admin=${ADMIN}/`], { ADMIN_TOKEN: 't0k' })).to.deep.equal({ admin: ADMIN, token: 't0k', by: 'mailbox', intervalSeconds: 2, once: false });
      expect(parseTopArgs(['--admin', ADMIN, '--token', 'given', '--by', 'restarts', '--n', '1000', '--interval', '0.5', '--once'], { ADMIN_TOKEN: 'env' })).to.deep.equal({
        admin: ADMIN, token: 'given', by: 'restarts', n: 1000, intervalSeconds: 0.5, once: true,
      });
      expect(parseTopArgs(['--admin', 'https://observer.example:9443'], { ADMIN_TOKEN: '' })).to.deep.equal({ admin: 'https://observer.example:9443', by: 'mailbox', intervalSeconds: 2, once: false });
      expect(parseTopArgs(['--help'], {})).to.deep.equal({ help: true });
    });

    it('refuses what it cannot use, saying which option and why', () => {
      const refused = (argv: string[]) => (parseTopArgs(argv, {}) as { error?: string }).error;
      expect(refused([])).to.match(/^--admin: required/);
      for (const url of ['127.0.0.1:8082', 'ws://127.0.0.1:8082', 'http://127.0.0.1:8082/debug', 'http://127.0.0.1:8082/?x=1', 'http://u:p@127.0.0.1:8082', 'nonsense']) {
        expect(refused(['--admin', url]), url).to.equal(`--admin: expected http://host:port, not ${url}`);
      }
      expect(refused(['--admin', ADMIN, '--by', 'memory'])).to.equal('--by: expected one of mailbox, rate, restarts, processed, not memory');
      for (const n of ['0', '1001', '2.5', 'ten']) expect(refused(['--admin', ADMIN, '--n', n]), n).to.equal(`--n: expected an integer from 1 to 1000, not ${n}`);
      for (const interval of ['0', '-1', 'soon']) expect(refused(['--admin', ADMIN, `--interval=${interval}`]), interval).to.equal(`--interval: expected seconds above 0, not ${interval}`);
      expect(refused(['--admin', ADMIN, '--sort', 'rate'])).to.match(/--sort/);
      expect(refused(['--admin', ADMIN, 'extra'])).to.match(/extra/);
    });
  });

  describe('format', () => {
    it('cuts paths from the left and names from the right, to the width exactly', () => {
      expect(keepEnd('/warren_sup/connection_sup/connection-7/consumer', 22)).to.equal('…connection-7/consumer').and.have.length(22);
      expect(keepEnd('/warren_sup', 11)).to.equal('/warren_sup');
      expect(keepStart('presence_coalescer', 10)).to.equal('presence_…').and.have.length(10);
      expect(keepStart('relay', 5)).to.equal('relay');
    });

    it('gives a count in its width, in k, M, G when too wide', () => {
      expect(fitNumber(12_345_678, 8)).to.equal('12345678');
      expect(fitNumber(123_456_789, 8)).to.equal('123M');
      expect(fitNumber(12_345_678_901, 8)).to.equal('12.3G');
      expect(fitNumber(3.25, 9, 1)).to.equal('3.3');
      expect(fitNumber(undefined, 8)).to.equal('-');
      expect(fitNumber(NaN, 8)).to.equal('-');
      expect([0.5, 99.94, 100, 12_345.6, undefined].map(perSecond)).to.deep.equal(['0.5', '99.9', '100', '12,346', '-']);
    });

    it('draws a sparkline from the least to the greatest of its last `width` values, right-aligned', () => {
      expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)).to.equal('▁▂▃▄▅▆▇█');
      expect(sparkline([100, 0, 7, 7], 3), 'the last 3 only').to.equal('▁██');
      expect(sparkline([5, 5, 5], 5)).to.equal('  ▁▁▁');
      expect(sparkline([1, NaN, 3], 3)).to.equal('▁ █');
    });
  });

  describe('RecentFigures', () => {
    it('keeps the last minute, taking from each answer only the points after those it holds', () => {
      const recent = figures(history(600, (_, i) => i));
      expect(recent.series('connections')).to.have.length(RECENT_POINTS);
      expect(recent.series('connections')[RECENT_POINTS - 1]).to.equal(599);
      expect(recent.since).to.equal(AT);
      // A since query may answer the last point held again: it is not added twice.
      const next = history(3, (_, i) => 1000 + i);
      recent.add({ ...next, series: { ...next.series, at: [AT, AT + 1000, AT + 2000] } });
      expect(recent.series('rss').slice(-3)).to.deep.equal([599, 1001, 1002]);
      expect(recent.since).to.equal(AT + 2000);
    });

    it('keeps the last five marks once each, and starts again for another node', () => {
      const marks = Array.from({ length: 7 }, (_, i): Mark => ({ at: AT - 7000 + i * 1000, kind: 'restart', path: `/warren_sup/x-${i}`, reason: 'killed' }));
      const recent = figures(history(10, () => 1, marks.slice(0, 4)));
      recent.add(history(1, () => 2, marks.slice(2)));
      expect(recent.marks.map((mark) => mark.kind === 'restart' && mark.path)).to.deep.equal([2, 3, 4, 5, 6].map((i) => `/warren_sup/x-${i}`));
      recent.add(history(2, () => 3, [], 'node-b'));
      expect(recent.series('heapUsed')).to.deep.equal([3, 3]);
      expect(recent.marks).to.deep.equal([]);
    });
  });

  describe('renderFrame', () => {
    const rows = [
      row('/warren_sup', { kind: 'supervisor', behaviour: 'supervisor', processed: 12 }),
      row('/warren_sup/relay', { behaviour: 'relay', mailbox: 1_234, rate: 2.25, processed: 99_999_999_999_999, restarts: 1 }),
      row('/warren_sup/connection_sup/connection-12345/consumer', { behaviour: 'consumer_with_a_long_behaviour_name', rate: 1000.5 }),
    ];

    it('fits every line to the terminal, the paths cut from the left and the behaviours from the right', () => {
      for (const columns of [60, 80, 100, 132, 200]) {
        const lines = renderFrame(view({ top: topAnswer(rows), figures: figures(history(90, (_, i) => i * 1_000_000)), broker: 'connected' }), { columns, rows: 40 });
        for (const line of lines) expect(line.text.length, `${columns}: ${line.text}`).to.be.at.most(columns);
      }
      const table = tableOf(renderFrame(view({ top: topAnswer(rows) }), { columns: 80, rows: 40 }));
      const widths = { path: 80 - 16 - (8 + 9 + 11 + 9) - 5 * 2 };
      expect(table[2]!.slice(0, widths.path)).to.equal(keepEnd(rows[2]!.path, widths.path));
      expect(table[2]!.slice(widths.path + 2, widths.path + 2 + 16)).to.equal('consumer_with_a…');
      expect(table[2]!).to.have.length(80);
    });

    it('gives the paths all the room they need on a wide terminal, and each figure its column, right-aligned', () => {
      const lines = renderFrame(view({ top: topAnswer(rows) }), { columns: 200, rows: 40 });
      const line = (path: string, behaviour: string, ...figures: string[]) =>
        [path.padEnd(52), behaviour.padEnd(16), ...figures.map((figure, i) => figure.padStart([8, 9, 11, 9][i]!))].join('  ');
      expect(headingOf(lines)).to.equal(line('PATH', 'BEHAVIOUR', 'MAILBOX▼', 'MSGS/S', 'PROCESSED', 'RESTARTS'));
      expect(tableOf(lines)).to.deep.equal([
        line('/warren_sup', 'supervisor', '0', '0.0', '12', '0'),
        line('/warren_sup/relay', 'relay', '1234', '2.3', '100.0T', '1'),
        line('/warren_sup/connection_sup/connection-12345/consumer', 'consumer_with_a…', '0', '1000.5', '0', '0'),
      ]);
    });

    it('drops figures from the right where even the shortest path would not fit, never the one sorted by', () => {
      expect(headingOf(renderFrame(view({ top: topAnswer(rows) }), { columns: 60 }))).to.match(/^PATH +BEHAVIOUR +MAILBOX▼ +MSGS\/S$/);
      expect(headingOf(renderFrame(view({ by: 'restarts', top: topAnswer(rows) }), { columns: 60 }))).to.match(/^PATH +BEHAVIOUR +MAILBOX +RESTARTS▼$/);
      expect(tableOf(renderFrame(view({ by: 'restarts', top: topAnswer(rows) }), { columns: 60 }))[1]).to.match(/^\/warren_sup\/relay +relay +1234 +1$/);
    });

    it('marks the column it sorts by', () => {
      expect(headingOf(renderFrame(view({ by: 'rate', top: topAnswer(rows) }), { columns: 120 }))).to.match(/MAILBOX {2}.*MSGS\/S▼.*PROCESSED {2}.*RESTARTS$/);
      expect(headingOf(renderFrame(view({ by: 'restarts', top: topAnswer(rows) }), { columns: 120 }))).to.match(/MAILBOX .*RESTARTS▼$/);
      expect(headingOf(renderFrame(view({ by: 'processed', top: topAnswer(rows) }), { columns: 120 }))).to.match(/PROCESSED▼/);
    });

    it('shows as many actors as fit the rows, and asks for that many (tableRows)', () => {
      const many = Array.from({ length: 100 }, (_, i) => row(`/warren_sup/connection_sup/connection-${i}`));
      for (const size of [{ columns: 80, rows: 24 }, { columns: 50, rows: 30 }, { columns: 250, rows: 12 }, { columns: 132, rows: 60 }]) {
        const lines = renderFrame(view({ top: topAnswer(many) }), size);
        expect(lines, JSON.stringify(size)).to.have.length(size.rows);
        expect(tableOf(lines), JSON.stringify(size)).to.have.length(tableRows(size));
      }
      expect(tableOf(renderFrame(view({ top: topAnswer(many) }), { columns: 80 })), 'no rows bound: all of them').to.have.length(100);
    });

    it('shows the latest of each figure with its last minute as a sparkline, and the broker state', () => {
      const answer = history(90, (name, i) => (name === 'rss' ? 300 * 1_048_576 : name === 'lagMs' ? i / 10 : name === 'connections' ? 10_000 + i : i));
      const text = texts(renderFrame(view({ figures: figures(answer), broker: 'reconnecting', top: topAnswer(rows) }), { columns: 100, rows: 40 })).join('\n');
      // Two figures a line at 100 columns, each a label of 14, a value of 12 and a sparkline of 50 - 14 - 12 - 3.
      const cell = (label: string, value: string) => `${label.padEnd(14)}${value.padStart(12)} `;
      expect(text).to.contain(`${cell('connections', '10,089')}▁▁▂▂▂▃▃▃▄▄▅▅▅▆▆▆▇▇▇██  ${cell('chat msgs/s', '89.0')}▁▁▂`);
      expect(text).to.contain(`${cell('lag p99', '8.9 ms')}▁▁▂`);
      expect(text).to.contain(`${cell('rss', '300.0 MiB')}${'▁'.repeat(21)}`);
      expect(text).to.contain(`${cell('broker', 'reconnecting').trimEnd()}\n`);
      const fresh = texts(renderFrame(view(), { columns: 100, rows: 40 })).join('\n');
      expect(fresh).to.contain(`${cell('connections', '-')}   `).and.contain(cell('broker', '-').trimEnd()).and.contain('no answer from /debug/top yet');
    });

    it('says what went wrong on its notice line, else the last restart, crash or broker change', () => {
      const marked = figures(history(5, () => 0, [{ at: AT - 1000, kind: 'broker', state: 'reconnecting' }, { at: AT, kind: 'crash', path: '/warren_sup/relay', reason: 'Error: boom' }]));
      const lines = renderFrame(view({ figures: marked, top: topAnswer(rows) }), { columns: 120, rows: 40 });
      expect(texts(lines)).to.include('last event: 03:04:05 crash /warren_sup/relay: Error: boom');
      const failing = renderFrame(view({ figures: marked, top: topAnswer(rows), problem: `cannot reach ${ADMIN}: ECONNREFUSED` }), { columns: 120, rows: 40 });
      expect(failing.find((line) => line.style === 'alert')?.text).to.equal(`cannot reach ${ADMIN}: ECONNREFUSED (asking again every 2 s)`);
      expect(tableOf(failing), 'the last actors stay').to.have.length(rows.length);
      expect(failing).to.have.length(lines.length);
    });

    it('says how many actors the tree has, and over what interval the rates are', () => {
      const summaryOf = (top: TopAnswer) => texts(renderFrame(view({ by: 'rate', top }), { columns: 120 })).find((text) => text.includes(' actors · '));
      expect(summaryOf(topAnswer(rows, { actors: 20_012, intervalMs: 1003 }))).to.equal('20,012 actors · top 3 by rate · rates over 1.0 s · at 03:04:05');
      expect(summaryOf(topAnswer(rows, { intervalMs: 0 }))).to.equal('3 actors · top 3 by rate · no rates before the first sample · at 03:04:05');
    });

    it('titles the frame with the node, the admin port and the time, and the keys when there is room', () => {
      const [wide] = renderFrame(view({ top: topAnswer(rows) }), { columns: 120 });
      const left = `warren top · node node-a · ${ADMIN} · 03:04:05 · every 2 s`;
      expect(wide).to.deep.equal({ text: `${left}${' '.repeat(120 - left.length - 21)}m r s p sort · q quit`, style: 'title' });
      expect(renderFrame(view(), { columns: 70 })[0]!.text).to.equal(`warren top · ${ADMIN} · 03:04:05 · every 2 s`);
    });
  });

  describe('against a stand-in admin port', () => {
    let server: Server | undefined;
    const requests: IncomingMessage[] = [];
    let status = 200;
    before(async () => {
      server = createServer((req, res) => {
        requests.push(req);
        const path = new URL(req.url!, 'http://x').pathname;
        const body = status !== 200 ? { error: 'a bearer token is required' } : path === '/debug/top' ? topAnswer([row('/warren_sup')]) : path === '/debug/history' ? history(3, () => 7) : { node: 'node-a', actor: { path, info: { state: 'connected' } } };
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    });
    after(() => server?.close());
    const url = () => `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;

    it('asks for the top, the history since its last point and the broker, with the bearer token', async () => {
      status = 200;
      requests.length = 0;
      const observer = new Observer({ url: url(), token: 's3cret' });
      expect(await observer.poll('rate', 17)).to.deep.equal({ top: topAnswer([row('/warren_sup')]), broker: 'connected' });
      await observer.poll('rate', 17);
      expect(requests.map((req) => req.url).sort()).to.deep.equal([
        '/debug/actor?path=%2Fwarren_sup%2Fbroker', '/debug/actor?path=%2Fwarren_sup%2Fbroker', '/debug/history', `/debug/history?since=${AT}`, '/debug/top?by=rate&n=17', '/debug/top?by=rate&n=17',
      ]);
      expect(requests.map((req) => req.headers.authorization)).to.deep.equal(Array(6).fill('Bearer s3cret'));
      expect(observer.figures.series('deliveries')).to.deep.equal([7, 7, 7]);
    });

    it('says a 401 is the token, missing or wrong, and that asking again will not help', async () => {
      status = 401;
      expect(await new Observer({ url: url() }).poll('mailbox', 5)).to.deep.equal({ problem: { message: `${url()} answered 401: the admin token is missing (give --token, or set ADMIN_TOKEN)`, fatal: true } });
      expect((await new Observer({ url: url(), token: 'x' }).poll('mailbox', 5)).problem?.message).to.contain('the admin token is wrong');
    });

    it('says another status as the admin port said it, and asks again', async () => {
      status = 503;
      expect((await new Observer({ url: url() }).poll('mailbox', 5)).problem).to.deep.equal({ message: 'GET /debug/top?by=mailbox&n=5 answered 503: a bearer token is required', fatal: false });
    });

    it('says it cannot reach a port where nothing listens, and asks again', async () => {
      const [port] = await freePorts(1, []);
      expect(await new Observer({ url: `http://127.0.0.1:${port}` }).poll('mailbox', 5)).to.deep.equal({ problem: { message: `cannot reach http://127.0.0.1:${port}: ECONNREFUSED`, fatal: false } });
    });
  });

  describe('npm run top against the daemon', function () {
    this.timeout(30_000);
    const daemon = useDaemon();

    it('prints one frame with --once: the node, its figures and its top actors, the connections of its clients among them', async () => {
      const clients = await Promise.all(['ann', 'ben', 'cat'].map((name) => ChatClient.connect(daemon().wsUrl(`name=${name}&room=top`))));
      const { tree } = await fetchTree(daemon());
      const { code, stdout, stderr } = await runTop(['--admin', daemon().adminUrl(''), '--once']);
      expect({ code, stderr }).to.deep.equal({ code: 0, stderr: '' });
      const lines = stdout.split('\n');
      expect(lines[0]).to.match(new RegExp(`^warren top · node ${clients[0]!.welcome['node']} · ${daemon().adminUrl('')} · \\d\\d:\\d\\d:\\d\\d · every 2 s +m r s p sort · q quit$`));
      expect(stdout).to.match(/^broker +connected/m);
      const table = lines.slice(lines.findIndex((line) => line.startsWith('PATH')) + 1).filter((line) => line !== '');
      const paths = table.map((line) => line.split(/ +/)[0]);
      for (const name of ['ann', 'ben', 'cat']) {
        const connection = connectionOf(tree, name)!;
        expect(paths, name).to.include(connection.path).and.include(connection.children[0]!.path);
      }
      // So small a tree fits whole in the rows a pipe gets.
      expect(new Set(paths)).to.deep.equal(new Set(actors(tree).map((actor) => actor.path)));
      for (const client of clients) client.close();
    });
  });

  describe('npm run top against a daemon with ADMIN_TOKEN', function () {
    this.timeout(30_000);
    const daemon = useDaemon(undefined, { env: { ADMIN_TOKEN: 'top-s3cret' } });

    it('says a missing or wrong token is the problem, exit 1, and works with --token or ADMIN_TOKEN', async () => {
      const admin = daemon().adminUrl('');
      expect(await runTop(['--admin', admin, '--once'])).to.deep.equal({ code: 1, stdout: '', stderr: `top: ${admin} answered 401: the admin token is missing (give --token, or set ADMIN_TOKEN)\n` });
      expect((await runTop(['--admin', admin, '--once'], { ADMIN_TOKEN: 'guess' })).stderr).to.contain('answered 401: the admin token is wrong');
      for (const [argv, env] of [[['--token', 'top-s3cret'], {}], [[], { ADMIN_TOKEN: 'top-s3cret' }]] as const) {
        const { code, stdout } = await runTop(['--admin', admin, '--once', '--by', 'processed', ...argv], env);
        expect(code, JSON.stringify(argv)).to.equal(0);
        expect(stdout).to.match(/^PATH .* PROCESSED▼ /m).and.match(/^\/warren_sup +supervisor /m);
      }
    });
  });

  describe('npm run top', function () {
    this.timeout(30_000);

    it('refuses a bad --by with its usage, exit 2', async () => {
      const { code, stdout, stderr } = await runTop(['--admin', ADMIN, '--by', 'memory', '--once']);
      expect(code).to.equal(2);
      expect(stdout).to.equal('');
      expect(stderr).to.equal(`top: --by: expected one of mailbox, rate, restarts, processed, not memory\n${USAGE}`);
    });

    it('with --once, says it cannot reach a port where nothing listens, exit 1', async () => {
      const [port] = await freePorts(1, []);
      const { code, stderr } = await runTop(['--admin', `http://127.0.0.1:${port}`, '--once']);
      expect({ code, stderr }).to.deep.equal({ code: 1, stderr: `top: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n` });
    });
  });
});

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `npm run -s top -- ...argv`, in a process group of its own, killed by its
 * pid if it has not exited within `timeoutMs`; ADMIN_TOKEN only from `env`.
 */
async function runTop(argv: readonly string[], env: Readonly<Record<string, string>> = {}, timeoutMs = 20_000): Promise<Ran> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'ADMIN_TOKEN'));
  const child: ChildProcess = spawn('npm', ['run', '-s', 'top', '--', ...argv], { cwd: ROOT, env: { ...inherited, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
  killOnExit(child);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
