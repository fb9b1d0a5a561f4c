/**
 * A websocket client written by hand over TCP, for what `ws` will not do:
 * send frames the moment the spec says, without waiting for the server's
 * 101 (uWS ignores bytes that come in the same read as the upgrade request,
 * so they must come in a write of their own).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { atExit } from './hooks';

const TEXT = 0x1;
const CLOSE = 0x8;

export interface ServerFrame {
  readonly opcode: number;
  readonly payload: Buffer;
}

export class RawWebSocket {
  readonly frames: ServerFrame[] = [];
  /** Resolves when the server closes the TCP connection. */
  readonly ended: Promise<void>;
  /** Resolves when the server's 101 has come, in the turn that reads it. */
  readonly opened: Promise<void>;
  private open!: () => void;
  private buffer = Buffer.alloc(0);
  private upgraded = false;

  private constructor(
    private readonly socket: net.Socket,
    private readonly port: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    this.opened = new Promise((resolve) => (this.open = resolve));
    socket.on('error', () => undefined); // a reset ends it like a close
  }

  /** Connects and writes the upgrade request for `path`. */
  static async open(port: number, path: string): Promise<RawWebSocket> {
    const client = await RawWebSocket.connect(port);
    client.upgrade(path);
    return client;
  }

  /** A TCP connection that has not asked for anything yet. */
  static async connect(port: number): Promise<RawWebSocket> {
    const socket = net.connect(port, '127.0.0.1');
    atExit(async () => void socket.destroy());
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawWebSocket(socket, port);
  }

  upgrade(path: string): void {
    const request = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${this.port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n');
    this.socket.write(request);
  }

  /** Writes `frames` at once, in one write. */
  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** The code of the server's close frame, once it came. */
  get closeCode(): number | undefined {
    const close = this.frames.find((frame) => frame.opcode === CLOSE);
    return close && close.payload.readUInt16BE(0);
  }

  /** The text frames received so far, parsed as JSON. */
  get messages(): Array<Record<string, unknown>> {
    return this.frames.filter((frame) => frame.opcode === TEXT).map((frame) => JSON.parse(frame.payload.toString()) as Record<string, unknown>);
  }

  private read(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (!this.upgraded) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = this.buffer.subarray(0, this.buffer.indexOf('\r\n')).toString();
      if (!status.includes(' 101 ')) throw new Error(`the upgrade was refused: ${status}`);
      this.upgraded = true;
      this.open();
      this.buffer = this.buffer.subarray(end + 4);
    }
    for (let frame = nextFrame(this.buffer); frame; frame = nextFrame(this.buffer)) {
      this.frames.push(frame.frame);
      this.buffer = this.buffer.subarray(frame.size);
    }
  }
}

/** A masked text frame, as a client must send it. */
export function textFrame(text: string): Buffer {
  return clientFrame(TEXT, Buffer.from(text));
}

/** A masked close frame with `code`. */
export function closeFrame(code: number): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return clientFrame(CLOSE, payload);
}

/** How a frame of clientFrame may break RFC 6455's rules for a client's frames. */
export interface FrameBits {
  /** FIN: false starts or continues a fragmented message. Default true. */
  readonly fin?: boolean;
  /** RSV1..3 as the three bits 0b100..0b001. Default 0. */
  readonly rsv?: number;
  /** Default true, as a client must (RFC 6455 §5.1). */
  readonly masked?: boolean;
}

/** A client frame of any opcode and payload, with the bits of `bits`. */
export function clientFrame(opcode: number, payload: Buffer, { fin = true, rsv = 0, masked = true }: FrameBits = {}): Buffer {
  const length = lengthBytes(payload.length);
  if (masked) length[0]! |= 0x80;
  const mask = masked ? randomBytes(4) : Buffer.alloc(0);
  const body = masked ? Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!)) : payload;
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | (rsv << 4) | opcode]), length, mask, body]);
}

function lengthBytes(length: number): Buffer {
  if (length < 126) return Buffer.from([length]);
  if (length < 0x10000) return Buffer.from([126, length >> 8, length & 0xff]);
  const long = Buffer.alloc(9);
  long[0] = 127;
  long.writeBigUInt64BE(BigInt(length), 1);
  return long;
}

/** The first whole (unmasked, unfragmented) server frame in `buffer`, and its size. */
function nextFrame(buffer: Buffer): { frame: ServerFrame; size: number } | undefined {
  if (buffer.length < 2) return undefined;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  if (buffer.length < offset + length) return undefined;
  return { frame: { opcode: buffer[0]! & 0x0f, payload: buffer.subarray(offset, offset + length) }, size: offset + length };
}
