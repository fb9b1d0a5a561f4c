/**
 * What the broker actor needs from a message broker, whichever it is:
 * RabbitMQ through Rascal, or the in-process bus. Both keep the same
 * promises: a publish resolves only once the broker has confirmed it, and
 * the batches one adapter publishes reach every subscriber in that order.
 */
export type ConnectionState = 'connected' | 'disconnected' | 'reconnecting' | 'closed';

export interface StateChange {
  readonly state: ConnectionState;
  /** Reconnection attempts since the connection was lost. */
  readonly attempt?: number;
  readonly url?: string;
  readonly reason?: string;
}

export interface BrokerAdapter {
  readonly kind: 'rabbitmq' | 'local';
  readonly state: ConnectionState;
  /**
   * Publishes one batch to the fanout. Resolves when the broker confirmed
   * it; rejects with `BrokerUnavailable` at once when disconnected, or when
   * no confirm came by `deadline` (epoch ms), having withdrawn the batch.
   */
  publish(batch: Buffer, deadline: number): Promise<void>;
  /** Hands each batch published from now on to `deliver`, in order (RabbitMQ: read from the stream). */
  subscribe(deliver: (batch: Buffer) => void): Promise<void>;
  onStateChange(listener: (change: StateChange) => void): void;
  /** Facts for /debug/tree: url, stream, offset, reconnects... */
  info(): Record<string, unknown>;
  close(): Promise<void>;
}

export class BrokerUnavailable extends Error {
  override readonly name = 'BrokerUnavailable';
}
