// Hosts on 127.0.0.1 that refuse a RabbitMQ client the ways a real network
// and a real RabbitMQ do, for the adapter's specs: one that never answers,
// one that is stopping, one that can be shut.
import { type ChildProcess, spawn } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';

export interface RefusingHost {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A port whose SYNs go unanswered, like a host that drops packets: a
 * listener that never accepts (its process blocks right after listening),
 * with its accept queue filled. Linux drops SYNs to a full queue, and the
 * client keeps retrying until its own timeout.
 */
export async function silentHost(): Promise<RefusingHost> {
  const script = `
    const server = require('node:net').createServer();
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () =>
      process.stdout.write(server.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the silent host exited (${code})`)));
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString())));
  });
  // Backlog 1 queues two at most; the rest of these wait for an answer, as
  // any later connection will.
  const fillers = Array.from({ length: 6 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
  await new Promise((resolve) => fillers[0]!.once('connect', resolve));
  return {
    port,
    async close() {
      for (const filler of fillers) filler.destroy();
      await stopChild(child);
    },
  };
}

/**
 * A RabbitMQ that is stopping, then back: the first `refusals` AMQP
 * connections complete the handshake and are closed at once with 320
 * CONNECTION_FORCED, as RabbitMQ closes its connections when it shuts down;
 * later ones are forwarded to the real node on `upstreamPort`. A connection
 * that sends nothing (a TCP probe) is left alone. `forced` counts the
 * refusals made.
 */
export async function stoppingRabbit(upstreamPort: number, refusals: number): Promise<RefusingHost & { readonly forced: number }> {
  let forced = 0;
  const host = await trackingServer((socket, track) => {
    socket.once('data', (header: Buffer) => {
      if (forced < refusals) {
        forced++;
        forceClose(socket, header);
      } else {
        const upstream = track(net.connect(upstreamPort, '127.0.0.1'));
        upstream.write(header);
        socket.pipe(upstream).pipe(socket);
      }
    });
  });
  return {
    ...host,
    get forced() {
      return forced;
    },
  };
}

/**
 * A forwarder to the node on `upstreamPort` that can be shut: while shut it
 * drops every new connection at once, so a client behind it stays away
 * (reconnecting) for as long as a spec needs while others reach the node
 * directly. Connections already made are left alone.
 */
export async function gatedRabbit(
  upstreamPort: number,
): Promise<RefusingHost & { urlOf(nodeUrl: string): string; shut(): void; open(): void; sever(): void }> {
  let shut = false;
  const host = await trackingServer((socket, track) => {
    if (shut) return void socket.destroy();
    const upstream = track(net.connect(upstreamPort, '127.0.0.1'));
    socket.pipe(upstream).pipe(socket);
    socket.once('close', () => upstream.destroy());
    upstream.once('close', () => socket.destroy());
  });
  return {
    ...host,
    /** The node's URL with the gate's port instead. */
    urlOf: (nodeUrl) => nodeUrl.replace(`:${upstreamPort}`, `:${host.port}`),
    shut: () => void (shut = true),
    open: () => void (shut = false),
    /** Shuts the gate and ends the connections through it on both sides: the client is cut off until `open()`. */
    sever: () => {
      shut = true;
      host.dropAll();
    },
  };
}

/**
 * A forwarder to the node on `upstreamPort` whose `cut()` drops the
 * connections made so far on the client's side only, as a NAT or a proxy
 * that lost them does: the client sees its socket close, while RabbitMQ's
 * end stays open and silent, so it holds the connection until its
 * heartbeat timeout. `upstreamPorts`: the local ports of the connections
 * to RabbitMQ still open (RabbitMQ's peer_port for them).
 */
export async function cuttableRabbit(upstreamPort: number): Promise<RefusingHost & { urlOf(nodeUrl: string): string; cut(): void; upstreamPorts(): number[] }> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const host = await trackingServer((client, track) => {
    const upstream = track(net.connect(upstreamPort, '127.0.0.1'));
    client.pipe(upstream).pipe(client);
    const pair = { client, upstream };
    pairs.add(pair);
    upstream.once('close', () => pairs.delete(pair));
  });
  return {
    ...host,
    urlOf: (nodeUrl) => nodeUrl.replace(`:${upstreamPort}`, `:${host.port}`),
    cut() {
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.destroy();
      }
    },
    upstreamPorts: () => [...pairs].filter(({ upstream }) => !upstream.destroyed).map(({ upstream }) => upstream.localPort!),
  };
}

/** A server on 127.0.0.1 whose `close()` also destroys every socket it accepted or `track` was given. */
async function trackingServer(onConnection: (socket: net.Socket, track: (socket: net.Socket) => net.Socket) => void): Promise<RefusingHost & { dropAll(): void }> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => {}).once('close', () => sockets.delete(socket));
    return socket;
  };
  const server = net.createServer((socket) => onConnection(track(socket), track));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port: (server.address() as AddressInfo).port,
    dropAll,
    async close() {
      dropAll();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The server side of an AMQP 0-9-1 handshake, then connection.close 320. */
function forceClose(socket: net.Socket, received: Buffer): void {
  socket.write(method(10, 10, Buffer.from([0, 9]), u32(0), longString('PLAIN'), longString('en_US'))); // connection.start
  let buffer = received.subarray(8); // past the protocol header
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (let size; buffer.length >= 7 && buffer.length >= (size = buffer.readUInt32BE(3)) + 8; buffer = buffer.subarray(size + 8)) {
      if (buffer[0] !== 1) continue; // not a method frame
      const id = `${buffer.readUInt16BE(7)}.${buffer.readUInt16BE(9)}`;
      if (id === '10.11') socket.write(method(10, 30, u16(0), u32(131_072), u16(0))); // start-ok: tune
      else if (id === '10.40') {
        socket.write(method(10, 41, shortString(''))); // open: open-ok, and at once
        const reason = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'";
        socket.write(method(10, 50, u16(320), shortString(reason), u16(0), u16(0)));
      } else if (id === '10.51') socket.end(); // close-ok
    }
  });
  socket.on('end', () => socket.end());
}

function method(classId: number, methodId: number, ...args: Buffer[]): Buffer {
  const payload = Buffer.concat([u16(classId), u16(methodId), ...args]);
  return Buffer.concat([Buffer.from([1]), u16(0), u32(payload.length), payload, Buffer.from([0xce])]);
}

function u16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

const longString = (text: string) => Buffer.concat([u32(Buffer.byteLength(text)), Buffer.from(text)]);
const shortString = (text: string) => Buffer.concat([Buffer.from([Buffer.byteLength(text)]), Buffer.from(text)]);

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL'); // blocked in Atomics.wait: only a signal ends it
  return exited;
}
