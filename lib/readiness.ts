/**
 * What `/readyz` answers, written by the processes that know: the broker
 * (its connection state) and the listener (draining on shutdown, and whether
 * uWebSockets.js runs natively). A plain shared record, like a
 * persistent_term in Erlang: read on every probe, written on rare changes.
 * A change of the broker's state is also an event, for the sampler's marks.
 */
import { EventEmitter } from 'node:events';
import type { ConnectionState } from './broker/adapter';

export class Readiness {
  draining = false;
  readonly changes = new EventEmitter<{ broker: [state: ConnectionState] }>();
  private brokerState: ConnectionState = 'disconnected';

  get broker(): ConnectionState {
    return this.brokerState;
  }

  set broker(state: ConnectionState) {
    if (state === this.brokerState) return;
    this.brokerState = state;
    this.changes.emit('broker', state);
  }

  get ready(): boolean {
    return this.brokerState === 'connected' && !this.draining;
  }
}
