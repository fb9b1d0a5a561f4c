/**
 * A progress bar on stderr while a run goes: connections opened, messages
 * delivered of expected. Redrawn in place on a terminal; elsewhere (a CI
 * log) one line a second.
 */

export interface ProgressSource {
  readonly connected: number;
  readonly delivered: number;
  readonly expected: number;
}

const WIDTH = 30;

export class ProgressBar {
  private readonly timer: NodeJS.Timeout;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly clients: number,
    private readonly source: ProgressSource,
  ) {
    this.timer = setInterval(() => this.draw(), this.tty ? 100 : 1_000);
  }

  stop(): void {
    clearInterval(this.timer);
    this.draw();
    if (this.tty) process.stderr.write('\n');
  }

  private draw(): void {
    const { connected, delivered, expected } = this.source;
    const done = expected > 0 ? Math.min(1, delivered / expected) : connected / this.clients;
    const filled = Math.round(done * WIDTH);
    const line =
      `${this.label.padEnd(16)} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ` +
      `connections ${connected}/${this.clients}` +
      (expected > 0 ? `  delivered ${delivered.toLocaleString('en-US')}/${expected.toLocaleString('en-US')}` : '');
    process.stderr.write(this.tty ? `\r${line}\u001b[K` : `${line}\n`);
  }
}
