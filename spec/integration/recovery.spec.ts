/**
 * Recovery (PROTOCOL.md "Positions, history and recovery"), against the
 * daemon as users run it, on each broker: a client that comes back with the
 * position of the last message it saw gets every message it missed, flagged
 * as replays, then the live ones, nothing doubled or skipped; a position
 * the daemon cannot vouch for gets `recovered: false` and the recent
 * history, never messages that only look like the missed ones.
 */
import { expect } from 'chai';
import { setTimeout as delay } from 'node:timers/promises';
import { STREAM } from '../../lib/broker/rascal_config';
import { actors, fetchTree } from '../support/admin';
import { BROKERS } from '../support/brokers';
import { ChatClient, type Frame } from '../support/client';
import { Daemon } from '../support/daemon';
import { until } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';
import { scrapeMetrics } from '../support/metrics';
import { sharedRabbit } from '../support/rabbitmq';

const RABBITMQ = BROKERS[1];
/** How long the client of the first spec stays away. */
const AWAY_MS = 3_000;
const MISSED = 50;

const lines = (prefix: string, count: number) => Array.from({ length: count }, (_, n) => `${prefix}${n}`);
const texts = (frames: readonly Frame[]) => frames.map((f) => `${f['text']}${f['replay'] ? ' (replay)' : ''}`);
const messagesIn = (client: ChatClient, room: string) => client.frames.filter((f) => f.type === 'message' && f['room'] === room);
/** The digits of a position, which name a place in the log, not a message. */
const logDigits = (pos: unknown) => String(pos).split('-')[0];

/**
 * Says each line and waits for it to come back before the next, so that
 * each goes out in a batch of its own: one log offset per message, the
 * same in every run. Returns the messages as the sender received them.
 */
async function sayInTurn(client: ChatClient, room: string, ...said: string[]): Promise<Frame[]> {
  const messages: Frame[] = [];
  for (const text of said) {
    client.send({ type: 'say', room, text, id: text });
    await client.next('ack', { id: text });
    messages.push(await client.next('message', { room, text }));
  }
  return messages;
}

/**
 * A reader of `room` on `away` closes its socket; a talker says MISSED
 * messages over AWAY_MS; the reader comes back on `back` with the position
 * of the last message it saw, while the talker goes on talking.
 */
async function awayAndBack(away: Daemon, back: Daemon, room: string): Promise<void> {
  const talker = await ChatClient.connect(away.wsUrl(`name=talker&room=${room}`));
  const reader = await ChatClient.connect(away.wsUrl(`name=reader&room=${room}`));
  await sayInTurn(talker, room, 'hello', 'before');
  const lastSeen = await reader.next('message', { text: 'before' });
  await reader.close();

  const missed = lines('missed', MISSED);
  await Promise.all([delay(AWAY_MS), sayInTurn(talker, room, ...missed)]);
  const live = lines('live', 10);
  const say = (text: string) => talker.send({ type: 'say', room, text, id: text });
  // Said while the reader connects: each one replayed or live, never both, never neither.
  live.slice(0, 5).forEach(say);
  const returned = await ChatClient.connect(back.wsUrl(`name=reader&room=${room}&since=${String(lastSeen['pos'])}`));
  live.slice(5).forEach(say);
  say('end');
  await returned.next('message', { text: 'end' }, 10_000);

  expect(returned.frames[0]).to.include({ type: 'welcome', recovered: true });
  const received = returned.frames.slice(1);
  expect(received.every((f) => f.type === 'message' && f['room'] === room), 'only the room\'s messages').to.equal(true);
  expect(received.slice(0, MISSED).map((f) => f['text'])).to.deep.equal(missed);
  expect(received.slice(0, MISSED).every((f) => f['replay'] === true), 'the missed ones replayed').to.equal(true);
  expect(received.map((f) => f['text'])).to.deep.equal([...missed, ...live, 'end']);
  const firstLive = received.findIndex((f) => f['replay'] !== true);
  expect(received.slice(firstLive).every((f) => f['replay'] === undefined), 'replays come before any live message').to.equal(true);
  expect(texts(received.slice(-6))).to.deep.equal([...live.slice(5), 'end'], 'said after the welcome: live');
}

