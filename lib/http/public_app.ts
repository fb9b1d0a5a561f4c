/**
 * The public port (PROTOCOL.md, "Connecting" and "HTTP on the public port"):
 * the websocket endpoint, the chat page, liveness and readiness.
 *
 * uWS callbacks only translate: the upgrade checks the URL, `open` starts a
 * connection process under connection_sup, and frames and closes become
 * events for that process, which decides what they mean.
 */
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t } from 'uWebSockets.js';
import { ClientSocket } from '../client_socket';
import type { Config } from '../config';
import { log } from '../log';
import { startChild } from '../otp/supervisor';
import { checkUpgradeHeaders, parseHandshake, type UpgradeRefusal } from '../protocol/handshake';
import type { Readiness } from '../readiness';
import { uWS, uwsRuntime } from '../uws';
import type { ConnectionSupRef } from '../../supervisors/connection_sup';
import { grants } from '../auth/room_grants';
import type { Identity, TokenVerifier, Verification } from '../auth/tokens';
import { upgradesRefused, type RefusalReason } from '../metrics';
import { ConnectionAdmission } from './admission';
import { offeredToken, selectedProtocol } from './credentials';
import type { UpgradeStats } from './listen_sockets';
import { type OriginPolicy, originPolicy } from './origins';
import { type StaticFiles } from './static_files';
import { type Answer, json, respond, text } from './respond';

export interface PublicAppContext {
  readonly config: Config;
  readonly readiness: Readiness;
  readonly nodeId: string;
  readonly connectionSup: ConnectionSupRef;
  readonly files: StaticFiles;
  /** undefined: authentication is off. */
  readonly verifier: TokenVerifier | undefined;
  readonly stats: UpgradeStats;
}

/** What a session starts from: the URL's fields, and the token's outcome. */
interface Session {
  readonly name: string;
  readonly room: string;
  readonly since?: string;
  readonly client?: string;
  readonly identity: Identity | undefined;
  /**
   * The token did not pass (4001, with the verifier's reason), or does not
   * grant the connect room (4003): the socket is closed as soon as it opens,
   * since a browser cannot read the status of a refused handshake.
   */
  readonly refusal: { readonly why: 'token'; readonly reason: string } | { readonly why: 'room' } | undefined;
}

interface SocketData extends Session {
  readonly remote: string;
  socket?: ClientSocket;
}

// uWS cuts a frame above maxPayloadLength with a bare 1006 (by design,
// uNetworking/uWebSockets#1321), while PROTOCOL.md promises 1009. So uWS
// gets a hard cap above the protocol's limit, and frames between the two
// reach the connection, which closes them with 1009 itself. The cap bounds
// what one socket may make the server buffer.
const HARD_PAYLOAD_FACTOR = 16;

// A draining node will not take the client back: the hint only spaces out
// its retries, which a load balancer sends to another node meanwhile.
const DRAINING_RETRY_AFTER_SECONDS = 5;

