import { log, redirectLog } from '../../lib/log';

export interface CapturedLogs {
  readonly lines: Array<{ level: number; msg: string } & Record<string, unknown>>;
  messages(): string[];
  restore(): void;
}

/** Collects what the daemon's logger writes, at `level` and above, until `restore()`. */
export function captureLogs(level = 'info'): CapturedLogs {
  const previousLevel = log.level;
  const lines: CapturedLogs['lines'] = [];
  log.level = level;
  const undo = redirectLog({ write: (line) => lines.push(JSON.parse(line)) });
  return {
    lines,
    messages: () => lines.map((line) => line.msg),
    restore() {
      undo();
      log.level = previousLevel;
    },
  };
}
