/**
 * The clients one thread of the load generator runs: client i (of the whole
 * run) is in room i mod R. After the start signal each sends M `say`s with
 * an `id` (so acks come back), in a burst paced under the daemon's rate
 * limit or evenly spaced at a given rate (pacing.ts), and counts the messages of its
 * room and the time each took from `send` to receipt.
 *
 * This is the hot loop of the load generator, which must cost far less than
 * the server it measures: frames are read by their bytes (frames.ts),
 * samples go to preallocated typed arrays, one timer paces every client.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { FRAME_ACK, FRAME_ERROR, FRAME_MESSAGE, FRAME_WELCOME, frameKind, nowUs, paddingFor, sayFrame, sentUsOf } from './frames';
import { CONNECTS_IN_FLIGHT, roomSizes } from './options';
import { burstSchedule, pacedSchedule, type Schedule } from './pacing';
import { offeredProtocols } from './subprotocol';

export interface Load {
  readonly url: string;
  readonly clients: number;
  readonly messages: number;
  readonly rooms: number;
  readonly payload: number;
  readonly rate: number;
  readonly burst: number;
  readonly timeoutMs: number;
  /** Paced mode: each client's M says evenly spaced at this many per second; absent: a burst. */
  readonly ratePerClient?: number;
  /** The deliveries of says sent (or scheduled) this long after the start signal are not sampled: the threads' code is still cold then. */
  readonly warmupMs?: number;
  /** With --auth: client i's token (of the whole run), offered as a subprotocol. */
  readonly tokens?: readonly string[];
}

export interface GroupCounts {
  connected: number;
  delivered: number;
  /** Says acked or refused. */
  answered: number;
  lastDeliveryUs: number;
  /** The first connect attempt and the last welcome (0: none yet), on the shared clock. */
  firstAttemptUs: number;
  lastWelcomeUs: number;
}

export function emptyCounts(): GroupCounts {
  return { connected: 0, delivered: 0, answered: 0, lastDeliveryUs: 0, firstAttemptUs: 0, lastWelcomeUs: 0 };
}

export interface GroupResult extends GroupCounts {
  readonly expected: number;
  readonly lost: number;
  readonly acks: number;
  readonly errors: Record<string, number>;
  readonly latencyMs: Float32Array<ArrayBuffer>;
  readonly receivedAtMs: Float32Array<ArrayBuffer>;
}

export interface GroupEvents {
  /** Every client got its room's messages and every say was answered. */
  done(): void;
  /** The run cannot complete: a client was closed by the server. */
  failed(reason: string): void;
}

const CLOSE_WAIT_MS = 5_000;

interface Client {
  readonly ws: WebSocket;
  /** Of the whole run. */
  readonly index: number;
  readonly room: number;
  /** Deliveries this client must get: its room's size × M. */
  readonly share: number;
  received: number;
  sent: number;
  welcomed(): void;
}

export class ClientGroup {
  readonly counts: GroupCounts = emptyCounts();
  private readonly clients: Client[] = [];
  private readonly sizes: number[];
  private readonly padding: string;
  private readonly expected: number;
  private readonly latencyMs: Float32Array<ArrayBuffer>;
  private readonly receivedAtMs: Float32Array<ArrayBuffer>;
  private readonly errors: Record<string, number> = {};
  private readonly schedule: Schedule;
  private acks = 0;
  private samples = 0;
  private startUs = 0;
  private sampleFromUs = -Infinity;
  private pacer?: NodeJS.Timeout;
  private closing = false;

  /** `indices`: which clients of the run this group runs. */
  constructor(
    private readonly load: Load,
    private readonly indices: readonly number[],
    private readonly events: GroupEvents,
  ) {
    this.sizes = roomSizes(load.clients, load.rooms);
    this.padding = paddingFor(load.payload);
    this.expected = indices.reduce((sum, i) => sum + this.sizes[i % load.rooms]! * load.messages, 0);
    this.latencyMs = new Float32Array(this.expected);
    this.receivedAtMs = new Float32Array(this.expected);
    this.schedule =
      load.ratePerClient === undefined ? burstSchedule(load.messages, load.rate, load.burst) : pacedSchedule(load.clients, load.messages, load.ratePerClient);
  }

