/**
 * `npm run soak -- --minutes 30 [--clients N] [--amqp-url URL | --rabbitmq]`
 * (issue 14 item 4): steady chatters (history joins, presence on) in a few
 * rooms, churners that leave and new ones that join every few seconds, a
 * few connect/join/say/close cycles with each, and once a minute the daemon's RSS, heap after a forced GC, event-loop lag and
 * tree size. At the end: each one's slope per hour (least squares after the
 * warm-up minute), the heap at the end against its start, and the ledger's
 * verdict on every say and delivery. Exits 1 when either fails.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { eventually, until } from '../../spec/support/eventually';
import { Chatter } from '../traffic/chatters';
import { Ledger, describeVerdict } from '../traffic/ledger';
import { actorTree, eventLoopLag, heapAfterGc, structures } from './admin';
import { runCycles } from './cycles';
import { BROKER_USAGE, mb, parseRun, runMain, say, startRunDaemon } from './run';
import { slopePerHour } from './slope';

const USAGE = `npm run soak -- [options]
  --minutes N      how long (default 30)
  --clients N      steady chatters (default 20), over --rooms rooms (default 4)
  --churners N     chatters alive at once that come and go (default 8), one replaced every --churn-seconds (default 3)
  --cycles N       and that often, N connect/join(history, presence)/say/close cycles at once (default 10)
  --interval-ms N  pause between one say's ack and the next (default 1000)
  --warm-up N      minutes before the slopes and the heap's start are taken (default 1: the histories fill, the code warms)
${BROKER_USAGE}
`;

/**
 * The in-process broker keeps its log, an hour of batches (lib/broker/local_bus.ts
 * retention), in the daemon's heap: there the heap climbs with the traffic
 * for the first hour, bounded by time, not by a leak. RabbitMQ keeps the log
 * outside the daemon.
 */
const LOCAL_LOG_MINUTES = 60;
const HEAP_TOLERANCE = 0.05;
/** Messages of history the steady chatters' joins ask for. */
const HISTORY = 20;

/** One minute's figures of the daemon. */
interface Sample {
  readonly minute: number;
  /** ms since the epoch */
  readonly at: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly lagP99Ms: number;
  readonly lagMaxMs: number;
  readonly actors: number;
  /** Used bytes per V8 heap space after the GC: objects (old_space) told from compiled code (code_space). */
  readonly spaces: Record<string, number>;
}

