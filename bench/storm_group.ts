/**
 * The clients one thread of the reconnect storm runs (storm.ts gives the
 * phases). Each client joins the storm's room and keeps the `pos` of the
 * message it saw; after the disconnect, the reconnect opens every client of
 * the thread at once with `?since=<pos>`, and each must get `welcome` with
 * `recovered: true`, then exactly the M missed messages as replays, in the
 * order they were said, then the one live message said after the storm.
 *
 * The replays are told apart by their bytes (frames.ts), not parsed: the
 * storm is over 100,000 frames and the load generator must stay cheap.
 * Only the welcome and the message seen before the disconnect are parsed.
 */
import WebSocket from 'ws';
import { closeAll, openAll } from './sockets';
import { FRAME_MESSAGE, FRAME_WELCOME, frameKind, nowUs, replayedNumberOf, sentUsOf } from './frames';

export interface StormLoad {
  readonly url: string;
  readonly room: string;
  /** Messages said while the clients were away: replays each must get. */
  readonly messages: number;
}

/** The number the live message said after the storm carries (frames.ts reads it back). */
export const AFTER_STORM = 999_999;
export const RECOVERED = 'recovered';

export interface StormGroupResult {
  readonly clients: number;
  /** Per client, by index in the group: from its reconnect to its last replay (NaN: not recovered). */
  readonly recoveryMs: Float64Array<ArrayBuffer>;
  /** Per client: from its reconnect to its welcome (NaN: none came). */
  readonly welcomeMs: Float64Array<ArrayBuffer>;
  /** The group's first reconnect and last recovery, on the shared clock (frames.ts). */
  readonly firstReconnectUs: number;
  readonly lastRecoveredUs: number;
  /** How each client ended: `recovered`, or what went wrong first. */
  readonly outcomes: Record<string, number>;
  /** Clients that got the live message after the storm, and nothing else after their replays. */
  readonly live: number;
}

export interface StormGroupEvents {
  /** Every client of the group is in the phase given (connected, marked, disconnected, settled, live). */
  reached(phase: StormPhase): void;
  failed(reason: string): void;
}

export type StormPhase = 'connected' | 'marked' | 'disconnected' | 'settled' | 'live';


interface StormClient {
  readonly index: number;
  ws?: WebSocket;
  pos?: string;
  reconnectUs: number;
  welcomeUs: number;
  recoveredUs: number;
  replays: number;
  /** Set once the client's storm has ended, well or not. */
  outcome?: string;
  live: boolean;
}

export class StormGroup {
  private readonly clients: StormClient[];
  private reconnecting = false;

  constructor(
    private readonly load: StormLoad,
    indices: readonly number[],
    private readonly events: StormGroupEvents,
  ) {
    this.clients = indices.map((index) => ({ index, reconnectUs: NaN, welcomeUs: NaN, recoveredUs: NaN, replays: 0, live: false }));
  }

  /** Opens every client, a hundred at a time, without `since`. */
  async connect(): Promise<void> {
    await openAll(this.clients, (client) => this.open(client));
    this.events.reached('connected');
  }

  async disconnect(): Promise<void> {
    await this.close();
    this.events.reached('disconnected');
  }

  /** Every client at once, each with the position it saw. */
  reconnect(): void {
    this.reconnecting = true;
    for (const client of this.clients) void this.open(client, client.pos).catch((error: Error) => this.end(client, `reconnect failed: ${error.message}`));
  }

