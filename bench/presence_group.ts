/**
 * The clients one thread of the presence run runs (presence.ts gives the
 * steps). Client i connects to a room of its own, `p-<i>`, so that its later
 * `join` of the shared room is a join and nothing else. On a `join` step the
 * clients of the range send `{"type":"join","room":<room>,"presence":true}`,
 * in order, at once; each waits for its `presence` frame. A step is settled
 * once every client in the room has been told, by a `presence_diff`, the
 * room's size after the step: the diff that announces the step's last change
 * has reached everyone. Every client records when each of its diffs came.
 */
import WebSocket from 'ws';
import { nowUs } from './frames';
import { closeAll, openAll } from './sockets';

export interface PresenceLoad {
  readonly url: string;
  readonly room: string;
}

export type PresencePhase = 'connected' | `joined:${number}` | `settled:${number}`;

/** A step: the clients of [from, to) join (or leave) the room, which then has `users` members. */
export interface PresenceStep {
  readonly type: 'join' | 'leave';
  readonly step: number;
  readonly from: number;
  readonly to: number;
  readonly users: number;
  /** firstDiffUs counts from this step; false: from the step before. */
  readonly timed: boolean;
}

/** What a presence frame said: the room's size and how many members it listed. */
export interface PresenceSeen {
  readonly index: number;
  readonly users: number;
  readonly listed: number;
  readonly truncated: boolean;
}

/** Arrivals of one member's diffs: the most within any one second, the shortest gap between two. */
export interface DiffRates {
  readonly maxInSecond: number;
  readonly minGapMs: number;
}

export interface PresenceGroupResult extends DiffRates {
  readonly clients: number;
  /** presence_diff frames received, by every client of the group. */
  readonly diffs: number;
  /** The first diff any client got after the latest timed step was posted, on the shared clock (frames.ts); Infinity: none. */
  readonly firstDiffUs: number;
  /** The last diff any client got (0: none). */
  readonly lastDiffUs: number;
  /** The latest presence frame a client of the group got. */
  readonly presence?: PresenceSeen;
  /** Error frames by code, and anything else unexpected. */
  readonly errors: Record<string, number>;
}

export interface PresenceGroupEvents {
  reached(phase: PresencePhase): void;
  failed(reason: string): void;
}

const SECOND_MS = 1_000;

interface PresenceClient {
  readonly index: number;
  ws?: WebSocket;
  /** Got its presence frame and has not left. */
  inRoom: boolean;
  /** Sent a join whose presence frame has not come yet. */
  joining: boolean;
  /** The `users` of its last diff. */
  users: number;
  readonly diffAtMs: number[];
}

/**
 * The most arrivals within any one second (a half-open window: diffs exactly
 * 250 ms apart make 4) and the shortest gap between consecutive ones
 * (Infinity with fewer than two). `atMs` ascending.
 */
export function diffRates(atMs: readonly number[]): DiffRates {
  let maxInSecond = 0;
  let minGapMs = Infinity;
  for (let i = 0, first = 0; i < atMs.length; i++) {
    while (atMs[i]! - atMs[first]! >= SECOND_MS) first++;
    maxInSecond = Math.max(maxInSecond, i - first + 1);
    if (i > 0) minGapMs = Math.min(minGapMs, atMs[i]! - atMs[i - 1]!);
  }
  return { maxInSecond, minGapMs };
}

export class PresenceGroup {
  private readonly clients: PresenceClient[];
  private readonly errors: Record<string, number> = {};
  private step?: PresenceStep;
  /** The step's joins have all been answered (said once per step). */
  private joined = false;
  private joining = 0;
  private inRoom = 0;
  /** Clients in the room whose last diff gave the step's size. */
  private told = 0;
  private firstDiffUs = Infinity;
  private lastDiffUs = 0;
  private presence?: PresenceSeen;
  private closing = false;

  constructor(
    private readonly load: PresenceLoad,
    indices: readonly number[],
    private readonly events: PresenceGroupEvents,
  ) {
    this.clients = indices.map((index) => ({ index, inRoom: false, joining: false, users: NaN, diffAtMs: [] }));
  }

  /** Opens every client, each to its own room. */
  async connect(): Promise<void> {
    await openAll(this.clients, (client) => this.open(client));
    this.events.reached('connected');
  }