for (const broker of BROKERS) {
  describe(`recovery, on the ${broker.name}`, function () {
    this.timeout(60_000);
    const daemon = useDaemon(broker);
    const connect = (query: string) => ChatClient.connect(daemon().wsUrl(query));

    it(`sends a client back after ${AWAY_MS / 1000} s with ?since= welcome recovered:true, the ${MISSED} it missed as replays in order, then live ones`, async () => {
      await awayAndBack(daemon(), daemon(), 'rec1');
    });

    describe('join with since, in the middle of a session', () => {
      let talker: ChatClient;
      let seen: Frame[];
      before(async () => {
        talker = await connect('name=talker&room=rec2');
        seen = await sayInTurn(talker, 'rec2', 'a0', 'a1', 'a2');
      });

      let joins = 0;
      /** The frames `client` gets from a join with `since` up to a message said after it. */
      async function joinSince(client: ChatClient, since: string, id: string, extra: object = {}): Promise<Frame[]> {
        const from = client.frames.length;
        client.send({ type: 'join', room: 'rec2', since, id, ...extra });
        await client.next('joined', { id }, 5_000, from);
        const live = `live${joins++}`;
        await sayInTurn(talker, 'rec2', live);
        await client.next('message', { text: live }, 5_000, from);
        return client.frames.slice(from);
      }

      it('recovers a room left and joined again: joined recovered:true, the replays, then live', async () => {
        const reader = await connect('name=leaver&room=rec2-home');
        reader.send({ type: 'join', room: 'rec2', id: 'in' });
        await reader.next('joined', { id: 'in' });
        await sayInTurn(talker, 'rec2', 'b0');
        const last = await reader.next('message', { text: 'b0' });
        reader.send({ type: 'leave', room: 'rec2', id: 'out' });
        await reader.next('left', { id: 'out' });
        await sayInTurn(talker, 'rec2', 'b1', 'b2');
        const after = await joinSince(reader, String(last['pos']), 'back');
        expect(after[0]).to.include({ type: 'joined', room: 'rec2', id: 'back', recovered: true });
        expect(texts(after.slice(1, -1))).to.deep.equal(['b1 (replay)', 'b2 (replay)']);
        expect(after.at(-1)).not.to.have.property('replay');
      });

      it('recovers for a second client given another\'s position', async () => {
        const newcomer = await connect('name=newcomer&room=rec2-other');
        const followers = messagesIn(talker, 'rec2').slice(1).map((f) => `${f['text']} (replay)`);
        const after = await joinSince(newcomer, String(seen[0]!['pos']), 'given');
        expect(after[0]).to.include({ type: 'joined', room: 'rec2', id: 'given', recovered: true });
        expect(texts(after.slice(1, -1))).to.deep.equal(followers);
        expect(after.at(-1)).not.to.have.property('replay');
      });

      it('recovers with nothing to replay from the position of the room\'s newest message', async () => {
        const newest = messagesIn(talker, 'rec2').at(-1)!;
        const after = await joinSince(await connect('name=current&room=rec2-new'), String(newest['pos']), 'newest');
        expect(after[0]).to.include({ type: 'joined', room: 'rec2', id: 'newest', recovered: true });
        expect(after.slice(1).map((f) => [f.type, f['replay']])).to.deep.equal([['message', undefined]]);
      });

      for (const [what, since] of [
        ['a position that is not ours', () => 'x'],
        ['our format with another message\'s check', () => `${logDigits(seen[0]!['pos'])}-zzzzzzz`],
      ] as const) {
        it(`answers ${what} with recovered:false and the room's recent history, no wrong messages`, async () => {
          const client = await connect('name=stranger&room=rec2-away');
          const kept = () => messagesIn(talker, 'rec2').map((f) => `${f['text']} (replay)`);
          const all = kept();
          const after = await joinSince(client, since(), 'lost');
          expect(after[0]).to.include({ type: 'joined', room: 'rec2', id: 'lost', recovered: false });
          expect(texts(after.slice(1, -1))).to.deep.equal(all);
          expect(after.at(-1)).not.to.have.property('replay');

          const lastTwo = kept().slice(-2);
          const two = await joinSince(await connect('name=brief&room=rec2-away'), since(), 'two', { history: 2 });
          expect(two[0]).to.include({ recovered: false });
          expect(texts(two.slice(1, -1))).to.deep.equal(lastTwo);
        });
      }
    });

    it('shows the broker\'s offset and the relay\'s lag and history in /debug/tree, and counts recoveries in /metrics', async () => {
      const info = async (behaviour: string) => actors((await fetchTree(daemon())).tree).find((actor) => actor.behaviour === behaviour)!.info;
      const before = { broker: await info('broker'), relay: await info('relay'), metrics: await scrapeMetrics(daemon()) };
      const talker = await connect('name=observed&room=rec3');
      const [first] = await sayInTurn(talker, 'rec3', 'o0', 'o1', 'o2');
      await (await connect(`name=recovers&room=rec3&since=${String(first!['pos'])}`)).next('message', { text: 'o2', replay: true });
      await (await connect('name=loses&room=rec3&since=gone')).next('message', { text: 'o2', replay: true });

      const broker = await until('the offset to grow', () => info('broker'), (now) => Number(now['offset']) > Number(before.broker['offset'] ?? -1));
      expect(broker['offset']).to.be.a('number');
      const relay = await info('relay');
      expect(relay['historyMessages']).to.equal(Number(before.relay['historyMessages']) + 3);
      expect(relay['lagMs']).to.be.a('number').within(0, 60_000);
      const metrics = await scrapeMetrics(daemon());
      const grew = (name: string) => (metrics.get(name) ?? 0) - (before.metrics.get(name) ?? 0);
      expect(grew('warren_recoveries_total{outcome="recovered"}')).to.equal(1);
      expect(grew('warren_recoveries_total{outcome="not_recovered"}')).to.equal(1);
      expect(grew('warren_replayed_messages_total')).to.equal(2 + 3);
    });
  });
}

