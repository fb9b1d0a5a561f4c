/**
 * A chaos run (issue 14 item 2): chatters talk to one daemon on RabbitMQ
 * while faults are inflicted for real, at the pace schedule.ts explains:
 * actors killed through /debug/kill, and the daemon's AMQP connections
 * closed from the broker's side. Checked between faults and at the end:
 * the daemon never exits; every say gets exactly one answer; nothing is
 * delivered twice; nothing acked is missing; and once quiet the tree
 * holds exactly what the open sockets account for (tree_check.ts).
 *
 * Used by `npm run chaos` (main.ts) and spec/integration/chaos.spec.ts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import type { ActorInfo } from '../../lib/otp/sys';
import { actors, fetchTree, killActor } from '../../spec/support/admin';
import { Daemon } from '../../spec/support/daemon';
import { startRabbitNode } from '../../spec/support/rabbitmq';
import type { RabbitNode } from '../../spec/support/rabbitmq_node';
import { Chatter } from '../traffic/chatters';
import { describeVerdict, Ledger, type Verdict } from '../traffic/ledger';
import { FAULT_KINDS, type FaultKind, FaultSchedule, isTopLevel, prng } from './schedule';
import { checkTree, type LiveSocket } from './tree_check';

export interface ChaosOptions {
  readonly durationMs: number;
  readonly clients: number;
  readonly rooms: number;
  /** Each chatter's pause between one say's answer and its next say. */
  readonly intervalMs: number;
  readonly faultEveryMs: number;
  readonly seed: number;
  /** A RabbitMQ to use; absent: a private node, started and stopped here. Broker-side closes need the private node (rabbitmqctl). */
  readonly amqpUrl?: string;
  /** Progress, one line at a time. */
  readonly log?: (line: string) => void;
}

export interface ChaosSummary {
  readonly seed: number;
  /** From the first say to quiet after the last fault. */
  readonly durationMs: number;
  /** Faults inflicted, by kind. */
  readonly faults: Readonly<Record<FaultKind, number>>;
  /** Faults that found nothing to hit (no connection open at that moment, no rabbitmqctl). */
  readonly skipped: Readonly<Record<string, number>>;
  /** Restarts the daemon reported, by behaviour. */
  readonly restarts: Readonly<Record<string, number>>;
  /** Close codes the clients' sockets saw, by the kind of the fault inflicted last before. */
  readonly closes: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly verdict: Verdict;
  /** The quiet tree against the open sockets (tree_check.ts). */
  readonly treeProblems: readonly string[];
  /** How the daemon exited during the run, if it did. */
  readonly daemonExit?: string;
  /** Every invariant broken, one line each: the run failed when there is any. */
  readonly broken: readonly string[];
}

// Quiet once the chatters stopped: every client back on one socket, the last messages in.
const QUIET_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 30_000;
// Reconnects fast, so that a short run spends its time chatting, not waiting.
const BACKOFF = { baseMs: 200, maxMs: 2_000 };
// Rules whose breach no later frame can mend: checked while the chaos runs.
const FINAL_RULES = new Set(['duplicate', 'answered twice', 'unasked answer', 'order']);
const HISTORY_SIZE = 100;

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const log = options.log ?? (() => {});
  let node: RabbitNode | undefined;
  let amqpUrl = options.amqpUrl;
  if (amqpUrl === undefined) {
    log('starting a private RabbitMQ node...');
    node = await startRabbitNode();
    amqpUrl = node.url;
  }
  const daemon = await Daemon.start({ amqpUrl, env: { HISTORY_SIZE: String(HISTORY_SIZE) } });
  let daemonExit: string | undefined;
  void daemon.exited.then(({ code, signal }) => (daemonExit = `exited with ${signal ?? `code ${code}`}`));
  const chatters: Chatter[] = [];
  try {
    await untilReady(daemon);
    const ledger = new Ledger();
    const closes: Record<string, Record<string, number>> = {};
    let lastFault = 'none';
    const rooms = new Map<string, string>();
    for (let i = 0; i < options.clients; i++) {
      const name = `c${String(i).padStart(3, '0')}`;
      const room = `room-${i % options.rooms}`;
      rooms.set(name, room);
      const chatter = new Chatter({ name, room, url: daemon.wsUrl(), ledger, intervalMs: options.intervalMs, backoff: BACKOFF });
      chatter.client.on('state', ({ state, code }) => {
        if (state !== 'reconnecting' || code === undefined) return;
        const seen = (closes[lastFault] ??= {});
        seen[code] = (seen[code] ?? 0) + 1;
      });
      chatters.push(chatter);
    }
    await Promise.all(chatters.map((chatter) => chatter.connect()));
    log(`${chatters.length} chatters in ${options.rooms} rooms on daemon pid ${daemon.pid}; seed ${options.seed}`);
    chatters.forEach((chatter) => chatter.start());
    const started = Date.now();

    const schedule = new FaultSchedule(prng(options.seed));
    const faults = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
    const skipped: Record<string, number> = {};
    const broken: string[] = [];
    const alive = () => {
      if (daemonExit !== undefined || !running(daemon.pid)) broken.push(`the daemon ${daemonExit ?? 'is gone'}`);
      return broken.length === 0;
    };
    const end = started + options.durationMs;
    while (Date.now() + options.faultEveryMs < end && alive()) {
      await delay(options.faultEveryMs);
      const lasting = ledger.verdict().violations.filter(({ rule }) => FINAL_RULES.has(rule));
      if (lasting.length > 0) {
        broken.push(...lasting.map(({ rule, detail }) => `${rule}: ${detail}`));
        break;
      }
      const kind = schedule.next(Date.now());
      lastFault = kind;
      const hit = await inflict(kind, schedule, daemon, node);
      if (hit === undefined) skipped[kind] = (skipped[kind] ?? 0) + 1;
      else faults[kind]++;
      log(`${((Date.now() - started) / 1000).toFixed(1)} s  ${kind}${hit === undefined ? ' (nothing to hit)' : hit === kind ? '' : `  ${hit}`}   acked ${ledger.verdict().acked}`);
    }

    await Promise.all(chatters.map((chatter) => chatter.stop()));
    log('chaos over; waiting for quiet...');
    const live = () => chatters.flatMap((chatter) => openSockets(chatter).map((): LiveSocket => ({ name: chatter.name, room: rooms.get(chatter.name)! })));
    let verdict = ledger.verdict();
    let treeProblems: string[] = ['the tree was never fetched'];
    const quietBy = Date.now() + QUIET_TIMEOUT_MS;
    while (alive()) {
      verdict = ledger.verdict();
      const reconnecting = chatters.filter((chatter) => chatter.client.state !== 'open' || openSockets(chatter).length !== 1);
      treeProblems = reconnecting.length > 0 ? [`not back on one open socket: ${reconnecting.map(({ name }) => name).join(' ')}`] : checkTree((await fetchTree(daemon)).tree, live(), HISTORY_SIZE);
      if ((verdict.violations.length === 0 && treeProblems.length === 0) || Date.now() > quietBy) break;
      await delay(200);
    }
    const restarts = await restartsReported(daemon);
    broken.push(...verdict.violations.map(({ rule, detail }) => `${rule}: ${detail}`), ...treeProblems.map((problem) => `tree: ${problem}`));
    return { seed: options.seed, durationMs: Date.now() - started, faults, skipped, restarts, closes, verdict, treeProblems, ...(daemonExit !== undefined && { daemonExit }), broken: [...new Set(broken)] };
  } finally {
    chatters.forEach((chatter) => chatter.close());
    await daemon.stop();
    await node?.destroy();
  }
}

