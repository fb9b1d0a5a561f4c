/**
 * Bench targets for specs: the daemon of a `useDaemon` block, measured as
 * the bench measures one it started, and the load of a tiny idle run.
 */
import type { Load } from '../../bench/load_generator';
import type { Target } from '../../bench/servers';
import type { Daemon } from '../support/daemon';

export function daemonTarget(daemon: Daemon): Target {
  return {
    name: 'warren/local',
    url: `ws://127.0.0.1:${daemon.port}`,
    metricsUrl: daemon.adminUrl('/metrics'),
    adminUrl: daemon.adminUrl(''),
    processes: [{ label: 'daemon', pids: () => [daemon.pid] }],
    heapUsedBytes: async () => undefined,
    stop: async () => undefined,
  };
}

/** `clients` idle connections to `url`, each offering its token when given. */
export function idleLoad(url: string, clients: number, tokens?: readonly string[]): Load {
  return { url, clients, messages: 0, rooms: 1, payload: 64, rate: 50, burst: 200, timeoutMs: 20_000, ...(tokens && { tokens }) };
}
