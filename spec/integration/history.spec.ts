/**
 * `join` with `history` (PROTOCOL.md "Positions, history and recovery"),
 * against the daemon as users run it, on each broker: the room's last
 * messages come after `joined`, flagged as replays, oldest first, and
 * before anything live, with nothing doubled between the two.
 */
import { expect } from 'chai';
import { BROKERS } from '../support/brokers';
import { ChatClient, type Frame } from '../support/client';
import { useDaemon } from '../support/lifecycle';

const HISTORY_SIZE = 5;

for (const broker of BROKERS) {
  describe(`room history, on the ${broker.name}`, function () {
    this.timeout(30_000);
    const daemon = useDaemon(broker, { env: { HISTORY_SIZE: String(HISTORY_SIZE) } });
    const connect = (query: string) => ChatClient.connect(daemon().wsUrl(query));
    const texts = (frames: readonly Frame[]) => frames.map((f) => `${f['text']}${f['replay'] ? ' (replay)' : ''}`);

    async function say(client: ChatClient, room: string, ...lines: string[]): Promise<void> {
      for (const text of lines) client.send({ type: 'say', room, text, id: text });
      for (const text of lines) await client.next('ack', { id: text });
    }

    it('replays the last N messages after joined, oldest first and flagged, then delivers live ones only once', async () => {
      const alice = await connect('name=alice&room=h1');
      await say(alice, 'h1', 'one', 'two', 'three', 'four');
      const bob = await connect('name=bob');
      const from = bob.frames.length;
      bob.send({ type: 'join', room: 'h1', history: 3, id: 'j' });
      await bob.next('joined', { room: 'h1', id: 'j' }, 5_000, from);
      await say(alice, 'h1', 'five');
      await bob.next('message', { text: 'five' });
      const after = bob.frames.slice(from);
      expect(after.map((f) => f.type)).to.deep.equal(['joined', 'message', 'message', 'message', 'message']);
      expect(texts(after.slice(1))).to.deep.equal(['two (replay)', 'three (replay)', 'four (replay)', 'five']);
      const replayed = after[1]!;
      expect(replayed).to.include({ type: 'message', room: 'h1', from: 'alice', replay: true });
      expect(Object.keys(replayed)).to.include.members(['msgId', 'ts']);
    });

    it('keeps each room\'s last history.size messages, and replays none without history', async () => {
      const carol = await connect('name=carol&room=h2');
      const lines = Array.from({ length: HISTORY_SIZE + 3 }, (_, n) => `m${n}`);
      await say(carol, 'h2', ...lines);
      const dave = await connect('name=dave');
      dave.send({ type: 'join', room: 'h2', history: 100, id: 'all' });
      await dave.collect('message', HISTORY_SIZE);
      dave.send({ type: 'join', room: 'h2', id: 'again' });
      await dave.next('joined', { id: 'again' });
      const erin = await connect('name=erin');
      erin.send({ type: 'join', room: 'h2', id: 'plain' });
      await erin.next('joined', { id: 'plain' });
      dave.send({ type: 'ping', id: 'settled' });
      erin.send({ type: 'ping', id: 'settled' });
      await Promise.all([dave.next('pong', { id: 'settled' }), erin.next('pong', { id: 'settled' })]);
      expect(texts(dave.frames.filter((f) => f.type === 'message'))).to.deep.equal(lines.slice(-HISTORY_SIZE).map((text) => `${text} (replay)`));
      expect(erin.frames.filter((f) => f.type === 'message')).to.be.empty;
    });

    it('answers bad_request to a history that is not an integer from 0 to 100, and does not join', async () => {
      const client = await connect('name=frank');
      client.send({ type: 'join', room: 'h3', history: 101, id: 'big' });
      await client.next('error', { code: 'bad_request', id: 'big' });
      client.send({ type: 'say', room: 'h3', text: 'x', id: 'nj' });
      await client.next('error', { code: 'not_joined', id: 'nj' });
    });
  });
}
