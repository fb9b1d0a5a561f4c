/**
 * The admin port (PROTOCOL.md, "Admin port"): the live actor tree as JSON,
 * the observer page that draws it, crashing an actor on purpose, metrics,
 * and (warren's own, for the long runs) a garbage collection on request.
 *
 * Bound to loopback by default. With a token configured (required by the
 * config when bound elsewhere) every request must carry it as a bearer
 * token, compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { log } from '../log';
import { historyBytes, historyMessages, openConnections, presenceNodes, presenceRooms, registry, relayMailbox, streamLag } from '../metrics';
import { countChildren } from '../otp/supervisor';
import type { Ref } from '../otp/process';
import { childRef, describeTree, whereis } from '../otp/sys';
import { uWS } from '../uws';
import { collectGarbage } from './heap';
import type { StaticFiles } from './static_files';
import { type Answer, json, respond, respondLater } from './respond';

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
