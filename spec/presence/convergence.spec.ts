import { expect } from 'chai';
import fc from 'fast-check';
import { type PresenceMessage, Replica } from '../../lib/presence/replica';

const ROOMS = ['r1', 'r2'];
const USERS = ['u1', 'u2', 'u3'];
const NAMES = ['x', 'y'];
const DOWN_AFTER_MS = 3000;
/** Longer than any run: a down node stays in nodes(), where the spec looks for what it left. */
const FORGET_AFTER_MS = 3_600_000;
/** The quiet phase's heartbeat period: well within DOWN_AFTER_MS, as the presence server's is. */
const ROUND_MS = 500;

const key = (room: string, user: string) => `${room}/${user}`;
const KEYS = ROOMS.flatMap((room) => USERS.map((user) => [room, user] as const));

/** One daemon: its replica, and what its sockets are, which the replica is checked against. */
class Daemon {
  replica!: Replica;
  incarnation = 0;
  alive = true;
  /** (room, user) -> this daemon's connections, kept by the spec. */
  readonly connections = new Map<string, number>();
  /** (room, user) -> the count at the replica's last onChange for it. */
  readonly told = new Map<string, number>();

  constructor(
    readonly id: string,
    private readonly snapshotPartEntries: number,
    private readonly retireBudget: number | undefined,
  ) {
    this.start();
  }

  /** A new process: a higher incarnation, no sockets. */
  start(): void {
    this.incarnation++;
    this.alive = true;
    this.connections.clear();
    this.told.clear();
    const replica = new Replica({
      node: this.id,
      incarnation: this.incarnation,
      downAfterMs: DOWN_AFTER_MS,
      forgetAfterMs: FORGET_AFTER_MS,
      snapshotPartEntries: this.snapshotPartEntries,
      retireBudget: this.retireBudget,
      onChange: (room, user) => {
        const now = replica.member(room, user)?.connections ?? 0;
        // Each call is a real change: so a join (0 -> n) and a leave (n -> 0) of a user alternate.
        expect(now, `${this.id} told of ${key(room, user)} without a change`).to.not.equal(this.told.get(key(room, user)) ?? 0);
        this.told.set(key(room, user), now);
      },
    });
    this.replica = replica;
  }

  /** Every change was told: what onChange last said is the count now. */
  expectToldEverything(): void {
    for (const [room, user] of KEYS) {
      expect(this.told.get(key(room, user)) ?? 0, `${this.id} not told of ${key(room, user)}`).to.equal(this.replica.member(room, user)?.connections ?? 0);
    }
  }
}

type Op =
  | { readonly op: 'track'; readonly node: number; readonly room: string; readonly user: string; readonly name: string }
  | { readonly op: 'untrack'; readonly node: number; readonly room: string; readonly user: string }
  | { readonly op: 'outbox' | 'heartbeat' | 'restart'; readonly node: number }
  | { readonly op: 'kill'; readonly node: number; readonly goodbye: boolean }
  | { readonly op: 'deliver'; readonly pick: number; readonly duplicate: boolean }
  | { readonly op: 'lose'; readonly pick: number }
  | { readonly op: 'advance'; readonly ms: number };

const node = fc.nat(3);
const room = fc.constantFrom(...ROOMS);
const user = fc.constantFrom(...USERS);
const ops = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('track' as const), node, room, user, name: fc.constantFrom(...NAMES) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('untrack' as const), node, room, user }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('outbox' as const, 'heartbeat' as const), node }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('restart' as const), node }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('kill' as const), node, goodbye: fc.boolean() }) },
    { weight: 8, arbitrary: fc.record({ op: fc.constant('deliver' as const), pick: fc.nat(), duplicate: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('lose' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.nat(2 * DOWN_AFTER_MS) }) },
  ),
  // fast-check keeps arrays short by default (its 'small' size): too short for a fault to follow a change.
  { maxLength: 150, size: 'max' },
);

/** Daemons on a fanout that, until settle(), loses, duplicates and reorders what it carries. */
class Cluster {
  readonly daemons: Daemon[];
  /** Copies of published messages on their way, one per daemon (the sender's own included). */
  private inFlight: Array<{ readonly to: Daemon; readonly message: PresenceMessage }> = [];
  private now = 0;

  constructor(size: number, snapshotPartEntries: number, retireBudget?: number) {
    this.daemons = Array.from({ length: size }, (_, i) => new Daemon(`n${i}`, snapshotPartEntries, retireBudget));
    for (const daemon of this.daemons) this.publish(daemon.replica.hello());
  }

