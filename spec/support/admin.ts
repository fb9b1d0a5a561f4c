import type { ActorInfo } from '../../lib/otp/sys';
import type { Daemon } from './daemon';

export interface TreeAnswer {
  readonly node: string;
  readonly startedAt: string;
  readonly tree: ActorInfo;
}

export async function fetchTree(daemon: Daemon, init: RequestInit = {}): Promise<TreeAnswer> {
  const response = await fetch(daemon.adminUrl('/debug/tree'), init);
  if (response.status !== 200) throw new Error(`/debug/tree answered ${response.status}`);
  return (await response.json()) as TreeAnswer;
}

export function killActor(daemon: Daemon, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(daemon.adminUrl(`/debug/kill?path=${encodeURIComponent(path)}`), { method: 'POST', ...init });
}

/** Every actor of the tree, depth first. */
export function actors(tree: ActorInfo): ActorInfo[] {
  return [tree, ...tree.children.flatMap(actors)];
}

/** The connection actor of the client with this display name. */
export function connectionOf(tree: ActorInfo, name: string): ActorInfo | undefined {
  return actors(tree).find((actor) => actor.behaviour === 'connection' && actor.info['name'] === name);
}