export function publicApp(context: PublicAppContext): TemplatedApp {
  const { limits } = context.config;
  const index = context.files.get('/index.html')!;
  const admission = new ConnectionAdmission(limits);
  const originAllowed = originPolicy(context.config.allowedOrigins);
  return uWS
    .App()
    .ws<SocketData>('/websocket', {
      maxPayloadLength: limits.maxPayloadBytes * HARD_PAYLOAD_FACTOR,
      // The 1013 limit is ours to enforce (ClientSocket.write); uWS's own cap,
      // past which it drops frames silently, sits well above it.
      maxBackpressure: limits.maxBufferedBytes * 2,
      idleTimeout: limits.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      upgrade: (res, req, ctx) => upgrade(context, { admission, originAllowed }, res, req, ctx),
      open(ws) {
        context.stats.open++;
        const data = ws.getUserData();
        const socket = new ClientSocket(ws, data.remote, limits.maxBufferedBytes);
        data.socket = socket;
        if (data.refusal) {
          upgradesRefused.inc({ reason: data.refusal.why });
          log.debug({ remote: data.remote, refused: data.refusal.why, ...(data.refusal.why === 'token' && { reason: data.refusal.reason }) }, `websocket closed at once: ${data.refusal.why}`);
          return data.refusal.why === 'token' ? socket.close('unauthenticated', data.refusal.reason) : socket.close('roomForbidden');
        }
        const { name, room, since, client, identity } = data;
        startChild(context.connectionSup, { socket, name, room, since, client, identity }).catch((error: unknown) => {
          log.error({ err: error, remote: data.remote }, 'could not start a connection process');
          socket.close('internalError');
        });
      },
      message(ws, message, isBinary) {
        const socket = ws.getUserData().socket!;
        if (isBinary) socket.notify({ type: 'binary' });
        else if (message.byteLength > limits.maxPayloadBytes) socket.notify({ type: 'oversized', bytes: message.byteLength });
        else socket.notify({ type: 'frame', text: Buffer.from(message).toString('utf8') });
      },
      close(ws, code) {
        context.stats.open--;
        ws.getUserData().socket?.notify({ type: 'closed', code });
      },
    })
    // uWS hands a request to `upgrade` only when it carries a Sec-WebSocket-Key:
    // one without lands here, and gets the refusal RFC 6455 asks for.
    .get('/websocket', (res, req) =>
      refuseHandshake(context.stats, res, checkUpgradeHeaders(req.getHeader('sec-websocket-version'), req.getHeader('sec-websocket-key')) ?? NOT_AN_UPGRADE),
    )
    .get('/', (res) => respond(res, index))
    .get('/healthz', (res) => respond(res, json('200 OK', { status: 'ok' })))
    .get('/readyz', (res) => respond(res, readiness(context)))
    .get('/*', (res, req) => respond(res, context.files.get(req.getUrl()) ?? text('404 Not Found', 'not found\n')));
}

interface Gates {
  readonly admission: ConnectionAdmission;
  readonly originAllowed: OriginPolicy;
}

/** What the upgrade needs after its callback returned: uWS's `req` is invalid by then. */
interface Request {
  readonly key: string;
  readonly protocols: string;
  readonly extensions: string;
  readonly query: string;
  readonly authorization: string;
  readonly remote: string;
}

/**
 * The refusals of PROTOCOL.md's table, in its order; then, with
 * authentication on, the token is verified before the upgrade, which
 * completes in a later turn (uWS's UpgradeAsync): a client gone meanwhile
 * gets nothing, and one whose node started draining gets the 503 a
 * draining node gives.
 */
