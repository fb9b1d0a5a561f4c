/**
 * The in-process broker: a log inside this process, used when no RabbitMQ is
 * configured, so that `npm start` serves a single node at once.
 *
 * It keeps the RabbitMQ adapter's promises: a publish is "confirmed" once
 * the batch is in the log, every batch gets the next offset, and each
 * subscriber reads the log from where it asked, in order, one event-loop
 * turn later, as from a socket. Several adapters on one exchange behave
 * like several nodes on one stream, and a node started later fills its
 * history from what the log still holds.
 *
 * Presence has a fanout of its own beside the log: nothing kept, every
 * message to every adapter on the exchange that listens, one turn later,
 * in order.
 *
 * Its offsets start at 0 in every process, so its positions do not outlive
 * the process (a position from an earlier run names no kept message:
 * position.ts); the daemon says so at start.
 */
import type { BrokerAdapter, ConnectionState, Deliver, PresenceChannel, StateChange } from './adapter';
import { BrokerUnavailable } from './adapter';

/** What the log keeps, like the stream's retention (config/rascal.json) but in this process's memory. */
export interface Retention {
  readonly maxAgeMs: number;
  readonly maxBytes: number;
}

// An hour (the history's default ttl) and far less memory than RabbitMQ
// would give the stream: it shares the heap with everything else.
const DEFAULT_RETENTION: Retention = { maxAgeMs: 3_600_000, maxBytes: 64 * 1024 * 1024 };

interface Entry {
  readonly offset: number;
  readonly batch: Buffer;
  readonly at: number;
}

export class LocalExchange {
  private readonly readers = new Set<Deliver>();
  private readonly presenceReaders = new Set<(message: Buffer) => void>();
  private readonly log: Entry[] = [];
  private bytes = 0;
  private nextOffset = 0;

  constructor(private readonly retention: Retention = DEFAULT_RETENTION) {}

  get published(): number {
    return this.nextOffset;
  }

  /** Hands `deliver` the kept batches from `since` (epoch ms) on, then every new one; returns the unbind. */
  read(deliver: Deliver, since: number): { caughtUp: Promise<void>; unbind: () => void } {
    for (const { batch, offset, at } of this.log) if (at >= since) setImmediate(deliver, batch, offset);
    // setImmediate runs in order: this comes after the last kept batch.
    const caughtUp = new Promise<void>((resolve) => setImmediate(resolve));
    this.readers.add(deliver);
    return { caughtUp, unbind: () => this.readers.delete(deliver) };
  }

  publish(batch: Buffer, now = Date.now()): void {
    const entry = { offset: this.nextOffset++, batch, at: now };
    this.log.push(entry);
    this.bytes += batch.length;
    this.applyRetention(now);
    for (const deliver of this.readers) setImmediate(deliver, batch, entry.offset);
  }

  /** `receive` gets every presence message published from now on; returns the leave. */
  joinPresence(receive: (message: Buffer) => void): () => void {
    this.presenceReaders.add(receive);
    return () => this.presenceReaders.delete(receive);
  }

  publishPresence(message: Buffer): void {
    for (const receive of this.presenceReaders) setImmediate(receive, message);
  }

  private applyRetention(now: number): void {
    let drop = 0;
    while (drop < this.log.length - 1 && (this.bytes > this.retention.maxBytes || now - this.log[drop]!.at > this.retention.maxAgeMs)) {
      this.bytes -= this.log[drop]!.batch.length;
      drop++;
    }
    // One splice per publish at most; the log is short-lived and small.
    if (drop > 0) this.log.splice(0, drop);
  }
}

/** The exchange every local adapter of this process shares unless given another. */
export const processExchange = new LocalExchange();

export class LocalAdapter implements BrokerAdapter {
  readonly kind = 'local';
  state: ConnectionState = 'connected';
  private unbind: (() => void) | undefined;
  private readonly listeners: Array<(change: StateChange) => void> = [];
  private deliveredBatches = 0;
  private offset: number | null = null;
  private presenceListener: ((message: Buffer) => void) | undefined;
  private leavePresence: (() => void) | undefined;

  readonly presence: PresenceChannel = {
    publish: (message) => {
      if (this.state !== 'connected') return false;
      this.exchange.publishPresence(message);
      return true;
    },
    listen: (deliver) => {
      this.presenceListener = deliver;
      // Joined at the first listen, not at construction: an adapter that
      // never listens (most specs') is not held by the exchange.
      this.leavePresence ??= this.exchange.joinPresence((message) => {
        if (this.state !== 'closed') this.presenceListener!(message); // the closed check: a message already on its way
      });
    },
  };

  constructor(private readonly exchange: LocalExchange = processExchange) {}

  async publish(batch: Buffer): Promise<void> {
    if (this.state !== 'connected') throw new BrokerUnavailable('the in-process broker is closed');
    this.exchange.publish(batch);
  }

  async subscribe(deliver: Deliver, since: number): Promise<void> {
    const reading = this.exchange.read((batch, offset) => {
      if (this.state === 'closed') return; // a batch already on its way when the adapter closed
      this.deliveredBatches++;
      this.offset = offset;
      deliver(batch, offset);
    }, since);
    this.unbind = reading.unbind;
    await reading.caughtUp;
  }

  onStateChange(listener: (change: StateChange) => void): void {
    this.listeners.push(listener);
  }

  info(): Record<string, unknown> {
    return { url: 'in-process', offset: this.offset, batchesDelivered: this.deliveredBatches };
  }

  async close(): Promise<void> {
    this.unbind?.();
    this.leavePresence?.();
    this.state = 'closed';
    for (const listener of this.listeners) listener({ state: 'closed' });
  }
}
