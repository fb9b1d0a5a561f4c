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
 *
 * At start it reads the log back far enough to fill the relay's history
 * and duplicate window (`readBackMs`), and is up only once that is done, so
 * the listener opens on a node that can already serve recovery. A `say`
 * resent with an id the relay's window has seen delivered, or that this
 * node has not answered yet, is not published again: it is answered in its
 * turn as the original was, with the original's msgId. One resent after
 * this node answered it `unavailable` is published again under its msgId.
 */
import { randomBytes } from 'node:crypto';
import { type BrokerAdapter, BrokerUnavailable, type PresenceChannel, type StateChange } from '../broker/adapter';
import { encodeBatch } from '../broker/batch';
import { MAX_BATCH_MESSAGES, positionPlaceholder } from '../broker/position';
import { log } from '../log';
import { batchSize, brokerReconnects, duplicatesDropped, publishLatency, publishes, setBrokerState } from '../metrics';
import { type GenServer, type ServerRef, call, cast, noreply, reply } from '../otp/gen_server';
import { type Ref, send } from '../otp/process';
import { encodeMessage } from '../protocol/server_frames';
import type { Readiness } from '../readiness';
import type { DuplicateLookup, RelayRef } from './relay';

export interface BrokerArgs {
  /** Unique per daemon process: prefixes every msgId. */
  readonly nodeId: string;
  readonly relay: RelayRef;
  /** Connects the adapter chosen at start (with its own startup retry). */
  readonly connect: () => Promise<BrokerAdapter>;
  readonly publishTimeoutMs: number;
  readonly readiness: Readiness;
  /** How much of the log to read back at start: what the history and the duplicate window may hold. */
  readonly readBackMs: number;
}

export interface Publish {
  readonly type: 'publish';
  readonly room: string;
  readonly from: string;
  readonly user: string;
  readonly text: string;
  /** Scope and id of a `say` with an id: resends with the same key are delivered once. */
  readonly key: string | undefined;
  /** Gets one PublishOutcome carrying `tag`. */
  readonly replyTo: Ref;
  readonly tag: number;
}

/** How one `say` was answered: published under `msgId`, or (msgId undefined) unavailable. */
export interface PublishOutcome {
  readonly tag: number;
  readonly msgId: string | undefined;
}

/**
 * The outcomes of one publisher's says settled together (by one batch's
 * confirm, failure or refusal), in the order it sent them: one message per
 * connection per batch rather than one per `say`, so that the connection
 * writes all their answers in one cork.
 */
export interface PublishOutcomes {
  readonly type: 'publish_outcomes';
  readonly outcomes: readonly PublishOutcome[];
}

interface Accepted {
  readonly room: string;
  readonly frame: string;
  readonly key: string | undefined;
  /** Room and key, as `pending` and `unconfirmed` know a keyed message. */
  readonly slot: string | undefined;
  /** The frame's `ts`. */
  readonly at: number;
  readonly msgId: string;
  /**
   * A resend of a message delivered already (the relay's window has it) or
   * still on its way (waiting or in flight here): not published, and
   * answered as that message was, with its msgId.
   */
  readonly copyOf: Original | undefined;
  readonly replyTo: Ref;
  readonly tag: number;
  readonly acceptedAt: number;
  /** How it was answered, once it was: its copies are answered the same. */
  outcome?: Outcome;
}

type Outcome = 'published' | 'unavailable';

type Original = Pick<Accepted, 'msgId' | 'outcome'>;

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
  readonly duplicates: DuplicateLookup;
  /** The keyed messages not yet answered, by slot: what a resend arriving meanwhile repeats. */
  readonly pending: Map<string, Accepted>;
  /**
   * The msgIds of keyed messages answered `unavailable`, by slot,
   * oldest first: RabbitMQ may have stored one after all (a late confirm),
   * and its resend, published under the same msgId, is then the copy every
   * node drops, acked with the msgId the members see.
   */
  readonly unconfirmed: Map<string, string>;
  readonly self: BrokerRef;
  waiting: Accepted[];
  inFlight: Batch | undefined;
  published: number;
  unavailable: number;
  batches: number;
}

