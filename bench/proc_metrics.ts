/**
 * What a server process costs, read from /proc (Linux): CPU time from
 * /proc/<pid>/stat and resident memory from /proc/<pid>/status. Processes are
 * read the same way whatever they run (uWS, the daemon, RabbitMQ's beam.smp),
 * so their figures compare.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

// utime and stime are in clock ticks (almost always 100 per second).
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** user + system CPU seconds of these processes (all their threads); a process gone counts 0. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readOrEmpty(`/proc/${pid}/stat`);
    if (!stat) continue;
    // "pid (comm) state ppid …": comm may hold spaces; utime and stime are
    // fields 14 and 15, i.e. the 12th and 13th after the closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/**
 * user + system CPU of these processes in µs, to the nanosecond: the first
 * field of /proc/<pid>/task/<tid>/schedstat (time on a CPU) summed over
 * their threads. Fine enough for one operation of a few µs, which the
 * tick-counted cpuSeconds is not, and read without asking the process
 * anything (a /metrics scrape costs the daemon more than a join).
 * NaN when the kernel keeps no schedstat.
 */
export function cpuMicroseconds(pids: readonly number[]): number {
  let ns = 0;
  for (const pid of pids) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone
    }
    for (const tid of tasks) {
      const stat = readOrEmpty(`/proc/${pid}/task/${tid}/schedstat`);
      if (stat) ns += Number(stat.slice(0, stat.indexOf(' ')));
      else if (!readOrEmpty(`/proc/${pid}/task/${tid}/stat`)) continue; // the thread ended meanwhile
      else return NaN;
    }
  }
  return ns / 1000;
}

/** Resident memory of these processes, in bytes (VmRSS). */
export function rssBytes(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readOrEmpty(`/proc/${pid}/status`));
    if (match) kib += Number(match[1]);
  }
  return kib * 1024;
}

/** The most open files this process may ever have: the hard limit (Node raises its soft limit to it at start). */
export function openFilesHardLimit(): number {
  const line = /^Max open files\s+\S+\s+(\S+)/m.exec(readOrEmpty('/proc/self/limits'));
  return line?.[1] === undefined || line[1] === 'unlimited' ? Infinity : Number(line[1]);
}

/** Samples the RSS of a set of processes every `intervalMs` and keeps the peak. */
export class PeakRss {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: readonly number[], intervalMs = 50) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Stops sampling (after one last sample); returns the peak in bytes. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }

  private sample(): void {
    this.peak = Math.max(this.peak, rssBytes(this.pids));
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // the process exited between listing and reading
  }
}
