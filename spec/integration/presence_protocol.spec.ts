/**
 * Presence as one node serves it (PROTOCOL.md "Presence", `join` with
 * `presence`, the `presence` command), on both brokers: the in-process bus
 * takes the same code path as RabbitMQ, with one node.
 */
import { expect } from 'chai';
import { BROKERS } from '../support/brokers';
import { connectionOf, fetchTree, killActor } from '../support/admin';
import { ChatClient, type Frame } from '../support/client';
import { until } from '../support/eventually';
import { useDaemon } from '../support/lifecycle';
import { PresenceView } from '../support/presence_view';

const WINDOW_MS = 250;

for (const broker of BROKERS) {
  describe(`presence on one node, on the ${broker.name}`, function () {
    this.timeout(60_000);
    const daemon = useDaemon(broker, { env: { PRESENCE_MAX_LISTED: '1000' } });
    const connect = (name: string, room: string) => ChatClient.connect(daemon().wsUrl(`name=${name}&room=${room}`));

    it('sends joined, then the replay, then the presence frame listing the joining connection itself', async () => {
      const speaker = await connect('speaker', 'order');
      for (const text of ['one', 'two']) speaker.send({ type: 'say', text, id: text });
      await speaker.next('ack', { id: 'two' });
      const joiner = await connect('joiner', 'lobby');
      const from = joiner.frames.length;
      joiner.send({ type: 'join', room: 'order', history: 2, presence: true, id: 'j' });
      const presence = await joiner.next('presence', { room: 'order' });
      const types = joiner.frames.slice(from).map((frame) => frame.type);
      expect(types).to.deep.equal(['joined', 'message', 'message', 'presence']);
      expect(presence['id'], 'the join\'s id is on joined only').to.equal(undefined);
      const users = (presence['members'] as Array<{ user: string; name: string }>).map((member) => member.name).sort();
      expect(users).to.deep.equal(['joiner', 'speaker']);
      expect(presence).to.include({ users: 2, connections: 2 });
      expect(presence['members']).to.deep.include({ user: joiner.welcome['user'], name: 'joiner', connections: 1 });
    });

    it('recovers with since, then sends the presence frame after the recovered messages', async () => {
      const speaker = await connect('speaker', 'since');
      speaker.send({ type: 'say', text: 'first', id: 'f' });
      const first = await speaker.next('message', { text: 'first' });
      speaker.send({ type: 'say', text: 'missed', id: 'm' });
      await speaker.next('ack', { id: 'm' });
      const joiner = await connect('joiner', 'lobby');
      const from = joiner.frames.length;
      joiner.send({ type: 'join', room: 'since', since: first['pos'], presence: true });
      await joiner.next('presence', { room: 'since' });
      expect(joiner.frames.slice(from).map((frame) => [frame.type, frame['text'] ?? frame['recovered']])).to.deep.equal([
        ['joined', true],
        ['message', 'missed'],
        ['presence', undefined],
      ]);
    });

    it('answers the presence command for a joined room, echoing its id; not_joined for another; a connection joined at connect is a member', async () => {
      const anna = await connect('anna', 'command');
      const bert = await connect('bert', 'command');
      bert.send({ type: 'presence', room: 'command', id: 'who' });
      const answer = await bert.next('presence', { id: 'who' });
      expect((answer['members'] as Frame[]).map((member) => member['name']).sort()).to.deep.equal(['anna', 'bert']);
      expect(answer).to.include({ room: 'command', users: 2, connections: 2 });
      expect(answer['members']).to.deep.include({ user: anna.welcome['user'], name: 'anna', connections: 1 });
      bert.send({ type: 'presence', room: 'elsewhere', id: 'nope' });
      expect(await bert.next('error', { id: 'nope' })).to.include({ code: 'not_joined' });
      bert.send({ type: 'join', room: 'command', presence: 'yes', id: 'bad' });
      expect(await bert.next('error', { id: 'bad' })).to.include({ code: 'bad_request', message: 'presence: expected true or false' });
    });

    it('announces joins and leaves to the connections that asked, each anonymous connection a user of its own', async () => {
      const watcher = await connect('watcher', 'lobby');
      const view = new PresenceView(watcher, 'diffs');
      watcher.send({ type: 'join', room: 'diffs', presence: true });
      await view.until('the presence frame', (seen) => seen.frames.length === 1);
      const quiet = await connect('quiet', 'diffs');
      const again = await connect('quiet', 'diffs');
      await view.until('both', (seen) => seen.users === 3);
      expect(view.changesOf(String(quiet.welcome['user']))).to.deep.equal(['join']);
      expect(view.changesOf(String(again.welcome['user']))).to.deep.equal(['join']);
      expect(view.members.get(String(quiet.welcome['user']))).to.deep.equal({ name: 'quiet' });
      expect(quiet.frames.some((frame) => frame.type.startsWith('presence')), 'no presence without asking').to.equal(false);

      quiet.send({ type: 'leave', room: 'diffs', id: 'l' });
      await quiet.next('left', { id: 'l' });
      await again.close();
      await view.until('both gone', (seen) => seen.users === 1 && seen.connections === 1);
      expect(view.changesOf(String(quiet.welcome['user']))).to.deep.equal(['join', 'leave']);
      expect(view.changesOf(String(again.welcome['user']))).to.deep.equal(['join', 'leave']);

      watcher.send({ type: 'leave', room: 'diffs' });
      await watcher.next('left', { room: 'diffs' });
      const frames = view.frames.length;
      await connect('late', 'diffs');
      watcher.send({ type: 'ping', id: 'after' });
      await watcher.next('pong', { id: 'after' });
      await new Promise((resolve) => setTimeout(resolve, 2 * WINDOW_MS));
      expect(view.frames.length, 'no diffs after leave').to.equal(frames);
    });

    it('keeps the diffs coming to a connection whose consumer crashed and was restarted, as a member still', async () => {
      const keeper = await connect('keeper', 'lobby');
      const view = new PresenceView(keeper, 'restart');
      keeper.send({ type: 'join', room: 'restart', presence: true });
      await view.until('the presence frame', (seen) => seen.frames.length === 1);
      const before = connectionOf((await fetchTree(daemon())).tree, 'keeper')!;
      await killActor(daemon(), before.children[0]!.path);
      await until('the consumer restarted', async () => connectionOf((await fetchTree(daemon())).tree, 'keeper')!.children[0]?.restarts, (restarts) => restarts === 1);
      const newcomer = await connect('newcomer', 'restart');
      await view.until('the newcomer, through the new consumer', (seen) => seen.members.has(String(newcomer.welcome['user'])));
      expect(view.changesOf(String(keeper.welcome['user'])), 'the keeper never left').to.deep.equal([]);
      expect(view.users).to.equal(2);
    });

    it('coalesces a burst of 60 joins into at most one diff per 250 ms, and a join and leave within one window into nothing', async () => {
      const watcher = await connect('watcher', 'lobby');
      const view = new PresenceView(watcher, 'burst');
      watcher.send({ type: 'join', room: 'burst', presence: true });
      await view.until('the presence frame', (seen) => seen.frames.length === 1);
      const startedAt = Date.now();
      const crowd = await Promise.all(Array.from({ length: 60 }, (_, index) => connect(`b${index}`, 'burst')));
      await view.until('all 60', (seen) => seen.users === 61);
      const settledAt = Date.now();
      // Their spacing as sent is the coalescer's spec; as received, a loaded machine bunches them.
      expect(view.frames.length - 1).to.be.at.most(Math.ceil((settledAt - startedAt) / WINDOW_MS) + 1);
      for (const client of crowd) expect(view.changesOf(String(client.welcome['user']))).to.deep.equal(['join']);

      // A flash: in and out within the window that a diff just opened, announced neither way.
      const flash = await connect('flash', 'lobby');
      const opener = await connect('opener', 'burst');
      await view.until('the opener', (seen) => seen.members.has(String(opener.welcome['user'])));
      flash.send({ type: 'join', room: 'burst', id: 'in' });
      flash.send({ type: 'leave', room: 'burst', id: 'out' });
      await flash.next('left', { id: 'out' });
      await new Promise((resolve) => setTimeout(resolve, 3 * WINDOW_MS));
      expect(view.changesOf(String(flash.welcome['user']))).to.deep.equal([]);
    });
  });
}
