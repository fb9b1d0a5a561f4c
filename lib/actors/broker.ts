/**
 * broker: owns the connection to the message broker (RabbitMQ through
 * Rascal, or the in-process bus) for this node. It publishes chat messages
 * with confirms and forwards what it reads from the stream to the relay.
 *
 * Publishing is group commit: at most one batch is in flight, and every
 * message accepted while it waits for its confirm goes out in the next
 * batch, in order, as one AMQP message acked by one confirm. Under load the
 * batches grow by themselves; at rest a message goes out at once. One batch
 * in flight also keeps each node's messages in order, which several
 * confirm channels would not (LIBRARIES.md). Each publisher hears back once:
 * `published`, or `unavailable` when the broker is down or did not confirm
 * within the publish timeout (PROTOCOL.md), never both.
 *
 * An outage is a state, not a crash: the adapter reconnects by itself and
 * this process reports the state to readiness, the relay and the log.
 */
import { type BrokerAdapter, BrokerUnavailable, type StateChange } from '../broker/adapter';
import { encodeBatch } from '../broker/batch';
import { log } from '../log';
import { batchSize, brokerReconnects, publishLatency, publishes, setBrokerState } from '../metrics';
import { type GenServer, type ServerRef, cast, noreply } from '../otp/gen_server';
import { type Ref, send } from '../otp/process';
import { encodeMessage } from '../protocol/server_frames';
import type { Readiness } from '../readiness';
import type { RelayRef } from './relay';

export interface BrokerArgs {
  /** Unique per daemon process: prefixes every msgId. */
  readonly nodeId: string;
  readonly relay: RelayRef;
  /** Connects the adapter chosen at start (with its own startup retry). */
  readonly connect: () => Promise<BrokerAdapter>;
  readonly publishTimeoutMs: number;
  readonly readiness: Readiness;
}

export interface Publish {
  readonly type: 'publish';
  readonly room: string;
  readonly from: string;
  readonly text: string;
  /** Gets one PublishOutcome carrying `tag`. */
  readonly replyTo: Ref;
  readonly tag: number;
}

export type PublishOutcome =
  | { readonly type: 'published'; readonly tag: number; readonly msgId: string }
  | { readonly type: 'unavailable'; readonly tag: number };

interface Accepted {
  readonly room: string;
  readonly frame: string;
  readonly msgId: string;
  readonly replyTo: Ref;
  readonly tag: number;
  readonly acceptedAt: number;
}

type Batch = readonly Accepted[];

// Outcomes name the batch and adapter they belong to: a restarted broker
// (same path, so same address) must not take its predecessor's for its own.
type Info =
  | { readonly type: 'confirmed'; readonly batch: Batch }
  | { readonly type: 'failed'; readonly batch: Batch; readonly reason: string }
  | { readonly type: 'state'; readonly adapter: BrokerAdapter; readonly change: StateChange };

interface State {
  readonly args: BrokerArgs;
  readonly adapter: BrokerAdapter;
  readonly self: BrokerRef;
  waiting: Accepted[];
  inFlight: Batch | undefined;
  published: number;
  unavailable: number;
  batches: number;
}

export type BrokerRef = ServerRef<never, Publish>;

// Counted per daemon process, not per broker process: a broker restarted
// after a crash must not hand out its predecessor's msgIds again.
let nextSeq = 0;

