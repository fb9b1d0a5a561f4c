/**
 * What uWebSockets.js, as the daemon runs it (lib/http/public_app.ts), does
 * with frames RFC 6455 forbids or constrains: measured with raw frames over
 * TCP against a daemon process. docs/protocol.md "Where uWebSockets.js
 * departs from RFC 6455" states these results; a uWS upgrade that changes
 * one fails its spec here.
 *
 * Each exchange sends the frames under test, then a `leave` of the chat
 * protocol in the same write, and waits until the socket closes or that
 * `leave` is answered: frames are handled in order, so whatever the daemon
 * did with the frames under test is done by then.
 */
import { expect } from 'chai';
import { connectionOf, fetchTree } from '../support/admin';
import { until } from '../support/eventually';
import { testConfig } from '../support/in_process';
import { useDaemon } from '../support/lifecycle';
import { scrapeMetrics } from '../support/metrics';
import { RawWebSocket, type ServerFrame, clientFrame, closeFrame, textFrame } from '../support/raw_websocket';

const CONTINUATION = 0x0;
const TEXT = 0x1;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

/** limits.maxPayloadBytes of the daemon's config: uWS's own cap is 16 times that. */
const MAX_PAYLOAD = testConfig().limits.maxPayloadBytes;
const UWS_CAP = 16 * MAX_PAYLOAD;

/** Sent after the frames under test; no frame under test is a `leave`, so the frames_in metric tells them apart. */
const AFTER = JSON.stringify({ type: 'leave', room: 'after', id: 'after' });
const ANSWER_TO_AFTER = JSON.stringify({ type: 'left', room: 'after', id: 'after' });

interface Outcome {
  /** Whether the TCP connection was closed. */
  readonly closed: boolean;
  /** The frames received before the answer to the `leave` that follows the frames under test, described. */
  readonly answers: readonly string[];
  /** How many of the frames under test the daemon decoded as chat frames. */
  readonly seen: number;
}