function upgrade(context: PublicAppContext, gates: Gates, res: HttpResponse, req: HttpRequest, ctx: us_socket_context_t): void {
  const { config, stats, verifier } = context;
  const request: Request = {
    key: req.getHeader('sec-websocket-key'),
    protocols: req.getHeader('sec-websocket-protocol'),
    extensions: req.getHeader('sec-websocket-extensions'),
    query: req.getQuery() ?? '',
    authorization: req.getHeader('authorization'),
    remote: Buffer.from(res.getRemoteAddressAsText()).toString(),
  };
  const headers = checkUpgradeHeaders(req.getHeader('sec-websocket-version'), request.key);
  if (headers) return refuseHandshake(stats, res, headers);
  const origin = req.getHeader('origin');
  if (!gates.originAllowed(origin === '' ? undefined : origin, req.getHeader('host'))) {
    return refuse(stats, res, 'origin', text('403 Forbidden', 'origin not allowed\n'));
  }
  if (context.readiness.draining) return refuseDraining(stats, res);
  const limited = gates.admission.admit(stats.open + stats.upgrading, performance.now());
  if (limited) return refuse(stats, res, limited.reason, unavailable(limited.reason === 'connect_rate' ? 'too many new connections' : 'node full', limited.retryAfterSeconds));
  const handshake = parseHandshake(request.query, { defaultRoom: config.defaultRoom, authenticated: verifier !== undefined });
  if ('error' in handshake) return refuse(stats, res, 'query', text('400 Bad Request', `${handshake.error}\n`));
  if (verifier === undefined) return accept(stats, res, ctx, request, { ...handshake, identity: undefined, refusal: undefined });
  const offer = offeredToken(request, config.auth.allowQueryToken);
  if ('missing' in offer) return accept(stats, res, ctx, request, { ...handshake, identity: undefined, refusal: { why: 'token', reason: offer.missing } });
  let aborted = false;
  res.onAborted(() => (aborted = true));
  stats.upgrading++;
  void verifier
    .verify(offer.token)
    .catch((error: unknown): Verification => {
      // The verifier answers every bad token with a reason; this is a bug, and must not leave the upgrade hanging.
      log.error({ err: error }, 'token verification failed unexpectedly');
      return { error: 'token could not be verified' };
    })
    .then((verification) => {
      stats.upgrading--;
      if (aborted) return;
      // A later turn than the request's: uWS wants whatever is written then in one cork.
      res.cork(() => {
        if (context.readiness.draining) return refuseDraining(stats, res);
        if ('error' in verification) return accept(stats, res, ctx, request, { ...handshake, identity: undefined, refusal: { why: 'token', reason: verification.error } });
        const { identity } = verification;
        const refusal = grants(identity.rooms, handshake.room) ? undefined : ({ why: 'room' } as const);
        accept(stats, res, ctx, request, { ...handshake, name: identity.name, identity, refusal });
      });
    });
}

function accept(stats: UpgradeStats, res: HttpResponse, ctx: us_socket_context_t, request: Request, session: Session): void {
  stats.accepted++;
  // A literal of one shape for every socket: V8 gives each differently built object a hidden class of its own.
  const { name, room, since, client, identity, refusal } = session;
  const data: SocketData = { name, room, since, client, identity, refusal, remote: request.remote, socket: undefined };
  res.upgrade(data, request.key, selectedProtocol(request.protocols), request.extensions, ctx);
}

const NOT_AN_UPGRADE: UpgradeRefusal = { status: '400 Bad Request', reason: 'expected a websocket upgrade' };

function refuseHandshake(stats: UpgradeStats, res: HttpResponse, refusal: UpgradeRefusal): void {
  const version = refusal.status === '426 Upgrade Required';
  const answer = text(refusal.status, `${refusal.reason}\n`);
  refuse(stats, res, version ? 'version' : 'key', version ? { ...answer, headers: { 'Sec-WebSocket-Version': '13' } } : answer);
}

function refuseDraining(stats: UpgradeStats, res: HttpResponse): void {
  refuse(stats, res, 'draining', unavailable('server shutting down', DRAINING_RETRY_AFTER_SECONDS));
}

function unavailable(reason: string, retryAfterSeconds: number): Answer {
  return { ...text('503 Service Unavailable', `${reason}\n`), headers: { 'Retry-After': String(retryAfterSeconds) } };
}

function refuse(stats: UpgradeStats, res: HttpResponse, reason: RefusalReason, answer: Answer): void {
  stats.refused++;
  upgradesRefused.inc({ reason });
  log.debug({ refused: reason, status: answer.status }, `websocket refused: ${reason}`);
  respond(res, answer);
}

// uWebSockets.js's JavaScript fallback cannot serve websockets at all (it
// implements no `upgrade` handler), so a daemon running on it is never ready.
function readiness({ readiness, nodeId }: PublicAppContext) {
  const facts = { node: nodeId, broker: readiness.broker, draining: readiness.draining, uws: uwsRuntime };
  return readiness.ready && uwsRuntime === 'native'
    ? json('200 OK', { status: 'ready', ...facts })
    : json('503 Service Unavailable', { status: 'unavailable', ...facts });
}