  run(op: Op): void {
    const daemon = 'node' in op ? this.daemons[op.node % this.daemons.length]! : undefined;
    if (daemon && !daemon.alive && op.op !== 'restart') return;
    switch (op.op) {
      case 'track': {
        daemon!.connections.set(key(op.room, op.user), (daemon!.connections.get(key(op.room, op.user)) ?? 0) + 1);
        daemon!.replica.track(op.room, op.user, op.name);
        break;
      }
      case 'untrack': {
        const count = daemon!.connections.get(key(op.room, op.user)) ?? 0;
        if (count > 0) daemon!.connections.set(key(op.room, op.user), count - 1);
        daemon!.replica.untrack(op.room, op.user);
        break;
      }
      case 'outbox':
        this.publish(...daemon!.replica.outbox(this.now));
        break;
      case 'heartbeat':
        this.publish(daemon!.replica.heartbeat());
        break;
      case 'restart':
        daemon!.start();
        this.publish(daemon!.replica.hello());
        break;
      case 'kill':
        // One daemon stays, or there would be nothing left to check.
        if (this.live().length === 1) return;
        if (op.goodbye) this.publish(daemon!.replica.goodbye());
        daemon!.alive = false;
        break;
      case 'deliver': {
        const copy = this.take(op.pick);
        if (copy && op.duplicate) this.inFlight.push(copy);
        if (copy) this.deliver(copy);
        break;
      }
      case 'lose':
        this.take(op.pick);
        break;
      case 'advance':
        this.advance(op.ms);
        break;
    }
  }

  /**
   * The network as it is once faults stop: every live daemon publishes its
   * outbox and a heartbeat each round and everything arrives, until the
   * killed daemons are past downAfterMs and no replica has anything left to say.
   */
  settle(): void {
    const quietFrom = this.now;
    for (let round = 0; this.now - quietFrom <= DOWN_AFTER_MS || this.live().some(({ replica }) => replica.pending || replica.retiring); round++) {
      expect(round, 'settled within 50 rounds').to.be.below(50);
      for (const daemon of this.live()) this.publish(...daemon.replica.outbox(this.now), daemon.replica.heartbeat());
      while (this.inFlight.length > 0) this.deliver(this.take(0)!);
      this.advance(ROUND_MS);
    }
  }

  live(): Daemon[] {
    return this.daemons.filter((daemon) => daemon.alive);
  }

  /** What every live daemon's sockets add up to: room -> user -> connections. */
  expected(): Map<string, Map<string, number>> {
    const rooms = new Map<string, Map<string, number>>();
    for (const daemon of this.live()) {
      for (const [room, user] of KEYS) {
        const count = daemon.connections.get(key(room, user)) ?? 0;
        if (count === 0) continue;
        if (!rooms.has(room)) rooms.set(room, new Map());
        rooms.get(room)!.set(user, (rooms.get(room)!.get(user) ?? 0) + count);
      }
    }
    return rooms;
  }

  private publish(...messages: PresenceMessage[]): void {
    for (const message of messages) {
      const wire = JSON.stringify(message);
      for (const to of this.daemons) this.inFlight.push({ to, message: JSON.parse(wire) as PresenceMessage });
    }
  }

  private take(pick: number) {
    return this.inFlight.length === 0 ? undefined : this.inFlight.splice(pick % this.inFlight.length, 1)[0];
  }

  private deliver({ to, message }: { readonly to: Daemon; readonly message: PresenceMessage }): void {
    if (to.alive) to.replica.receive(message, this.now);
  }

  /** Time passes: every replica ticks, and takes some of what it dropped off its view, as the presence server does each turn. */
  private advance(ms: number): void {
    this.now += ms;
    for (const daemon of this.live()) {
      daemon.replica.tick(this.now);
      daemon.replica.retire();
    }
  }
}

function expectConverged(cluster: Cluster): void {
  const expected = cluster.expected();
  for (const daemon of cluster.live()) {
    const { replica } = daemon;
    expect(replica.rooms, `${daemon.id}: rooms`).to.equal(expected.size);
    for (const room of ROOMS) {
      const users = expected.get(room) ?? new Map<string, number>();
      const members = [...replica.members(room)];
      expect(new Map(members.map(([user, member]) => [user, member.connections])), `${daemon.id}: ${room}`).to.deep.equal(users);
      for (const [, member] of members) expect(NAMES).to.include(member.name);
      expect(replica.counts(room), `${daemon.id}: counts of ${room}`).to.deep.equal({ users: users.size, connections: [...users.values()].reduce((sum, n) => sum + n, 0) });
    }
    for (const other of cluster.daemons) {
      if (other === daemon) continue;
      const known = replica.nodes().find((info) => info.node === other.id);
      const slice = [...other.connections.values()].filter((count) => count > 0).length;
      if (other.alive) expect(known, `${daemon.id} knows ${other.id}`).to.deep.include({ incarnation: other.incarnation, up: true, seq: other.replica.seq, entries: slice });
      else if (known) expect(known, `${daemon.id}: nothing left of ${other.id}`).to.deep.include({ up: false, entries: 0 });
    }
  }
}

describe('presence/convergence', () => {
  it('every live replica ends with the sum of the live daemons\' connections, after loss, duplication, reordering, restarts and kills, with snapshots in one part or several, telling every change of a count once', () => {
    fc.assert(
      // A slice holds up to KEYS.length entries: parts of 1 or 2 make a snapshot of several.
      fc.property(fc.integer({ min: 2, max: 4 }), fc.constantFrom(1, 2, KEYS.length), fc.constantFrom(1, 2, undefined), ops, (size, snapshotPartEntries, retireBudget, steps) => {
        const cluster = new Cluster(size, snapshotPartEntries, retireBudget);
        for (const step of steps) {
          cluster.run(step);
          for (const daemon of cluster.live()) daemon.expectToldEverything();
        }
        cluster.settle();
        for (const daemon of cluster.live()) daemon.expectToldEverything();
        expectConverged(cluster);
      }),
      { numRuns: 150 },
    );
  });
});