  run(step: PresenceStep): void {
    this.step = step;
    this.joined = false;
    if (step.timed) this.firstDiffUs = Infinity;
    this.told = this.clients.filter((c) => c.inRoom && c.users === step.users).length;
    for (const client of this.clients) {
      if (client.index < step.from || client.index >= step.to) continue;
      if (step.type === 'join') {
        client.joining = true;
        this.joining++;
      } else this.leave(client);
      client.ws!.send(JSON.stringify({ type: step.type, room: this.load.room, ...(step.type === 'join' && { presence: true }) }));
    }
    this.check();
  }

  result(): PresenceGroupResult {
    let diffs = 0;
    let maxInSecond = 0;
    let minGapMs = Infinity;
    for (const client of this.clients) {
      const rates = diffRates(client.diffAtMs);
      diffs += client.diffAtMs.length;
      maxInSecond = Math.max(maxInSecond, rates.maxInSecond);
      minGapMs = Math.min(minGapMs, rates.minGapMs);
    }
    return {
      clients: this.clients.length,
      diffs,
      maxInSecond,
      minGapMs,
      firstDiffUs: this.firstDiffUs,
      lastDiffUs: this.lastDiffUs,
      ...(this.presence && { presence: this.presence }),
      errors: { ...this.errors },
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    await closeAll(this.clients.map((client) => client.ws));
  }

  /** Resolves once the client's welcome came. */
  private open(client: PresenceClient): Promise<void> {
    const ws = new WebSocket(`${this.load.url}/websocket?name=p-${client.index}&room=p-${client.index}`, { perMessageDeflate: false });
    client.ws = ws;
    return new Promise((resolve, reject) => {
      ws.once('error', (error) => reject(new Error(`client ${client.index}: ${error.message}`)));
      ws.on('close', (code) => (this.closing ? undefined : this.events.failed(`client ${client.index} was closed by the server (code ${code})`)));
      ws.on('message', (data: Buffer) => {
        const frame = data.toString();
        if (frame.startsWith('{"type":"welcome"')) resolve();
        else if (frame.startsWith('{"type":"presence_diff"')) this.diff(client, frame);
        else if (frame.startsWith('{"type":"presence"')) this.presenceFrame(client, frame);
        else if (frame.startsWith('{"type":"error"')) this.count(`error ${(JSON.parse(frame) as { code: string }).code}`);
        else if (!frame.startsWith('{"type":"joined"') && !frame.startsWith('{"type":"left"')) this.count('unexpected frame');
      });
    });
  }

  private presenceFrame(client: PresenceClient, frame: string): void {
    const { users, members, truncated } = JSON.parse(frame) as { users: number; members: unknown[]; truncated?: boolean };
    this.presence = { index: client.index, users, listed: members.length, truncated: truncated === true };
    if (!client.joining) return this.count('a presence frame not asked for');
    client.joining = false;
    this.joining--;
    client.inRoom = true;
    client.users = NaN; // told by the diffs from now on
    this.inRoom++;
    this.check();
  }

  private diff(client: PresenceClient, frame: string): void {
    const at = nowUs();
    client.diffAtMs.push(at / 1000);
    this.firstDiffUs = Math.min(this.firstDiffUs, at);
    this.lastDiffUs = at;
    // Not yet in the room, or its leave sent: a diff already on its way when the server saw the leave.
    if (!client.inRoom) return;
    const { users } = JSON.parse(frame) as { users: number };
    const target = this.step?.users;
    this.told += Number(users === target) - Number(client.users === target);
    client.users = users;
    this.check();
  }

  private leave(client: PresenceClient): void {
    if (!client.inRoom) return;
    client.inRoom = false;
    this.inRoom--;
    if (client.users === this.step?.users) this.told--;
  }

  private check(): void {
    const step = this.step;
    if (!step || this.joining > 0) return;
    if (!this.joined) this.events.reached(`joined:${step.step}`);
    this.joined = true;
    if (this.told === this.inRoom) {
      this.events.reached(`settled:${step.step}`);
      this.step = undefined;
    }
  }

  private count(what: string): void {
    this.errors[what] = (this.errors[what] ?? 0) + 1;
  }
}