  result(): StormGroupResult {
    const outcomes: Record<string, number> = {};
    for (const client of this.clients) {
      const outcome = client.outcome ?? (Number.isNaN(client.welcomeUs) ? 'no welcome' : `${client.replays} of ${this.load.messages} replays`);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    const since = (client: StormClient, at: number) => (at - client.reconnectUs) / 1000;
    return {
      clients: this.clients.length,
      recoveryMs: Float64Array.from(this.clients, (client) => (client.outcome === RECOVERED ? since(client, client.recoveredUs) : NaN)),
      welcomeMs: Float64Array.from(this.clients, (client) => since(client, client.welcomeUs)),
      firstReconnectUs: Math.min(...this.clients.map((client) => client.reconnectUs)),
      lastRecoveredUs: Math.max(...this.clients.map((client) => (client.outcome === RECOVERED ? client.recoveredUs : -Infinity))),
      outcomes,
      live: this.clients.filter((client) => client.live).length,
    };
  }

  /** Closes every open client, waiting a little for the server to answer. */
  async close(): Promise<void> {
    const sockets = this.clients.map((client) => client.ws);
    for (const client of this.clients) client.ws = undefined; // their closes are ours, not the server's
    await closeAll(sockets);
  }

  /** Resolves once the client's welcome came. */
  private open(client: StormClient, since?: string): Promise<void> {
    const query = `name=storm-${client.index}&room=${this.load.room}${since === undefined ? '' : `&since=${since}`}`;
    if (since !== undefined) client.reconnectUs = nowUs();
    const ws = new WebSocket(`${this.load.url}/websocket?${query}`, { perMessageDeflate: false, skipUTF8Validation: true });
    client.ws = ws;
    return new Promise((resolve, reject) => {
      ws.on('error', (error) => (client.ws === ws ? reject(new Error(`client ${client.index}: ${error.message}`)) : undefined));
      ws.on('close', (code) => {
        if (client.ws !== ws) return;
        if (this.reconnecting) this.end(client, `closed ${code}`);
        else this.events.failed(`client ${client.index} was closed by the server (code ${code}) before the storm`);
      });
      ws.on('message', (frame: Buffer) => {
        if (frameKind(frame) === FRAME_WELCOME) {
          this.welcomed(client, frame);
          resolve();
        } else if (frameKind(frame) === FRAME_MESSAGE) this.message(client, frame);
        else this.end(client, 'unexpected frame');
      });
    });
  }

  private welcomed(client: StormClient, frame: Buffer): void {
    if (!this.reconnecting) return;
    client.welcomeUs = nowUs();
    const { recovered } = JSON.parse(frame.toString()) as { recovered?: boolean };
    if (recovered !== true) this.end(client, `welcome recovered: ${String(recovered)}`);
  }

  private message(client: StormClient, frame: Buffer): void {
    if (!this.reconnecting) {
      // The message every client sees before the disconnect.
      if (client.pos !== undefined) return this.events.failed(`client ${client.index} got a second message before the disconnect`);
      client.pos = (JSON.parse(frame.toString()) as { pos: string }).pos;
      if (this.clients.every((c) => c.pos !== undefined)) this.events.reached('marked');
      return;
    }
    if (client.outcome === RECOVERED) {
      // After the replays, only the live message said after the storm may come, once.
      if (sentUsOf(frame) === AFTER_STORM && !client.live) {
        client.live = true;
        if (this.clients.every((c) => c.live || (c.outcome !== undefined && c.outcome !== RECOVERED))) this.events.reached('live');
      } else this.end(client, 'a message after the replays other than the live one');
      return;
    }
    if (client.outcome !== undefined) return;
    if (Number.isNaN(client.welcomeUs)) return this.end(client, 'a message before welcome');
    if (replayedNumberOf(frame) !== client.replays) return this.end(client, `replay ${client.replays + 1} missing, out of order or not a replay`);
    client.replays++;
    if (client.replays === this.load.messages) {
      client.recoveredUs = nowUs();
      this.end(client, RECOVERED);
    }
  }

  /** The client's storm is over, with this outcome; a recovered client that then gets more is not. */
  private end(client: StormClient, outcome: string): void {
    if (client.outcome === RECOVERED) {
      client.outcome = `recovered, then ${outcome}`;
      client.live = false;
    } else if (client.outcome === undefined) {
      client.outcome = outcome;
      if (this.clients.every((c) => c.outcome !== undefined)) this.events.reached('settled');
    }
  }
}
