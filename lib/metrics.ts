/**
 * Prometheus metrics (prom-client), one registry per process: counted where
 * things happen (never logged per message), and for what the live tree
 * already knows (open connections, the relay's mailbox), read from it when
 * scraped so that no count can drift from the tree.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConnectionState } from './broker/adapter';
import { reports } from './otp/reports';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'warren_' }); // process CPU, memory, GC, event-loop lag

const registers = [registry];

/**
 * A counter of one label for the hot path (a few per `say`). prom-client's
 * `inc({ label })` checks and hashes the labels on every call (`labels()`
 * only binds them to the same `inc`); this one adds to a plain number per
 * label value and hands the totals to prom-client when it is scraped.
 */
export class HotCounter<Value extends string> {
  private readonly counts = new Map<Value, number>();

  constructor(name: string, help: string, label: string) {
    const { counts } = this;
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [value, count] of counts) this.inc({ [label]: value }, count);
      },
    });
  }

  inc(value: Value, by = 1): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + by);
  }

  /** The count so far for one label value (the sampler reads it each second). */
  count(value: Value): number {
    return this.counts.get(value) ?? 0;
  }
}

/** A counter without labels for the hot path (deliveries, once per batch per socket): a plain number, handed to prom-client when scraped. */
export class HotTotal {
  private total = 0;

  constructor(name: string, help: string) {
    const counted = () => this.total;
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(counted());
      },
    });
  }

  inc(by = 1): void {
    this.total += by;
  }

  get value(): number {
    return this.total;
  }
}

export const framesIn = new HotCounter<string>('warren_frames_in_total', 'Client frames received, by type (shortcut: the plain-text say; invalid: answered with an error)', 'type');
export const framesOut = new HotCounter<string>('warren_frames_out_total', 'Frames sent to clients other than chat messages, by type', 'type');
export const deliveries = new HotTotal('warren_deliveries_total', 'Chat messages written to client sockets');
export const dropped = new Counter({ name: 'warren_deliveries_dropped_total', help: 'Chat messages not written: socket closed, or dropped past the send buffer', registers });
export const closes = new Counter({ name: 'warren_closes_total', help: 'Websockets closed by the server, by close code (1013: too slow, 1008: rate limit...)', labelNames: ['code'], registers });
/** Why a websocket was refused before the upgrade (PROTOCOL.md "Connecting"), or closed at once after it (token, room). */
export type RefusalReason = 'version' | 'key' | 'origin' | 'draining' | 'max_connections' | 'connect_rate' | 'query' | 'token' | 'room';
export const upgradesRefused = new Counter({
  name: 'warren_connections_refused_total',
  help: 'Websockets refused before their session began, by reason (version, key, origin, draining, max_connections, connect_rate, query: an HTTP answer; token, room: closed at once with 4001, 4003)',
  labelNames: ['reason'],
  registers,
});
export const publishes = new HotCounter<'acked' | 'duplicate' | 'unavailable'>('warren_publishes_total', 'Chat messages published, by outcome', 'outcome');
export const publishLatency = new Histogram({
  name: 'warren_publish_confirm_seconds',
  help: 'From a say accepted by the broker process to its confirm',
  buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers,
});
export const batchSize = new Histogram({ name: 'warren_publish_batch_messages', help: 'Chat messages per AMQP message published', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], registers });
export const brokerState = new Gauge({ name: 'warren_broker_state', help: 'The broker connection state (1 for the current one)', labelNames: ['state'], registers });
export const brokerReconnects = new Counter({ name: 'warren_broker_reconnects_total', help: 'Times the broker connection was lost', registers });
export const restarts = new Counter({ name: 'warren_restarts_total', help: 'Processes restarted by their supervisor, by behaviour', labelNames: ['behaviour'], registers });
export const crashes = new Counter({ name: 'warren_crashes_total', help: 'Processes that crashed, by behaviour', labelNames: ['behaviour'], registers });
export const deadLetters = new Counter({ name: 'warren_dead_letters_total', help: 'Messages sent to processes that had stopped', registers });
export const openConnections = new Gauge({ name: 'warren_connections', help: 'Open websocket connections (connection processes in the tree)', registers });
export const relayMailbox = new Gauge({ name: 'warren_relay_mailbox', help: 'Messages waiting in the relay\'s mailbox', registers });
export const historyBytes = new Gauge({ name: 'warren_history_bytes', help: 'Frame bytes kept in the rooms\' recent history on this node', registers });
export const historyMessages = new Gauge({ name: 'warren_history_messages', help: 'Messages kept in the rooms\' recent history on this node', registers });

export const recoveries = new Counter({ name: 'warren_recoveries_total', help: 'Joins with `since`, by outcome (recovered: every missed message sent; not_recovered: recent history instead)', labelNames: ['outcome'], registers });
export const replayed = new Counter({ name: 'warren_replayed_messages_total', help: 'Messages sent as replays (recovery and `history`)', registers });
export const duplicatesDropped = new Counter({
  name: 'warren_duplicates_dropped_total',
  help: 'Resent says delivered at most once: dropped as read from the log, or answered at once by the node that accepted them',
  labelNames: ['where'],
  registers,
});
export const presenceMessages = new Counter({
  name: 'warren_presence_messages_total',
  help: 'Presence messages between nodes, by direction (in, out; unsent: the broker was down) and type (delta, heartbeat, snapshot, sync, goodbye)',
  labelNames: ['direction', 'type'],
  registers,
});
export const presenceResyncs = new Counter({ name: 'warren_presence_resyncs_total', help: 'Snapshots this node asked other nodes for: at start, and each time it found it had missed their deltas', registers });
export const presenceRooms = new Gauge({ name: 'warren_presence_rooms', help: 'Rooms with at least one member, cluster-wide, as this node knows them', registers });
export const presenceNodes = new Gauge({ name: 'warren_presence_nodes', help: 'Other nodes this node knows, up or down', labelNames: ['state'], registers });
export const streamLag = new Gauge({ name: 'warren_stream_lag_seconds', help: 'From a message accepted by its node to this node reading it from the log (the last batch read)', registers });

const STATES: readonly ConnectionState[] = ['connected', 'disconnected', 'reconnecting', 'closed'];

export function setBrokerState(state: ConnectionState): void {
  for (const each of STATES) brokerState.set({ state: each }, each === state ? 1 : 0);
}

reports.on('restart', (_path, behaviour) => restarts.inc({ behaviour }));
reports.on('crash', (_path, behaviour) => crashes.inc({ behaviour }));
reports.on('dead_letter', () => deadLetters.inc());
