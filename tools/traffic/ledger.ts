/**
 * Every `say` of a run and every message that reached a client, accounted
 * for: what the chaos run, the cluster spec and the soak check at the end.
 *
 * The ledger sees the wire as the client library sees it (frames its
 * handlers got, on the socket that was current), not what the library
 * tells the application: the library drops a msgId it has seen already,
 * and that would hide a message the server sent twice.
 *
 * Senders say `sender:n`, n counting from 0, one say at a time: each is
 * settled before the next is said, so a sender's messages have an order
 * every receiver must keep.
 */

/** What became of one `say()`, as its promise settled. */
export type SayOutcome = { readonly acked: string } | { readonly failed: string };

interface Say {
  readonly sender: string;
  readonly room: string;
  readonly n: number;
  outcome?: SayOutcome;
}

interface Receiver {
  readonly room: string;
  /** msgId → how many `message` frames carried it. */
  readonly delivered: Map<string, number>;
  gaps: number;
  /** Left before the end (churn): what was said after it left, or before it came, is not missing. */
  left: boolean;
}

/** One socket's says on the wire: each send of an id must get one answer (`ack` or `error`) on that socket. */
interface SocketSays {
  readonly owner: string;
  readonly sent: Map<string, number>;
  readonly answered: Map<string, number>;
  /** Ids of the other requests sent (join, ping, presence): their answers are not a say's. */
  readonly otherRequests: Set<string>;
  closed: boolean;
}

/** A broken rule, with enough said to find it in the daemon's log. */
export interface Violation {
  readonly rule: 'duplicate' | 'missing' | 'order' | 'unsettled' | 'unanswered' | 'answered twice' | 'unasked answer';
  readonly detail: string;
}

export interface Verdict {
  readonly says: number;
  readonly acked: number;
  /** Says that failed (their error codes, counted): a resend that gave up, not a rule broken. */
  readonly failed: Readonly<Record<string, number>>;
  readonly deliveries: number;
  /** `recovered: false` told to a receiver: what it missed before is not counted as missing. */
  readonly gaps: number;
  readonly violations: readonly Violation[];
}

/** Violations listed in a verdict at most; the count is always exact. */
const LISTED_VIOLATIONS = 20;

export class Ledger {
  private readonly says: Say[] = [];
  private readonly receivers = new Map<string, Receiver>();
  private readonly sockets: SocketSays[] = [];
  /** Every `sender:n` heard, in the order each receiver heard it. */
  private readonly heardInOrder: { readonly receiver: string; readonly sender: string; readonly n: number; readonly msgId: string }[] = [];

  /** A receiver in `room`, under a name of its own; before any say it should hear. */
  addReceiver(name: string, room: string): void {
    if (this.receivers.has(name)) throw new Error(`receiver ${name} is already in the ledger`);
    this.receivers.set(name, { room, delivered: new Map(), gaps: 0, left: false });
  }

  /** A say about to be made; settle it with the returned function when its promise does. */
  said(sender: string, room: string, n: number): (outcome: SayOutcome) => void {
    const say: Say = { sender, room, n };
    this.says.push(say);
    return (outcome) => {
      if (say.outcome) throw new Error(`${sender}:${n} settled twice`);
      say.outcome = outcome;
    };
  }

  /** A `message` frame that reached `receiver`'s library. */
  heard(receiver: string, frame: { readonly msgId: string; readonly text: string }): void {
    const { delivered } = this.receiver(receiver);
    delivered.set(frame.msgId, (delivered.get(frame.msgId) ?? 0) + 1);
    const said = /^(.+):(\d+)$/.exec(frame.text);
    if (said) this.heardInOrder.push({ receiver, sender: said[1]!, n: Number(said[2]), msgId: frame.msgId });
  }

  /** `receiver` left its room for good: nothing it missed counts as missing; it still must not hear anything twice. */
  left(receiver: string): void {
    this.receiver(receiver).left = true;
  }

  /** The server told `receiver` it could not recover what it missed. */
  gap(receiver: string): void {
    this.receiver(receiver).gaps++;
  }

  /** A new socket of `owner`'s; feed it the requests sent on it, the answers (`ack`, `error` with an id) heard, and its close. */
  socket(owner: string): { sent(frame: { readonly type: string; readonly id?: string }): void; answered(id: string): void; closed(): void } {
    const socket: SocketSays = { owner, sent: new Map(), answered: new Map(), otherRequests: new Set(), closed: false };
    this.sockets.push(socket);
    const count = (counts: Map<string, number>, id: string) => counts.set(id, (counts.get(id) ?? 0) + 1);
    return {
      sent: ({ type, id }) => {
        if (id === undefined) return;
        if (type === 'say') count(socket.sent, id);
        else socket.otherRequests.add(id);
      },
      answered: (id) => {
        if (!socket.otherRequests.has(id)) count(socket.answered, id);
      },
      closed: () => {
        socket.closed = true;
      },
    };
  }

