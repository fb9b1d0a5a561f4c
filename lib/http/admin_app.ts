/**
 * The admin port (PROTOCOL.md, "Admin port"): the live actor tree as JSON,
 * the observer page that draws it, crashing an actor on purpose, metrics,
 * and warren's own: the processes by mailbox, rate or restarts, one process
 * in full, a message trace, the node's last ten minutes (docs/observer.md),
 * and a garbage collection on request (for the long runs).
 *
 * Bound to loopback by default. With a token configured (required by the
 * config when bound elsewhere) every request must carry it as a bearer
 * token, compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { log } from '../log';
import { historyBytes, historyMessages, openConnections, presenceNodes, presenceRooms, registry, relayMailbox, streamLag } from '../metrics';
import type { SamplerRef, SamplerState } from '../actors/sampler';
import { cast } from '../otp/gen_server';
import { countChildren } from '../otp/supervisor';
import type { Ref } from '../otp/process';
import { childRef, describeTree, getState, processInfo, whereis } from '../otp/sys';
import { TOP_KEYS, type TopKey, top } from '../otp/top';
import { TRACE_BOUNDS, type TraceLimits } from '../otp/trace';
import { uWS } from '../uws';
import { collectGarbage } from './heap';
import type { StaticFiles } from './static_files';
import { type Answer, json, respond, respondLater } from './respond';
import { streamTrace } from './trace_stream';

export interface AdminAppContext {
  readonly token: string | undefined;
  readonly nodeId: string;
  readonly startedAt: Date;
  /** The root supervisor: the tree is described and searched from here. */
  readonly root: Ref;
  readonly files: StaticFiles;
}

export function adminApp(context: AdminAppContext): TemplatedApp {
  // uWS runs handlers outside any process: an exception there would reach
  // no supervisor and end the daemon, so it becomes a 500 and a log line.
  const guarded = (handle: (res: HttpResponse, req: HttpRequest) => void) => (res: HttpResponse, req: HttpRequest) => {
    if (!authorized(context.token, req.getHeader('authorization'))) {
      respond(res, { ...json('401 Unauthorized', { error: 'a bearer token is required' }), headers: { 'WWW-Authenticate': 'Bearer' } });
      return;
    }
    try {
      handle(res, req);
    } catch (error) {
      log.error({ err: error, url: req.getUrl() }, `admin request ${req.getUrl()} failed`);
      respond(res, json('500 Internal Server Error', { error: (error as Error).message }));
    }
  };
  const debugPage = context.files.get('/debug.html')!;
  return uWS
    .App()
    .get('/debug', guarded((res) => respond(res, debugPage)))
    .get('/debug/tree', guarded((res) => respond(res, tree(context))))
    .post('/debug/kill', guarded((res, req) => respond(res, kill(context, req.getQuery('path')))))
    .get('/debug/top', guarded((res, req) => respond(res, topAnswer(context, req))))
    .get('/debug/actor', guarded((res, req) => respond(res, actor(context, req.getQuery('path')))))
    .post('/debug/trace', guarded((res, req) => startTrace(context, res, req)))
    .get('/debug/history', guarded((res, req) => respond(res, history(context, req.getQuery('since')))))
    .post('/debug/gc', guarded((res) => respondLater(res, collectGarbage().then((figures) => json('200 OK', figures)))))
    .get('/metrics', guarded((res) => respondLater(res, metrics(context))))
    .get('/*', guarded((res, req) => respond(res, context.files.get(req.getUrl()) ?? json('404 Not Found', { error: 'not found' }))));
}

// Between the root supervisor's exit and the ports' closing (the end of a
// shutdown) there is no tree to show; PROTOCOL.md's answer always has one.
function tree({ nodeId, startedAt, root }: AdminAppContext): Answer {
  const described = describeTree(root);
  if (!described) return json('503 Service Unavailable', { error: 'the application has stopped: no actor tree' });
  return json('200 OK', { node: nodeId, startedAt: startedAt.toISOString(), tree: described });
}

function kill({ root }: AdminAppContext, path: string | undefined): Answer {
  if (!path) return json('400 Bad Request', { error: 'the path query parameter is required' });
  const target = whereis(root, path);
  if (!target) return json('404 Not Found', { error: `no actor at ${path}` });
  log.warn({ actor: path }, `crashing ${path} on request (/debug/kill)`);
  target.crash();
  return json('200 OK', { killed: path });
}

/** /debug/top's `n`: enough for a page of a table; the walk costs the same whatever it is. */
const TOP_MAX = 1_000;
const TOP_DEFAULT = 50;