export const broker: GenServer<BrokerArgs, State, never, Publish, never, Info> = {
  behaviour: 'broker',

  async init(args, self) {
    const adapter = await args.connect();
    adapter.onStateChange((change) => send(self, { type: 'state', adapter, change } satisfies Info));
    await adapter.subscribe((batch) => cast(args.relay, { type: 'deliver', batch }));
    const state: State = { args, adapter, self, waiting: [], inFlight: undefined, published: 0, unavailable: 0, batches: 0 };
    reportState(state, { state: adapter.state, url: String(adapter.info()['url']) });
    return state;
  },

  handleCast(publish, state) {
    const msgId = `${state.args.nodeId}-${(nextSeq++).toString(36)}`;
    const now = Date.now();
    // pos and user are placeholders until the history assigns positions and a Publish carries its sender's user.
    const accepted: Accepted = {
      room: publish.room,
      frame: encodeMessage({ room: publish.room, msgId, pos: msgId, from: publish.from, user: '', text: publish.text, ts: now }),
      msgId,
      replyTo: publish.replyTo,
      tag: publish.tag,
      acceptedAt: now,
    };
    if (state.adapter.state !== 'connected') answerUnavailable(state, [accepted]);
    else {
      state.waiting.push(accepted);
      if (!state.inFlight) flush(state);
    }
    return noreply(state);
  },

  handleInfo(message, state) {
    switch (message.type) {
      case 'confirmed':
        if (message.batch !== state.inFlight) break;
        state.inFlight = undefined;
        state.published += message.batch.length;
        publishes.inc({ outcome: 'acked' }, message.batch.length);
        for (const { replyTo, tag, msgId, acceptedAt } of message.batch) {
          publishLatency.observe((Date.now() - acceptedAt) / 1000);
          send(replyTo, { type: 'published', tag, msgId } satisfies PublishOutcome);
        }
        flush(state);
        break;
      case 'failed':
        if (message.batch !== state.inFlight) break;
        state.inFlight = undefined;
        log.warn({ messages: message.batch.length, reason: message.reason }, `publish of ${message.batch.length} messages failed: ${message.reason}`);
        answerUnavailable(state, message.batch);
        flush(state);
        break;
      case 'state':
        if (message.adapter !== state.adapter) break;
        if (message.change.state === 'connected') brokerReconnects.inc(); // the first connect happened in init
        reportState(state, message.change);
        break;
    }
    return noreply(state);
  },

  terminate(_reason, state) {
    // Nobody may wait for an answer that will never come.
    answerUnavailable(state, [...(state.inFlight ?? []), ...state.waiting]);
    state.waiting = [];
    return state.adapter.close();
  },

  formatStatus: (state) => ({
    kind: state.adapter.kind,
    state: state.adapter.state,
    ...state.adapter.info(),
    waiting: state.waiting.length,
    inFlight: state.inFlight?.length ?? 0,
    published: state.published,
    unavailable: state.unavailable,
    batches: state.batches,
  }),
};

/** Sends what waits as one batch, unless a batch is in flight or nothing waits. */
function flush(state: State): void {
  if (state.inFlight || state.waiting.length === 0) return;
  const batch = state.waiting;
  state.waiting = [];
  state.inFlight = batch;
  state.batches++;
  batchSize.observe(batch.length);
  const deadline = batch[0]!.acceptedAt + state.args.publishTimeoutMs;
  state.adapter.publish(encodeBatch(batch), deadline).then(
    () => send(state.self, { type: 'confirmed', batch } satisfies Info),
    (error: unknown) => {
      const reason = error instanceof BrokerUnavailable ? error.message : String(error);
      send(state.self, { type: 'failed', batch, reason } satisfies Info);
    },
  );
}

function answerUnavailable(state: State, messages: readonly Accepted[]): void {
  state.unavailable += messages.length;
  publishes.inc({ outcome: 'unavailable' }, messages.length);
  for (const { replyTo, tag } of messages) send(replyTo, { type: 'unavailable', tag } satisfies PublishOutcome);
}

function reportState(state: State, change: StateChange): void {
  state.args.readiness.broker = change.state;
  setBrokerState(change.state);
  cast(state.args.relay, { type: 'broker_state', state: change.state });
  const attempt = change.attempt === undefined ? '' : ` (attempt ${change.attempt})`;
  log.info({ broker: state.adapter.kind, ...change }, `broker ${change.state}${attempt}${change.reason ? `: ${change.reason}` : ''}`);
}
