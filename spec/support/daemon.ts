/**
 * The daemon as users run it: compiled (`npm start`'s dist/lib/main.js, built
 * before the first spec when lib/ changed) in a child process of its own
 * process group, on ports it picks itself (PORT=0), its log lines collected.
 * Every daemon a spec starts is stopped by its pid at the end of the run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildDaemon } from './daemon_build';
import { atExit, beforeSpecs } from './hooks';
import { killOnExit } from './process_group';

const ROOT = join(__dirname, '..', '..');

// Before the first spec, where a build of some 15 s runs under no spec's timeout.
beforeSpecs(async () => void buildDaemon());

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface DaemonOptions {
  /** RabbitMQ URL(s); absent: the in-process broker. */
  readonly amqpUrl?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
}

export class Daemon {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  port = 0;
  adminPort = 0;

  private constructor(private readonly child: ChildProcess) {
    this.exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ level: 30, msg: line });
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.stderr.push(line));
  }

  /** Spawns the daemon without waiting for it (for specs about failing starts). */
  static spawn(options: DaemonOptions = {}): Daemon {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      ADMIN_PORT: '0',
      LOG_LEVEL: 'info',
      ...(options.amqpUrl && { AMQP_URL: options.amqpUrl }),
      ...options.env,
    };
    const child = spawn(process.execPath, [buildDaemon(), ...(options.args ?? [])], {
      cwd: ROOT,
      env,
      detached: true, // its own process group: stopped by its id, never by name
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Stopped after the spec file; killed even if the run ends abruptly
    // (an uncaught error, Ctrl-C on a tool that starts daemons).
    killOnExit(child);
    const daemon = new Daemon(child);
    atExit(() => daemon.kill());
    return daemon;
  }

  /** Starts the daemon and waits until it listens. */
  static async start(options: DaemonOptions = {}): Promise<Daemon> {
    const daemon = Daemon.spawn(options);
    const listening = await daemon.waitForLog((line) => typeof line['adminPort'] === 'number', 30_000);
    daemon.port = listening['port'] as number;
    daemon.adminPort = listening['adminPort'] as number;
    return daemon;
  }

  get pid(): number {
    return this.child.pid!;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  adminUrl(path: string): string {
    return `http://127.0.0.1:${this.adminPort}${path}`;
  }

  wsUrl(query = ''): string {
    return `ws://127.0.0.1:${this.port}/websocket${query ? `?${query}` : ''}`;
  }

  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(match);
      if (found) return found;
      if (this.child.exitCode !== null) throw new Error(`the daemon exited (${this.child.exitCode}): ${this.stderr.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`no such log line within ${timeoutMs} ms; last lines:\n${this.logs.slice(-10).map((l) => l.msg).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, signal);
  }

  /** SIGTERM, as a user stops it; resolves with how it exited. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.signal('SIGTERM');
    return this.exited;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.exited;
  }
}