/** Inflicts one fault of `kind`; what it hit, or undefined when there was nothing to hit. */
async function inflict(kind: FaultKind, schedule: FaultSchedule, daemon: Daemon, node: RabbitNode | undefined): Promise<string | undefined> {
  if (kind === 'amqp_close') {
    if (!node) return undefined;
    await node.ctl('close_all_connections', 'chaos: closed from the broker side');
    return kind;
  }
  const path = isTopLevel(kind) ? `/warren_sup/${kind}` : schedule.target(kind, Date.now(), pathsOf(kind, (await fetchTree(daemon)).tree));
  if (path === undefined) return undefined;
  const response = await killActor(daemon, path);
  // 404: the actor went away between the tree and the kill (its socket closed).
  return response.status === 200 ? path : undefined;
}

function pathsOf(kind: 'consumer' | 'connection', tree: ActorInfo): string[] {
  return actors(tree)
    .filter((actor) => actor.behaviour === kind)
    .map((actor) => actor.path);
}

async function untilReady(daemon: Daemon): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while ((await fetch(daemon.url('/readyz'))).status !== 200) {
    if (Date.now() > deadline) throw new Error(`the daemon was not ready within ${READY_TIMEOUT_MS} ms`);
    await delay(100);
  }
}

function openSockets(chatter: Chatter): WebSocket[] {
  return chatter.sockets.filter((socket) => socket.readyState === WebSocket.OPEN);
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The restart reports in the daemon's log (lib/otp/reports.ts), by behaviour. */
async function restartsReported(daemon: Daemon): Promise<Record<string, number>> {
  const restarts: Record<string, number> = {};
  for (const line of daemon.logs) {
    if (typeof line['restarts'] === 'number' && typeof line['behaviour'] === 'string' && line.msg.includes(' restarted ')) {
      restarts[line['behaviour']] = (restarts[line['behaviour']] ?? 0) + 1;
    }
  }
  return restarts;
}

/** The summary as a few lines for a terminal or a failed spec. */
export function describeSummary(summary: ChaosSummary): string {
  const counts = (record: Readonly<Record<string, number>>) => Object.entries(record).map(([key, count]) => `${key} ${count}`).join(', ') || 'none';
  return [
    `seed ${summary.seed}, ${(summary.durationMs / 1000).toFixed(0)} s`,
    `faults: ${counts(summary.faults)}${Object.keys(summary.skipped).length > 0 ? ` (nothing to hit: ${counts(summary.skipped)})` : ''}`,
    `restarts reported: ${counts(summary.restarts)}`,
    `closes seen by clients, after: ${Object.entries(summary.closes).map(([kind, codes]) => `${kind} (${counts(codes)})`).join(', ') || 'none'}`,
    // Its first line: the violations are among the broken invariants below.
    describeVerdict(summary.verdict).split('\n')[0]!,
    `daemon: ${summary.daemonExit ?? 'never exited'}`,
    summary.broken.length === 0 ? 'every invariant held' : `${summary.broken.length} invariants broken:`,
    ...summary.broken.slice(0, 20).map((line) => `  ${line}`),
  ].join('\n');
}