async function main(): Promise<boolean> {
  const options = parseRun(process.argv.slice(2), { minutes: 30, clients: 20, rooms: 4, churners: 8, 'churn-seconds': 3, cycles: 10, 'interval-ms': 1000, 'warm-up': 1 }, USAGE);
  if (options['warm-up'] >= options.minutes) throw new Error(`--warm-up (${options['warm-up']}) must be shorter than --minutes (${options.minutes})`);
  const { admin, url, outDir } = await startRunDaemon('soak', options);
  const ledger = new Ledger();
  let made = 0;
  // A history join of the connect room under traffic gets again what came
  // live (the library drops it by msgId; the ledger, counting the wire,
  // would not): so only the steady ones, in before anyone says, ask for
  // history. The churn's history joins are the cycles'.
  const chatter = (prefix: string) => {
    const n = made++;
    const history = prefix === 'steady' ? HISTORY : 0;
    return new Chatter({ name: `${prefix}-${n}`, room: `soak-${n % options.rooms}`, url, ledger, intervalMs: options['interval-ms'], client: { roomOptions: { history, presence: true } } });
  };
  const connected = async (prefix: string) => {
    const each = chatter(prefix);
    await each.connect();
    return each;
  };
  // All in before anyone says: a receiver is owed every say of its room from the start.
  const steady = await Promise.all(Array.from({ length: options.clients }, () => connected('steady')));
  const churners = await Promise.all(Array.from({ length: options.churners }, () => connected('churner')));
  [...steady, ...churners].forEach((each) => each.start());
  let churned = 0;
  let cycled = 0;
  const leave = async (gone: Chatter) => {
    await gone.stop();
    gone.close();
    ledger.left(gone.name);
  };
  let running = true;
  // The sampler holds the churn while it counts the actors, so the figure is
  // the steady state's, not a wave of cycles caught half way.
  let held: Promise<void> | undefined;
  let tick = Promise.resolve();
  const churning = (async () => {
    while (running) {
      await delay(options['churn-seconds'] * 1000);
      await held;
      if (!running) break;
      tick = (async () => {
        await leave(churners.shift()!);
        const next = await connected('churner');
        next.start();
        churners.push(next);
        churned++;
        await runCycles({ url, cycles: options.cycles, wave: options.cycles, rooms: options.rooms, sayEvery: 2, history: HISTORY });
        cycled += options.cycles;
      })();
      await tick;
    }
  })();
  const steadyActors = async () => {
    let release!: () => void;
    held = new Promise((resolve) => (release = resolve));
    try {
      await tick;
      const connections = steady.length + churners.length;
      const quiet = await until('the cycles gone', async () => structures(await actorTree(admin)), (figures) => figures.connections === connections, 10_000).catch(() => undefined);
      return quiet?.actors ?? NaN;
    } finally {
      held = undefined;
      release();
    }
  };
  if (!options.amqpUrl && !options.rabbitmq && options['warm-up'] <= LOCAL_LOG_MINUTES) {
    say(`note: on the in-process broker the heap grows with the log for its first ${LOCAL_LOG_MINUTES} minutes; judge it with --rabbitmq, or --warm-up ${LOCAL_LOG_MINUTES + 1} and a longer run`);
  }
  say(`${options.clients} steady chatters and ${options.churners} churners in ${options.rooms} rooms, for ${options.minutes} minutes`);

  const started = Date.now();
  const samples: Sample[] = [];
  for (let minute = 0; minute <= options.minutes; minute++) {
    await delay(Math.max(0, started + minute * 60_000 - Date.now()));
    const lag = await eventLoopLag(admin);
    const actors = await steadyActors();
    const { memory, spaces } = await heapAfterGc(admin);
    // The collection stalls the loop: scraped again, that stall is not the next minute's lag.
    await eventLoopLag(admin);
    const sample = { minute, at: Date.now(), rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, lagP99Ms: lag.p99 * 1000, lagMaxMs: lag.max * 1000, actors, spaces };
    samples.push(sample);
    const { acked } = ledger.verdict();
    say(`minute ${minute}: rss ${mb(sample.rssBytes)}, heap after GC ${mb(sample.heapUsedBytes)}, lag p99 ${sample.lagP99Ms.toFixed(1)} ms (max ${sample.lagMaxMs.toFixed(1)}), ${actors} actors; ${acked} says acked, ${churned} churned, ${cycled} cycles`);
  }

  running = false;
  await churning;
  await Promise.all(steady.map((each) => each.stop()));
  // Those that came late are owed only what was said while they were in, which the ledger does not tell apart.
  await Promise.all(churners.map(leave));
  // The last says' deliveries may still be on their way.
  const verdict = await eventually(() => {
    const latest = ledger.verdict();
    if (latest.violations.length > 0) throw new Error(describeVerdict(latest));
    return latest;
  }, 15_000, 200).catch(() => ledger.verdict());
  steady.forEach((each) => each.close());

  const warm = samples.filter(({ minute }) => minute >= options['warm-up']);
  const slope = (value: (sample: Sample) => number) => slopePerHour(warm.map((sample) => ({ at: sample.at, value: value(sample) })));
  const slopes = {
    rssBytesPerHour: slope((sample) => sample.rssBytes),
    heapUsedBytesPerHour: slope((sample) => sample.heapUsedBytes),
    lagP99MsPerHour: slope((sample) => sample.lagP99Ms),
    actorsPerHour: slope((sample) => sample.actors),
  };
  const heapStart = warm[0]!.heapUsedBytes;
  const heapEnd = warm.at(-1)!.heapUsedBytes;
  const heapChange = heapEnd / heapStart - 1;
  const heapPassed = Math.abs(heapChange) <= HEAP_TOLERANCE;
  const ledgerPassed = verdict.violations.length === 0 && verdict.says === verdict.acked;

  say(`slopes per hour: rss ${mb(slopes.rssBytesPerHour)}, heap after GC ${mb(slopes.heapUsedBytesPerHour)}, lag p99 ${slopes.lagP99MsPerHour.toFixed(2)} ms, actors ${slopes.actorsPerHour.toFixed(1)}`);
  say(`heap after GC: ${mb(heapStart)} at minute ${warm[0]!.minute}, ${mb(heapEnd)} at the end (${(heapChange * 100).toFixed(1)}%, within ±${HEAP_TOLERANCE * 100}%: ${heapPassed ? 'yes' : 'NO'})`);
  say(`ledger: ${describeVerdict(verdict)}`);
  say(`${churned} churners replaced, ${cycled} cycles; verdict: ${heapPassed && ledgerPassed ? 'PASS' : 'FAIL'}`);
  const file = join(outDir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ options, samples, slopes, heap: { start: heapStart, end: heapEnd, change: heapChange, passed: heapPassed }, ledger: verdict, churned, cycled }, null, 2));
  say(`results in ${file}`);
  return heapPassed && ledgerPassed;
}

runMain(main);