  /** Opens every connection and waits for each one's welcome; on a failure closes them all. */
  async connect(): Promise<void> {
    let next = 0;
    const opener = async () => {
      for (let i = next++; i < this.indices.length; i = next++) await this.open(this.indices[i]!);
    };
    try {
      await Promise.all(Array.from({ length: Math.min(CONNECTS_IN_FLIGHT, this.indices.length) }, opener));
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** The start signal, at `startUs` on the shared clock (frames.ts). */
  start(startUs: number): void {
    this.startUs = startUs;
    if (this.load.warmupMs !== undefined) this.sampleFromUs = startUs + this.load.warmupMs * 1000;
    // Whether every client has sent all its says.
    const sendDue = () => {
      const elapsedUs = nowUs() - startUs;
      for (const client of this.clients) this.sendUpTo(client, this.schedule.due(client.index, elapsedUs));
      return this.clients.every((client) => client.sent === this.load.messages);
    };
    if (!sendDue()) this.pacer = setInterval(() => sendDue() && clearInterval(this.pacer), this.schedule.tickMs);
    this.checkDone();
  }

  result(): GroupResult {
    clearInterval(this.pacer);
    return {
      ...this.counts,
      expected: this.expected,
      lost: this.clients.reduce((sum, client) => sum + Math.max(0, client.share - client.received), 0),
      acks: this.acks,
      errors: this.errors,
      latencyMs: this.latencyMs.slice(0, this.samples),
      receivedAtMs: this.receivedAtMs.slice(0, this.samples),
    };
  }

  /** Closes every connection, waiting a little for the server to answer. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.pacer);
    const open = this.clients.filter((client) => client.ws.readyState !== WebSocket.CLOSED);
    const closed = Promise.all(open.map((client) => new Promise((resolve) => client.ws.once('close', resolve))));
    for (const client of open) client.ws.close(1000);
    const timer = setTimeout(() => open.forEach((client) => client.ws.terminate()), CLOSE_WAIT_MS);
    await closed;
    clearTimeout(timer);
  }

  /** Resolves once the client's welcome came. */
  private open(index: number): Promise<void> {
    const room = index % this.load.rooms;
    const token = this.load.tokens?.[index];
    this.counts.firstAttemptUs ||= nowUs();
    const ws = new WebSocket(`${this.load.url}/websocket?name=bench-${index}&room=bench-${room}`, token === undefined ? [] : offeredProtocols(token), {
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    return new Promise((resolve, reject) => {
      const welcomed = () => {
        this.counts.connected++;
        this.counts.lastWelcomeUs = nowUs();
        resolve();
      };
      const client: Client = { ws, index, room, share: this.sizes[room]! * this.load.messages, received: 0, sent: 0, welcomed };
      this.clients.push(client);
      ws.on('error', (error) => (this.closing ? undefined : reject(new Error(`client ${index}: ${error.message}`))));
      ws.on('close', (code, reason) => {
        if (this.closing) return;
        this.count(`closed ${code}`);
        this.events.failed(`client ${index} was closed by the server (code ${code}${reason.length > 0 ? `: ${reason.toString()}` : ''})`);
      });
      ws.on('message', (data: Buffer) => this.receive(client, data));
    });
  }

  private receive(client: Client, frame: Buffer): void {
    const kind = frameKind(frame);
    if (kind === FRAME_MESSAGE) {
      const now = nowUs();
      const sent = sentUsOf(frame);
      if (Number.isNaN(sent)) return this.count('unreadable message');
      client.received++;
      const i = this.counts.delivered++;
      if (this.samples < this.expected && sent >= this.sampleFromUs) {
        this.latencyMs[this.samples] = (now - sent) / 1000;
        this.receivedAtMs[this.samples++] = (now - this.startUs) / 1000;
      }
      this.counts.lastDeliveryUs = now;
      if (i + 1 === this.expected) this.checkDone();
    } else if (kind === FRAME_ACK) {
      this.acks++;
      this.counts.answered++;
      this.checkDone();
    } else if (kind === FRAME_ERROR) {
      // Rare by design: a full parse is fine here.
      const error = JSON.parse(frame.toString()) as { code?: string; id?: string };
      this.count(error.code ?? 'error');
      if (error.id !== undefined) this.counts.answered++;
    } else if (kind === FRAME_WELCOME) client.welcomed();
    else this.count('unexpected frame');
  }

  private sendUpTo(client: Client, count: number): void {
    // One write for the whole burst instead of one per frame: a burst of 100
    // costs about a quarter of the CPU. ws has no public cork, hence _socket.
    const socket = (client.ws as unknown as { _socket?: Socket })._socket;
    socket?.cork();
    for (; client.sent < count; client.sent++) {
      client.ws.send(sayFrame(this.schedule.stampUs(client.index, client.sent, this.startUs, nowUs()), String(client.sent), this.padding));
    }
    socket?.uncork();
  }

  private checkDone(): void {
    if (this.counts.delivered === this.expected && this.counts.answered === this.indices.length * this.load.messages) this.events.done();
  }

  private count(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }
}
