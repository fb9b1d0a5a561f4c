/**
 * What `/readyz` answers, written by the processes that know: the broker
 * (its connection state) and the listener (draining on shutdown, and whether
 * uWebSockets.js runs natively). A plain shared record, like a
 * persistent_term in Erlang: read on every probe, written on rare changes.
 */
import type { ConnectionState } from './broker/adapter';

export class Readiness {
  broker: ConnectionState = 'disconnected';
  draining = false;

  get ready(): boolean {
    return this.broker === 'connected' && !this.draining;
  }
}
