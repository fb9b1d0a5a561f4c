/**
 * The in-process broker: a fanout exchange inside this process, used when no
 * RabbitMQ is configured, so that `npm start` serves a single node at once.
 *
 * It keeps the RabbitMQ adapter's promises: a publish is "confirmed" once
 * the batch is in every subscriber's queue, and each subscriber gets the
 * batches in publish order, one event-loop turn later, as from a socket.
 * Several adapters on one exchange behave like several nodes on one broker.
 */
import type { BrokerAdapter, ConnectionState, StateChange } from './adapter';
import { BrokerUnavailable } from './adapter';

export class LocalExchange {
  private readonly queues = new Set<(batch: Buffer) => void>();
  published = 0;

  bind(deliver: (batch: Buffer) => void): () => void {
    this.queues.add(deliver);
    return () => this.queues.delete(deliver);
  }

  publish(batch: Buffer): void {
    this.published++;
    for (const deliver of this.queues) setImmediate(deliver, batch);
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

  constructor(private readonly exchange: LocalExchange = processExchange) {}

  async publish(batch: Buffer): Promise<void> {
    if (this.state !== 'connected') throw new BrokerUnavailable('the in-process broker is closed');
    this.exchange.publish(batch);
  }

  async subscribe(deliver: (batch: Buffer) => void): Promise<void> {
    this.unbind = this.exchange.bind((batch) => {
      if (this.state === 'closed') return; // a batch already on its way when the adapter closed
      this.deliveredBatches++;
      deliver(batch);
    });
  }

  onStateChange(listener: (change: StateChange) => void): void {
    this.listeners.push(listener);
  }

  info(): Record<string, unknown> {
    return { url: 'in-process', batchesDelivered: this.deliveredBatches };
  }

  async close(): Promise<void> {
    this.unbind?.();
    this.state = 'closed';
    for (const listener of this.listeners) listener({ state: 'closed' });
  }
}