/** The presence process borrows the adapter's presence channel (the same connection, another exchange). */
export type BrokerCall = { readonly type: 'presence_channel' };
export type BrokerRef = ServerRef<BrokerCall, Publish, PresenceChannel>;

// Counted per daemon process, not per broker process: a broker restarted
// after a crash must not hand out its predecessor's msgIds again. The run
// tells this process's msgIds from those of an earlier one with the same
// configured nodeId, which positions rely on (position.ts).
let nextSeq = 0;
const RUN = randomBytes(3).toString('hex');
// Says answered `unavailable` whose msgIds a resend repeats: more than the
// clients of a node resend after an outage; beyond it the oldest go, and
// such a resend gets a new msgId (delivered once all the same).
const MAX_UNCONFIRMED = 10_000;

export const broker: GenServer<BrokerArgs, State, BrokerCall, Publish, PresenceChannel, Info> = {
  behaviour: 'broker',

  async init(args, self) {
    const duplicates = (await call(args.relay, { type: 'duplicates' })) as DuplicateLookup;
    const adapter = await args.connect();
    adapter.onStateChange((change) => send(self, { type: 'state', adapter, change } satisfies Info));
    const started = Date.now();
    await adapter.subscribe((batch, offset) => cast(args.relay, { type: 'deliver', batch, offset }), started - args.readBackMs);
    log.info({ ms: Date.now() - started, ...adapter.info() }, 'read the log back: history and duplicate window filled');
    if (adapter.kind === 'local') log.warn('in-process broker: positions, history and resends are kept in this process only; they do not outlive it');
    const state: State = { args, adapter, duplicates, pending: new Map(), unconfirmed: new Map(), self, waiting: [], inFlight: undefined, published: 0, unavailable: 0, batches: 0 };
    reportState(state, { state: adapter.state, url: String(adapter.info()['url']) });
    return state;
  },

  handleCall: (_presenceChannel, _from, state) => reply(state.adapter.presence, state),

  handleCast(publish, state) {
    const now = Date.now();
    // Made once: a Map hashes a concatenated string only once it is flat.
    const slot = publish.key === undefined ? undefined : `${publish.room}\n${publish.key}`;
    const copyOf = slot === undefined ? undefined : originalOf(state, publish.room, publish.key!, slot, now);
    const msgId = copyOf?.msgId ?? resentMsgId(state, slot) ?? `${state.args.nodeId}-${RUN}-${(nextSeq++).toString(36)}`;
    const accepted: Accepted = {
      room: publish.room,
      frame:
        copyOf === undefined
          ? encodeMessage({ room: publish.room, msgId, pos: positionPlaceholder(msgId), from: publish.from, user: publish.user, text: publish.text, ts: now })
          : '',
      key: publish.key,
      slot,
      at: now,
      msgId,
      copyOf,
      replyTo: publish.replyTo,
      tag: publish.tag,
      acceptedAt: now,
    };
    if (copyOf !== undefined) duplicatesDropped.inc({ where: 'accepted' });
    else if (slot !== undefined) state.pending.set(slot, accepted);
    if (state.adapter.state !== 'connected' && copyOf === undefined) answer(state, [accepted], 'unavailable');
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
        answer(state, message.batch, 'published');
        flush(state);
        break;
      case 'failed':
        if (message.batch !== state.inFlight) break;
        state.inFlight = undefined;
        log.warn({ messages: message.batch.length, reason: message.reason }, `publish of ${message.batch.length} messages failed: ${message.reason}`);
        answer(state, message.batch, 'unavailable');
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
    answer(state, [...(state.inFlight ?? []), ...state.waiting], 'unavailable');
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

/**
 * Sends what waits as one batch (at most MAX_BATCH_MESSAGES: the positions'
 * index has 12 bits), unless a batch is in flight or nothing waits. A
 * batch of resends only is answered at once: there is nothing to publish.
 */
function flush(state: State): void {
  while (!state.inFlight && state.waiting.length > 0) {
    const batch = state.waiting.splice(0, MAX_BATCH_MESSAGES);
    const fresh = batch.filter((accepted) => accepted.copyOf === undefined);
    if (fresh.length === 0) {
      answer(state, batch, 'published');
      continue;
    }
    state.inFlight = batch;
    state.batches++;
    batchSize.observe(fresh.length);
    const deadline = batch[0]!.acceptedAt + state.args.publishTimeoutMs;
    state.adapter.publish(encodeBatch(fresh), deadline).then(
      () => send(state.self, { type: 'confirmed', batch } satisfies Info),
      (error: unknown) => {
        const reason = error instanceof BrokerUnavailable ? error.message : String(error);
        send(state.self, { type: 'failed', batch, reason } satisfies Info);
      },
    );
  }
}

/**
 * What a `say` with this key repeats: a message every node has delivered
 * (the relay's window), or one of this node's still unanswered. Published
 * again, the copy would be dropped by every node as it reads the log, but
 * its ack would name a msgId nobody ever sees.
 */
function originalOf(state: State, room: string, key: string, slot: string, now: number): Original | undefined {
  const delivered = state.duplicates.lookup(room, key, now);
  return delivered === undefined ? state.pending.get(slot) : { msgId: delivered, outcome: 'published' };
}

/** The msgId of the say answered `unavailable` that this one resends, if any. */
function resentMsgId(state: State, slot: string | undefined): string | undefined {
  if (slot === undefined) return undefined;
  const msgId = state.unconfirmed.get(slot);
  state.unconfirmed.delete(slot);
  return msgId;
}

/**
 * Answers each publisher in the batch's order, which is the order its
 * connection sent the says, with one message per publisher for the whole
 * batch. A copy is answered as its original was (which came before it):
 * published with the original's msgId, or unavailable.
 */
function answer(state: State, batch: Batch, outcome: Outcome): void {
  const now = Date.now();
  const byPublisher = new Map<Ref, PublishOutcome[]>();
  for (const accepted of batch) {
    const { replyTo, tag, msgId, acceptedAt, copyOf, slot } = accepted;
    accepted.outcome = copyOf === undefined ? outcome : (copyOf.outcome ?? 'unavailable');
    if (slot !== undefined && state.pending.get(slot) === accepted) state.pending.delete(slot);
    const published = accepted.outcome === 'published';
    if (published) {
      state.published++;
      publishes.inc(copyOf ? 'duplicate' : 'acked');
      if (!copyOf) publishLatency.observe((now - acceptedAt) / 1000);
    } else {
      if (slot !== undefined && !copyOf) {
        state.unconfirmed.set(slot, msgId);
        if (state.unconfirmed.size > MAX_UNCONFIRMED) state.unconfirmed.delete(state.unconfirmed.keys().next().value!);
      }
      state.unavailable++;
      publishes.inc('unavailable');
    }
    const answered = { tag, msgId: published ? msgId : undefined };
    const outcomes = byPublisher.get(replyTo);
    if (outcomes) outcomes.push(answered);
    else byPublisher.set(replyTo, [answered]);
  }
  for (const [publisher, outcomes] of byPublisher) send(publisher, { type: 'publish_outcomes', outcomes } satisfies PublishOutcomes);
}

function reportState(state: State, change: StateChange): void {
  state.args.readiness.broker = change.state;
  setBrokerState(change.state);
  cast(state.args.relay, { type: 'broker_state', state: change.state });
  const attempt = change.attempt === undefined ? '' : ` (attempt ${change.attempt})`;
  log.info({ broker: state.adapter.kind, ...change }, `broker ${change.state}${attempt}${change.reason ? `: ${change.reason}` : ''}`);
}
