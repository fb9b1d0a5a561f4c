// Child processes that run in a process group of their own, so that one
// signal reaches everything they start and nothing we did not start.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

export interface GroupOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** stdout and stderr are appended here, not mixed into the test output. */
  logFile: string;
}

// Leaders of the groups still running, killed if this process exits without
// stopping them (an uncaught error, process.exit): they are detached, so
// nothing else would ever end them.
const running = new Set<number>();
process.on('exit', () => {
  for (const leader of running) signalGroup(leader, 'SIGKILL');
});

/** Kills the group `child` leads if this process exits while it runs (`child` was spawned detached). */
export function killOnExit(child: ChildProcess): void {
  const leader = child.pid;
  if (leader === undefined || hasExited(child)) return;
  running.add(leader);
  child.once('exit', () => running.delete(leader));
}

export function spawnGroup(command: string, args: string[], options: GroupOptions): ChildProcess {
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, {
      detached: true, // setsid: the child leads a new process group
      stdio: ['ignore', log, log],
      env: options.env,
      cwd: options.cwd,
    });
    // A failed spawn is also reported as an 'error' event, which would crash
    // the process without a listener; the missing pid tells it already.
    child.on('error', () => {});
    const leader = child.pid;
    if (leader === undefined) throw new Error(`cannot run ${command} (is it installed and on PATH?)`);
    killOnExit(child);
    return child;
  } finally {
    closeSync(log);
  }
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * SIGTERM to the whole group, then SIGKILL after `graceMs`. Resolves once no
 * process of the group is left, nor any descendant that left the group
 * (Erlang's erl_child_setup calls setsid, so its port programs run in
 * sessions of their own; they exit when the VM does).
 */
export async function stopGroup(child: ChildProcess, graceMs: number): Promise<void> {
  const leader = child.pid!; // spawnGroup returns only children that started
  const tree = [leader, ...descendantsOf(leader)];
  signalGroup(leader, 'SIGTERM');
  if (await allGone(leader, tree, graceMs)) return;
  signalGroup(leader, 'SIGKILL');
  if (await allGone(leader, tree, 5_000)) return;
  const left = tree.filter(isAlive).join(', ');
  throw new Error(`processes ${left} of process group ${leader} survived SIGKILL`);
}

/** Every process descended from `pid`, read from /proc (Linux). */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(entry);
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    for (const child of children.get(pending.pop()!) ?? []) {
      found.push(child);
      pending.push(child);
    }
  }
  return found;
}

export function isAlive(pid: number): boolean {
  return probe(() => process.kill(pid, 0));
}

function parentOf(pid: string): number | undefined {
  try {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined; // it exited while we were reading /proc
  }
}

function signalGroup(leader: number, signal: NodeJS.Signals): void {
  probe(() => process.kill(-leader, signal));
}

function groupAlive(leader: number): boolean {
  return probe(() => process.kill(-leader, 0));
}

/** Runs a kill(); false when no such process (or group) exists. */
function probe(kill: () => void): boolean {
  try {
    kill();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function allGone(leader: number, tree: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(leader) || tree.some(isAlive)) {
    if (Date.now() > deadline) return false;
    await delay(100);
  }
  return true;
}

let handlingSignals = false;

/**
 * Ctrl-C would end mocha (or a tool) without its after hooks or even an
 * 'exit' event, and the groups are out of the terminal's reach. Exiting
 * turns the signal into an 'exit' event, on which they are killed. (Not for
 * a process that stops its groups gracefully on a signal: `npm run broker`.)
 */
export function exitOnSignals(): void {
  if (handlingSignals) return;
  handlingSignals = true;
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}
