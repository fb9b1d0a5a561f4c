/**
 * `npm run churn -- --cycles 20000 [--wave 500] [--amqp-url URL | --rabbitmq]`
 * (issue 14 item 5): connect/join/say/close cycles in waves, then, once
 * quiet, every per-socket structure of the daemon (tree, the relay's
 * members and rooms, presence's connections, memberships and rooms) back at
 * its baseline, history and the duplicate window within their per-room
 * bounds, and heap after a forced GC within 5% of the baseline's. Exits 1
 * when any is not.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '../../spec/support/eventually';
import { PER_SOCKET, type Structures, actorTree, heapAfterGc, pastRoomBounds, structures } from './admin';
import { runCycles } from './cycles';
import { BROKER_USAGE, mb, parseRun, runMain, say, startRunDaemon } from './run';

const USAGE = `npm run churn -- [options]
  --cycles N     connect/disconnect cycles (default 20000)
  --wave N       cycles at once (default 500)
  --rooms N      rooms they spread over (default 20)
  --say-every N  every Nth cycle says something (default 3)
  --warm-up N    cycles before the baseline is taken (default 2000)
${BROKER_USAGE}
`;

const HEAP_TOLERANCE = 0.05;
/** config/default.json's history.size: the per-room bound of history and duplicate keys. */
const HISTORY_SIZE = 100;
const JOIN_HISTORY = 10;
const QUIET_TIMEOUT_MS = 60_000;
const REPORT_EVERY = 2_000;

async function main(): Promise<boolean> {
  const options = parseRun(process.argv.slice(2), { cycles: 20_000, wave: 500, rooms: 20, 'say-every': 3, 'warm-up': 2_000 }, USAGE);
  const { admin, url, outDir } = await startRunDaemon('churn', options);
  const cycles = { url, wave: options.wave, rooms: options.rooms, history: JOIN_HISTORY };
  // First a wave that fills every room's history and key window, then
  // --warm-up cycles as the run makes them, to warm the code (V8 allocates
  // feedback and optimised code as functions get hot): the baseline is a
  // node that has served, not one fresh from its start.
  const saysToFill = Math.ceil((options.rooms * (HISTORY_SIZE + 1)) / options.wave);
  await runCycles({ ...cycles, cycles: options.wave, sayEvery: 1, says: saysToFill });
  await runCycles({ ...cycles, cycles: options['warm-up'], sayEvery: options['say-every'] });
  // Quiet: the warm-up's sockets are gone from the node, as far as it knows.
  const baseline = await until('the warm-up sockets gone', async () => structures(await actorTree(admin)), (figures) => figures.connections === 0 && figures.relayMembers === 0 && figures.presenceConnections === 0, QUIET_TIMEOUT_MS);
  const perSocket = (figures: Structures) => PER_SOCKET.filter((key) => figures[key] !== baseline[key]);
  const before = await heapAfterGc(admin);
  const heapBefore = before.memory.heapUsed;
  say(`baseline after ${options['warm-up']} warm-up cycles: ${describe(baseline)}; heap after GC ${mb(heapBefore)}`);

  const started = Date.now();
  // Heap after GC along the way, every REPORT_EVERY cycles: a leak grows with the cycles, a warm-up does not.
  let reported = Promise.resolve();
  const onWave = (done: number) => {
    if (done % REPORT_EVERY !== 0 && done !== options.cycles) return;
    reported = reported.then(async () => say(`${done} cycles: heap after GC ${mb((await heapAfterGc(admin)).memory.heapUsed)}`));
  };
  await runCycles({ ...cycles, cycles: options.cycles, sayEvery: options['say-every'], onWave });
  await reported;
  const seconds = (Date.now() - started) / 1000;
  say(`${options.cycles} cycles in waves of ${options.wave} took ${seconds.toFixed(0)} s`);

  const after = await until('quiet', async () => structures(await actorTree(admin)), (figures) => perSocket(figures).length === 0, QUIET_TIMEOUT_MS).catch(async () => structures(await actorTree(admin)));
  const afterGc = await heapAfterGc(admin);
  const heapAfter = afterGc.memory.heapUsed;
  const grown = Object.entries(afterGc.spaces).map(([space, used]) => `${space} ${((used - (before.spaces[space] ?? 0)) / 1024).toFixed(0)} KiB`);
  const notBack = perSocket(after).map((key) => `${key} ${after[key]} (baseline ${baseline[key]})`);
  const pastBounds = pastRoomBounds(baseline, after, options.rooms, HISTORY_SIZE);
  const heapChange = heapAfter / heapBefore - 1;
  const heapPassed = Math.abs(heapChange) <= HEAP_TOLERANCE;
  say(`after, once quiet: ${describe(after)}`);
  say(`per-socket structures back at baseline: ${notBack.length === 0 ? 'yes' : `NO: ${notBack.join(', ')}`}`);
  say(`history and duplicate keys within their per-room bounds: ${pastBounds.length === 0 ? 'yes' : `NO: ${pastBounds.join(', ')}`}`);
  say(`heap after GC: ${mb(heapBefore)} before, ${mb(heapAfter)} after (${(heapChange * 100).toFixed(1)}%, within ±${HEAP_TOLERANCE * 100}%: ${heapPassed ? 'yes' : 'NO'}); by space: ${grown.join(', ')}`);
  const passed = notBack.length === 0 && pastBounds.length === 0 && heapPassed;
  say(`verdict: ${passed ? 'PASS' : 'FAIL'}`);
  const file = join(outDir, `churn-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ options, seconds, baseline, after, heap: { before: heapBefore, after: heapAfter, change: heapChange, spacesBefore: before.spaces, spacesAfter: afterGc.spaces }, notBack, pastBounds, passed }, null, 2));
  say(`results in ${file}`);
  return passed;
}

function describe(figures: Structures): string {
  return Object.entries(figures).map(([key, value]) => `${key} ${value}`).join(', ');
}

runMain(main);