describe('recovery across daemons on one RabbitMQ', function () {
  this.timeout(60_000);

  describe('two daemons', () => {
    const first = useDaemon(RABBITMQ);
    const second = useDaemon(RABBITMQ);

    it('recovers a client that comes back on the other daemon, as on the one it left', async () => {
      await awayAndBack(first(), second(), 'rec4');
    });
  });

  describe('a daemon started after another stopped', () => {
    const { start, stop, stopAll, startSaying } = useRestarts(RABBITMQ);

    it('serves history and ?since= for messages from before its start', async () => {
      const { daemon: stopped, messages } = await startSaying('rec5', 'r0', 'r1', 'r2', 'r3');
      await stop(stopped);
      const daemon = await start();
      const client = await ChatClient.connect(daemon.wsUrl('name=later&room=rec5-home'));
      client.send({ type: 'join', room: 'rec5', history: 4, id: 'h' });
      await client.next('message', { text: 'r3' });
      expect(texts(messagesIn(client, 'rec5'))).to.deep.equal(['r0 (replay)', 'r1 (replay)', 'r2 (replay)', 'r3 (replay)']);
      const returned = await ChatClient.connect(daemon.wsUrl(`name=returns&room=rec5&since=${String(messages[1]!['pos'])}`));
      await returned.next('message', { text: 'r3' });
      expect(returned.welcome).to.include({ recovered: true });
      expect(texts(messagesIn(returned, 'rec5'))).to.deep.equal(['r2 (replay)', 'r3 (replay)']);
    });

    it('answers a position from before the stream was deleted and recreated with recovered:false and none of the old messages', async function () {
      const { node } = await sharedRabbit();
      // rabbitmqctl needs the private node's cookie: not there with an AMQP_URL of the user's.
      if (!node) this.skip();
      await stopAll();
      // From an empty stream each time, so that the old position's digits name a message of the new one.
      await node.ctl('delete_queue', STREAM);
      const old = await startSaying('rec6', ...lines('old', 4));
      await stop(old.daemon);
      await node.ctl('delete_queue', STREAM);
      await expectForgotten(old.messages, await startSaying('rec6', ...lines('new', 4)));
    });
  });
});

describe('recovery on the in-process bus, across a restart of the daemon', function () {
  this.timeout(60_000);
  const { stop, startSaying } = useRestarts(BROKERS[0]);

  it('answers a position from an earlier run with recovered:false, never with this run\'s messages as recovered', async () => {
    const old = await startSaying('rec7', ...lines('old', 4));
    await stop(old.daemon);
    await expectForgotten(old.messages, await startSaying('rec7', ...lines('new', 4)));
  });
});

/** Daemons a describe block starts and stops itself; those still running are stopped after it. */
function useRestarts(broker: (typeof BROKERS)[number]) {
  const running = new Set<Daemon>();
  const start = async () => {
    const amqpUrl = await broker.amqpUrl();
    const daemon = await Daemon.start(amqpUrl ? { amqpUrl } : {});
    running.add(daemon);
    return daemon;
  };
  const stop = async (daemon: Daemon) => {
    running.delete(daemon);
    await daemon.stop();
  };
  const stopAll = () => Promise.all([...running].map(stop));
  after(stopAll);
  /** A new daemon, on which a talker said `said` in `room` (and left); the messages as said. */
  const startSaying = async (room: string, ...said: string[]) => {
    const daemon = await start();
    const talker = await ChatClient.connect(daemon.wsUrl(`name=talker&room=${room}`));
    const messages = await sayInTurn(talker, room, ...said);
    await talker.close();
    return { daemon, messages };
  };
  return { start, stop, stopAll, startSaying };
}

/**
 * `now` is a daemon whose log starts over with messages said as `old`
 * were: the position of old[1] names now[1]'s place in the log. A client
 * coming back with it must learn that it may have missed something.
 */
async function expectForgotten(old: readonly Frame[], now: { daemon: Daemon; messages: readonly Frame[] }): Promise<void> {
  const room = String(old[0]!['room']);
  expect(now.messages.map((f) => logDigits(f['pos'])), 'the old position names a new message').to.include(logDigits(old[1]!['pos']));
  const returned = await ChatClient.connect(now.daemon.wsUrl(`name=returns&room=${room}&since=${String(old[1]!['pos'])}`));
  await returned.next('message', { text: now.messages.at(-1)!['text'] });
  expect(returned.welcome).to.include({ recovered: false });
  expect(texts(messagesIn(returned, room))).to.deep.equal(now.messages.map((f) => `${f['text']} (replay)`));
}
