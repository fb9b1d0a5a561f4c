/**
 * What the broker actor needs from a message broker, whichever it is:
 * RabbitMQ through Rascal, or the in-process bus. Both keep the same
 * promises: a publish resolves only once the broker has confirmed it, and
 * every subscriber reads the same log: the same batches, in the same order,
 * each with the same offset. Presence has a channel of its own, with
 * weaker promises (`PresenceChannel`).
 */
export type ConnectionState = 'connected' | 'disconnected' | 'reconnecting' | 'closed';

export interface StateChange {
  readonly state: ConnectionState;
  /** Reconnection attempts since the connection was lost. */
  readonly attempt?: number;
  readonly url?: string;
  readonly reason?: string;
}

/** Takes one batch read from the log, with its offset there (growing, not always by one). */
export type Deliver = (batch: Buffer, offset: number) => void;

export interface PresenceChannel {
  /** Fire and forget, no confirm: false (and nothing queued) while the broker is not connected.
   *  Presence heals lost messages itself (heartbeats, snapshots). */
  publish(message: Buffer): boolean;
  /** Hands every presence message of every node (this one's included) to `deliver` from now on,
   *  replacing any previous listener (a presence process that restarted); across reconnects. */
  listen(deliver: (message: Buffer) => void): void;
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
  /**
   * Reads the log from `since` (epoch ms; the log may hold less) and goes on
   * with every later batch, in order, across reconnects, never twice.
   * Resolves once every batch published before the call has been handed to
   * `deliver`: from then on the node's history is complete.
   */
  subscribe(deliver: Deliver, since: number): Promise<void>;
  onStateChange(listener: (change: StateChange) => void): void;
  /** Facts for /debug/tree: url, stream, offset, reconnects... */
  info(): Record<string, unknown>;
  /** The presence fanout: every node's messages to every node, beside the log, never in it. */
  readonly presence: PresenceChannel;
  close(): Promise<void>;
}

export class BrokerUnavailable extends Error {
  override readonly name = 'BrokerUnavailable';
}