  /** Every rule checked, once the run is over and quiet (no say pending, the last deliveries in). */
  verdict(): Verdict {
    const failed: Record<string, number> = {};
    for (const { outcome } of this.says) if (outcome && 'failed' in outcome) failed[outcome.failed] = (failed[outcome.failed] ?? 0) + 1;
    let deliveries = 0;
    for (const { delivered } of this.receivers.values()) for (const count of delivered.values()) deliveries += count;
    return {
      says: this.says.length,
      acked: this.says.filter(({ outcome }) => outcome && 'acked' in outcome).length,
      failed,
      deliveries,
      gaps: [...this.receivers.values()].reduce((sum, { gaps }) => sum + gaps, 0),
      violations: [...this.unsettled(), ...this.answers(), ...this.deliveries(), ...this.senderOrder()],
    };
  }

  private receiver(name: string): Receiver {
    const receiver = this.receivers.get(name);
    if (!receiver) throw new Error(`${name} is not a receiver in the ledger`);
    return receiver;
  }

  private *unsettled(): Iterable<Violation> {
    for (const { sender, n, outcome } of this.says) {
      if (!outcome) yield { rule: 'unsettled', detail: `${sender}:${n} never settled` };
    }
  }

  /** One answer per send on a socket; a send on a socket still open at the end must have had its answer. */
  private *answers(): Iterable<Violation> {
    for (const { owner, sent, answered, closed } of this.sockets) {
      for (const [id, answers] of answered) {
        const sends = sent.get(id) ?? 0;
        if (sends === 0) yield { rule: 'unasked answer', detail: `${owner} got an answer to ${id}, never sent on that socket` };
        else if (answers > sends) yield { rule: 'answered twice', detail: `${owner} got ${answers} answers to ${sends} sends of ${id} on one socket` };
      }
      if (closed) continue;
      for (const [id, sends] of sent) {
        const answers = answered.get(id) ?? 0;
        if (answers < sends) yield { rule: 'unanswered', detail: `${owner} sent ${id} ${sends}× on a socket still open, ${answers} answered` };
      }
    }
  }

  /**
   * Nothing reached a receiver twice; every acked say reached every
   * receiver of its room (its sender too), unless that receiver was told
   * of a gap or left.
   */
  private *deliveries(): Iterable<Violation> {
    for (const [name, { room, delivered, gaps, left }] of this.receivers) {
      for (const [msgId, count] of delivered) {
        if (count > 1) yield { rule: 'duplicate', detail: `${name} got ${msgId} ${count}×` };
      }
      if (gaps > 0 || left) continue;
      for (const say of this.says) {
        if (say.room !== room || !say.outcome || !('acked' in say.outcome) || delivered.has(say.outcome.acked)) continue;
        yield { rule: 'missing', detail: `${name} (in ${room}) never got ${say.sender}:${say.n} (${say.outcome.acked})` };
      }
    }
  }

  /**
   * Each receiver heard each sender's n rising (a failed say may be
   * missing, or there). The same n twice under two msgIds is a say the
   * server took twice: its resend was not idempotent.
   */
  private *senderOrder(): Iterable<Violation> {
    const last = new Map<string, { n: number; msgId: string }>();
    for (const { receiver, sender, n, msgId } of this.heardInOrder) {
      const key = `${receiver} ${sender}`;
      const previous = last.get(key);
      if (previous && n === previous.n && msgId !== previous.msgId) {
        yield { rule: 'duplicate', detail: `${receiver} heard ${sender}:${n} twice, as ${previous.msgId} and ${msgId}` };
      } else if (previous && n < previous.n) {
        yield { rule: 'order', detail: `${receiver} heard ${sender}:${n} after ${sender}:${previous.n}` };
      }
      if (!previous || n > previous.n) last.set(key, { n, msgId });
    }
  }
}

/** The verdict as a few lines for a terminal or a failed spec. */
export function describeVerdict(verdict: Verdict): string {
  const failed = Object.entries(verdict.failed).map(([code, count]) => `${count} ${code}`).join(', ') || 'none';
  const lines = [
    `${verdict.says} says: ${verdict.acked} acked, failed: ${failed}; ${verdict.deliveries} deliveries; ${verdict.gaps} gaps`,
    verdict.violations.length === 0 ? 'no rule broken' : `${verdict.violations.length} rules broken:`,
    ...verdict.violations.slice(0, LISTED_VIOLATIONS).map(({ rule, detail }) => `  ${rule}: ${detail}`),
  ];
  if (verdict.violations.length > LISTED_VIOLATIONS) lines.push(`  ... and ${verdict.violations.length - LISTED_VIOLATIONS} more`);
  return lines.join('\n');
}
