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
import { parseHandshake } from '../protocol/handshake';
import type { Readiness } from '../readiness';
import { uWS, uwsRuntime } from '../uws';
import type { ConnectionSupRef } from '../../supervisors/connection_sup';
import { type StaticFiles } from './static_files';
import { json, respond, text } from './respond';

export interface PublicAppContext {
  readonly config: Config;
  readonly readiness: Readiness;
  readonly nodeId: string;
  readonly connectionSup: ConnectionSupRef;
  readonly files: StaticFiles;
  readonly stats: { accepted: number; refused: number };
}

interface SocketData {
  readonly name: string;
  readonly room: string;
  readonly since: string | undefined;
  readonly client: string | undefined;
  readonly remote: string;
  socket?: ClientSocket;
}

// uWS cuts a frame above maxPayloadLength with a bare 1006 (by design,
// uNetworking/uWebSockets#1321), while PROTOCOL.md promises 1009. So uWS
// gets a hard cap above the protocol's limit, and frames between the two
// reach the connection, which closes them with 1009 itself. The cap bounds
// what one socket may make the server buffer.
const HARD_PAYLOAD_FACTOR = 16;

export function publicApp(context: PublicAppContext): TemplatedApp {
  const { limits } = context.config;
  const index = context.files.get('/index.html')!;
  return uWS
    .App()
    .ws<SocketData>('/websocket', {
      maxPayloadLength: limits.maxPayloadBytes * HARD_PAYLOAD_FACTOR,
      // The 1013 limit is ours to enforce (ClientSocket.write); uWS's own cap,
      // past which it drops frames silently, sits well above it.
      maxBackpressure: limits.maxBufferedBytes * 2,
      idleTimeout: limits.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      upgrade: (res, req, ctx) => upgrade(context, res, req, ctx),
      open(ws) {
        const data = ws.getUserData();
        const socket = new ClientSocket(ws, data.remote, limits.maxBufferedBytes);
        data.socket = socket;
        startChild(context.connectionSup, { socket, name: data.name, room: data.room, since: data.since, client: data.client }).catch((error: unknown) => {
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
        ws.getUserData().socket?.notify({ type: 'closed', code });
      },
    })
    .get('/', (res) => respond(res, index))
    .get('/healthz', (res) => respond(res, json('200 OK', { status: 'ok' })))
    .get('/readyz', (res) => respond(res, readiness(context)))
    .get('/*', (res, req) => respond(res, context.files.get(req.getUrl()) ?? text('404 Not Found', 'not found\n')));
}

function upgrade(context: PublicAppContext, res: HttpResponse, req: HttpRequest, ctx: us_socket_context_t): void {
  if (context.readiness.draining) {
    context.stats.refused++;
    return respond(res, text('503 Service Unavailable', 'server shutting down\n'));
  }
  const handshake = parseHandshake(req.getQuery() ?? '', { defaultRoom: context.config.defaultRoom });
  if ('error' in handshake) {
    context.stats.refused++;
    return respond(res, text('400 Bad Request', `${handshake.error}\n`));
  }
  context.stats.accepted++;
  const { name, room, since, client } = handshake;
  const data: SocketData = { name, room, since, client, remote: Buffer.from(res.getRemoteAddressAsText()).toString() };
  res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), ctx);
}

// uWebSockets.js's JavaScript fallback cannot serve websockets at all (it
// implements no `upgrade` handler), so a daemon running on it is never ready.
function readiness({ readiness, nodeId }: PublicAppContext) {
  const facts = { node: nodeId, broker: readiness.broker, draining: readiness.draining, uws: uwsRuntime };
  return readiness.ready && uwsRuntime === 'native'
    ? json('200 OK', { status: 'ready', ...facts })
    : json('503 Service Unavailable', { status: 'unavailable', ...facts });
}