describe('uWebSockets.js against RFC 6455, with raw frames', function () {
  this.timeout(30_000);
  const daemon = useDaemon();
  let clients = 0;

  /** Text frames the daemon's connections decoded, but for the `leave`s after them (the frames_in metric). */
  async function framesSeen(): Promise<number> {
    const samples = [...(await scrapeMetrics(daemon())).entries()];
    const counted = samples.filter(([name]) => name.startsWith('warren_frames_in_total') && name !== 'warren_frames_in_total{type="leave"}');
    return counted.reduce((sum, [, value]) => sum + value, 0);
  }

  async function exchange(...frames: Buffer[]): Promise<Outcome> {
    const name = `raw${++clients}`;
    const before = await framesSeen();
    const client = await RawWebSocket.open(daemon().port, `/websocket?name=${name}&room=${name}`);
    await client.opened;
    await until('the welcome', () => client.messages.length, (count) => count > 0);
    const welcomed = client.frames.length;
    let closed = false;
    void client.ended.then(() => (closed = true));
    client.send(...frames, textFrame(AFTER));
    const answered = () => client.frames.findIndex((frame, i) => i >= welcomed && frame.opcode === TEXT && frame.payload.toString() === ANSWER_TO_AFTER);
    await until('a close or the answer to the leave after', () => closed || answered() >= 0, Boolean);
    const cut = closed;
    if (cut) {
      // Its mailbox is handled in order: once it has stopped, it has decoded whatever came before the close.
      await until('its connection to stop', async () => connectionOf((await fetchTree(daemon())).tree, name), (found) => found === undefined);
    } else {
      client.send(closeFrame(1000));
      await client.ended;
    }
    const answers = client.frames.slice(welcomed, cut ? client.frames.length : answered()).map(describeFrame);
    return { closed: cut, answers, seen: (await framesSeen()) - before };
  }

  const ping = (id: string) => Buffer.from(JSON.stringify({ type: 'ping', id }));
  const pongTo = (id: string) => `text ${JSON.stringify({ type: 'pong', id })}`;
  const closePayload = (code: number, reason: Buffer | string = '') => Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);
  /** uWS fails the connection by closing TCP without a close frame (the client sees 1006), and the daemon saw nothing. */
  const CUT = { closed: true, answers: [], seen: 0 };

  describe('frame syntax (RFC 6455 §5): a failed connection is cut, without the close frame §7.1.7 asks for', () => {
    it('an unmasked client frame is not refused: uWS reads its first 4 payload bytes as the masking key and delivers the rest (§5.1 would close)', async () => {
      // Its payload starts with 4 zero bytes, a key that unmasks nothing. Taken as a key, they are not
      // payload, so uWS reads 4 bytes past the frame's end: 4 spaces, which JSON allows after the object.
      const unmasked = clientFrame(TEXT, Buffer.concat([Buffer.alloc(4), ping('unmasked')]), { masked: false });
      expect(await exchange(unmasked, Buffer.from('    '))).to.deep.equal({ closed: false, answers: [pongTo('unmasked')], seen: 1 });
    });

    it('the MASK bit is never read: a masked frame with the bit clear is delivered (§5.1 would close)', async () => {
      const frame = clientFrame(TEXT, ping('mask bit'));
      frame[1]! &= 0x7f;
      expect(await exchange(frame)).to.deep.equal({ closed: false, answers: [pongTo('mask bit')], seen: 1 });
    });

    for (const [bit, rsv] of [['RSV1', 0b100], ['RSV2', 0b010], ['RSV3', 0b001]] as const) {
      it(`a frame with ${bit} set and no extension is cut without a close frame (§5.2: fail, 1002)`, async () => {
        expect(await exchange(clientFrame(TEXT, ping(bit), { rsv }))).to.deep.equal(CUT);
      });
    }

    for (const opcode of [0x3, 0xb]) {
      it(`an unknown opcode (0x${opcode.toString(16)}) is cut without a close frame (§5.2: fail, 1002)`, async () => {
        expect(await exchange(clientFrame(opcode, ping('unknown')))).to.deep.equal(CUT);
      });
    }

    it('a fragmented ping is cut without a close frame (§5.5: fail, 1002)', async () => {
      expect(await exchange(clientFrame(PING, Buffer.from('frag'), { fin: false }), clientFrame(CONTINUATION, Buffer.from('ment')))).to.deep.equal(CUT);
    });

    it('a ping of 126 bytes is cut without a close frame (§5.5: at most 125; fail, 1002)', async () => {
      expect(await exchange(clientFrame(PING, Buffer.alloc(126, 'p')))).to.deep.equal(CUT);
    });

    it('a close frame of 126 bytes is cut without a close frame in answer (§5.5: at most 125)', async () => {
      expect(await exchange(clientFrame(CLOSE, closePayload(1000, 'r'.repeat(124))))).to.deep.equal(CUT);
    });

    it('a continuation frame without a start is cut without a close frame (§5.4: fail, 1002)', async () => {
      expect(await exchange(clientFrame(CONTINUATION, ping('continuation')))).to.deep.equal(CUT);
    });

    it('a new text frame inside a fragmented message is cut without a close frame (§5.4: fail, 1002)', async () => {
      expect(await exchange(clientFrame(TEXT, Buffer.from('{"type"'), { fin: false }), clientFrame(TEXT, ping('interleaved')))).to.deep.equal(CUT);
    });

    it('a fragmented text with a ping between its fragments is delivered whole, the ping answered first, as §5.4 allows', async () => {
      const text = ping('fragmented');
      const frames = [clientFrame(TEXT, text.subarray(0, 7), { fin: false }), clientFrame(PING, Buffer.from('between')), clientFrame(CONTINUATION, text.subarray(7))];
      expect(await exchange(...frames)).to.deep.equal({ closed: false, answers: ['pong between', pongTo('fragmented')], seen: 1 });
    });
  });

  describe('payloads', () => {
    it('a text frame of invalid UTF-8 is cut without a close frame (§8.1: fail, 1007)', async () => {
      expect(await exchange(clientFrame(TEXT, Buffer.concat([Buffer.from('{"type":"ping","id":"'), Buffer.from([0xff]), Buffer.from('"}')])))).to.deep.equal(CUT);
    });

    it('UTF-8 is checked on the whole message: a code point split between two fragments is delivered', async () => {
      const euro = Buffer.from(JSON.stringify({ type: 'ping', id: '€' }));
      const split = euro.indexOf(0xe2) + 1;
      const frames = [clientFrame(TEXT, euro.subarray(0, split), { fin: false }), clientFrame(CONTINUATION, euro.subarray(split))];
      expect(await exchange(...frames)).to.deep.equal({ closed: false, answers: [pongTo('€')], seen: 1 });
    });

    it(`a frame announcing more than 16 × limits.maxPayloadBytes is cut at its header, without a close frame (§7.4.1 would say 1009)`, async () => {
      const header = clientFrame(TEXT, Buffer.alloc(UWS_CAP + 1, 'a')).subarray(0, 14);
      expect(await exchange(header)).to.deep.equal(CUT);
    });

    it('fragments adding up to more than 16 × limits.maxPayloadBytes are cut without a close frame (§7.4.1 would say 1009)', async () => {
      const half = Buffer.alloc(UWS_CAP / 2 + 1, 'a');
      expect(await exchange(clientFrame(TEXT, half, { fin: false }), clientFrame(CONTINUATION, half))).to.deep.equal(CUT);
    });

    it('a frame of exactly 16 × limits.maxPayloadBytes reaches the daemon, which closes with 1009 as the RFC says', async () => {
      expect(await exchange(clientFrame(TEXT, Buffer.alloc(UWS_CAP, 'a')))).to.deep.equal({ closed: true, answers: ['close 1009 frame too large'], seen: 0 });
    });
  });

  describe('control frames', () => {
    it('a ping with a payload of 125 bytes is answered by uWS with a pong that echoes it (§5.5.2, §5.5.3); the daemon does not see it', async () => {
      const payload = 'p'.repeat(125);
      expect(await exchange(clientFrame(PING, Buffer.from(payload)))).to.deep.equal({ closed: false, answers: [`pong ${payload}`], seen: 0 });
    });

    it('an unsolicited pong is ignored, as §5.5.3 allows', async () => {
      expect(await exchange(clientFrame(PONG, Buffer.from('beat')))).to.deep.equal({ closed: false, answers: [], seen: 0 });
    });

    it('a close with a valid code is echoed with its code and reason, and nothing after it is read (§5.5.1, §1.4)', async () => {
      expect(await exchange(clientFrame(CLOSE, closePayload(4000, 'done')), textFrame('late'))).to.deep.equal({ closed: true, answers: ['close 4000 done'], seen: 0 });
    });

    for (const code of [999, 1005, 1006, 5000]) {
      it(`a close with the invalid code ${code} is answered by a close frame without a code (§7.4: fail, 1002)`, async () => {
        expect(await exchange(clientFrame(CLOSE, closePayload(code)))).to.deep.equal({ closed: true, answers: ['close'], seen: 0 });
      });
    }

    it('a close with the registered code 3000 is answered without its code, as though it were invalid (§7.4.2: 3000-3999 are valid)', async () => {
      expect(await exchange(clientFrame(CLOSE, closePayload(3000)))).to.deep.equal({ closed: true, answers: ['close'], seen: 0 });
    });

    it('a close with a 1-byte payload is answered by a close frame without a code (§5.5.1: fail, 1002)', async () => {
      expect(await exchange(clientFrame(CLOSE, Buffer.from([0x03])))).to.deep.equal({ closed: true, answers: ['close'], seen: 0 });
    });

    it('a close whose reason is invalid UTF-8 is answered by a close frame without a code (§8.1: fail, 1007)', async () => {
      expect(await exchange(clientFrame(CLOSE, closePayload(1000, Buffer.from([0xff, 0xfe]))))).to.deep.equal({ closed: true, answers: ['close'], seen: 0 });
    });
  });
});

function describeFrame({ opcode, payload }: ServerFrame): string {
  switch (opcode) {
    case CLOSE:
      return payload.length < 2 ? 'close' : `close ${payload.readUInt16BE(0)} ${payload.subarray(2).toString()}`.trimEnd();
    case TEXT:
      return `text ${payload.toString()}`;
    case PING:
      return `ping ${payload.toString()}`;
    case PONG:
      return `pong ${payload.toString()}`;
    default:
      return `opcode ${opcode}`;
  }
}