function topAnswer(context: AdminAppContext, req: HttpRequest): Answer {
  const by = req.getQuery('by') || 'mailbox';
  if (!(TOP_KEYS as readonly string[]).includes(by)) return json('400 Bad Request', { error: `by must be one of ${TOP_KEYS.join(', ')}` });
  const n = integerQuery(req, 'n', TOP_DEFAULT, TOP_MAX);
  if (typeof n === 'string') return json('400 Bad Request', { error: n });
  const filter = req.getQuery('filter')?.toLowerCase() || undefined;
  const intervalMs = observed(context);
  const answer = top(context.root, { by: by as TopKey, n, filter, intervalMs });
  return json('200 OK', { node: context.nodeId, at: new Date().toISOString(), by, n, intervalMs, ...answer });
}

function actor(context: AdminAppContext, path: string | undefined): Answer {
  if (!path) return json('400 Bad Request', { error: 'the path query parameter is required' });
  const found = processInfo(context.root, path, observed(context));
  if (!found) return json('404 Not Found', { error: `no actor at ${path}` });
  return json('200 OK', { node: context.nodeId, actor: found });
}

function startTrace(context: AdminAppContext, res: HttpResponse, req: HttpRequest): void {
  const path = req.getQuery('path');
  if (!path) return respond(res, json('400 Bad Request', { error: 'the path query parameter is required' }));
  const limits: Partial<Record<keyof TraceLimits, number>> = {};
  for (const [name, bounds] of Object.entries(TRACE_BOUNDS) as Array<[keyof TraceLimits, { default: number; max: number }]>) {
    const value = integerQuery(req, name, bounds.default, bounds.max);
    if (typeof value === 'string') return respond(res, json('400 Bad Request', { error: value }));
    limits[name] = value;
  }
  const target = whereis(context.root, path);
  if (!target || target.status === 'exiting') return respond(res, json('404 Not Found', { error: `no actor at ${path}` }));
  if (!streamTrace(res, target, limits as TraceLimits)) respond(res, json('409 Conflict', { error: `${path} is being traced already` }));
}

function history(context: AdminAppContext, since: string | undefined): Answer {
  const state = sampler(context);
  if (!state) return json('503 Service Unavailable', { error: 'the sampler is not running (restarting, or the application has stopped)' });
  const after = since ? Number(since) : 0;
  if (!Number.isFinite(after)) return json('400 Bad Request', { error: 'since must be a time in epoch ms' });
  const { series } = state.args;
  return json('200 OK', { node: context.nodeId, intervalMs: state.periodMs, capacity: series.capacity, ...series.since(after) });
}

function sampler({ root }: AdminAppContext): SamplerState | undefined {
  const ref = childRef(root, 'sampler');
  return ref && getState<SamplerState>(ref);
}

/**
 * Tells the sampler that someone looks at the processes, so that it keeps
 * their rates up; answers the rates' last interval (0: none yet, the next
 * answer will have them).
 */
function observed(context: AdminAppContext): number {
  const ref = childRef(context.root, 'sampler') as SamplerRef | undefined;
  if (ref) cast(ref, { type: 'observed' });
  return sampler(context)?.intervalMs ?? 0;
}

/** A whole number from 1 to `max`, `absent` when not given; otherwise what is wrong with it. */
function integerQuery(req: HttpRequest, name: string, absent: number, max: number): number | string {
  const raw = req.getQuery(name);
  if (!raw) return absent;
  const value = Number(raw);
  return Number.isInteger(value) && value >= 1 && value <= max ? value : `${name} must be a whole number from 1 to ${max}`;
}

async function metrics({ root }: AdminAppContext): Promise<Answer> {
  const connectionSup = childRef(root, 'connection_sup');
  const relay = childRef(root, 'relay');
  openConnections.set(connectionSup ? countChildren(connectionSup).active : 0);
  const relayActor = relay && describeTree(relay);
  relayMailbox.set(relayActor?.mailbox ?? 0);
  historyBytes.set(Number(relayActor?.info['historyBytes'] ?? 0));
  historyMessages.set(Number(relayActor?.info['historyMessages'] ?? 0));
  streamLag.set(Number(relayActor?.info['lagMs'] ?? 0) / 1000);
  const presence = childRef(root, 'presence');
  const presenceInfo = presence && describeTree(presence)?.info;
  presenceRooms.set(Number(presenceInfo?.['rooms'] ?? 0));
  const nodes = (presenceInfo?.['nodes'] ?? []) as ReadonlyArray<{ up: boolean }>;
  presenceNodes.set({ state: 'up' }, nodes.filter((node) => node.up).length);
  presenceNodes.set({ state: 'down' }, nodes.filter((node) => !node.up).length);
  return { status: '200 OK', body: await registry.metrics(), contentType: registry.contentType };
}

// Hashing both sides first gives equal lengths, which timingSafeEqual needs,
// without revealing the token's length through timing either.
function authorized(token: string | undefined, header: string): boolean {
  if (token === undefined) return true;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(header), digest(`Bearer ${token}`));
}
