/**
 * A room's presence as one client sees it, kept the way PROTOCOL.md tells a
 * client to keep it: a `presence` frame replaces the list, a
 * `presence_diff` applies its joins and leaves (idempotently, by user) and
 * its counts. Every frame and every join and leave is recorded with the
 * time it arrived, for specs about how many there were and when.
 */
import type { Frame } from './client';
import { ChatClient } from './client';
import { Daemon } from './daemon';
import { until } from './eventually';
import { bearerProtocols, signToken } from './tokens';

export interface Listed {
  readonly name: string;
  readonly connections?: number;
}

export interface Change {
  readonly kind: 'join' | 'leave';
  readonly user: string;
  readonly at: number;
}

export class PresenceView {
  readonly members = new Map<string, Listed>();
  readonly changes: Change[] = [];
  /** Every presence and presence_diff frame of the room, with its arrival time. */
  readonly frames: Array<{ readonly frame: Frame; readonly at: number }> = [];
  users = 0;
  connections = 0;
  truncated = false;

  constructor(
    readonly client: ChatClient,
    readonly room: string,
  ) {
    client.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame['room'] === room && (frame.type === 'presence' || frame.type === 'presence_diff')) this.apply(frame, Date.now());
    });
  }

  get diffs(): Frame[] {
    return this.frames.filter(({ frame }) => frame.type === 'presence_diff').map(({ frame }) => frame);
  }

  /** Changes of `user`, in order. */
  changesOf(user: string): Array<Change['kind']> {
    return this.changes.filter((change) => change.user === user).map((change) => change.kind);
  }

  until(what: string, ok: (view: this) => boolean, timeoutMs = 10_000): Promise<this> {
    return until(what, () => this, ok, timeoutMs).catch((error: Error) => {
      throw new Error(`${error.message.split(';')[0]}; the view: ${JSON.stringify({ users: this.users, connections: this.connections, members: [...this.members.keys()].slice(0, 20) })}`);
    });
  }

  private apply(frame: Frame, at: number): void {
    this.frames.push({ frame, at });
    this.users = frame['users'] as number;
    this.connections = frame['connections'] as number;
    if (frame.type === 'presence') {
      this.members.clear();
      for (const member of frame['members'] as Array<{ user: string } & Listed>) this.members.set(member.user, { name: member.name, connections: member.connections });
      this.truncated = frame['truncated'] === true;
      return;
    }
    for (const { user, name } of (frame['joins'] ?? []) as Array<{ user: string; name: string }>) {
      this.members.set(user, { name });
      this.changes.push({ kind: 'join', user, at });
    }
    for (const { user } of (frame['leaves'] ?? []) as Array<{ user: string }>) {
      this.members.delete(user);
      this.changes.push({ kind: 'leave', user, at });
    }
  }
}

/**
 * A connection of `user` (a token's sub, also its name) to `daemon`, joined
 * to `room` at connect; with `watch`, also joined with presence, and its view.
 */
export async function connectMember(daemon: Daemon, user: string, room: string, watch = false): Promise<{ client: ChatClient; view: PresenceView | undefined }> {
  const token = await signToken({ sub: user, name: user });
  const client = await ChatClient.connect(daemon.wsUrl(`room=${room}`), { protocols: bearerProtocols(token) });
  if (!watch) return { client, view: undefined };
  const view = new PresenceView(client, room);
  client.send({ type: 'join', room, presence: true });
  await view.until('the first presence frame', (seen) => seen.frames.length > 0);
  return { client, view };
}
