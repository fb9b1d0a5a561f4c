/**
 * The client library (client/warren.mjs) in Node as an application uses
 * it, for specs against real daemons: on `ws` sockets the spec can reach
 * (to lose a frame, stop reading, send what the library never would) and
 * cut off from the daemons (a network that is down), with everything it
 * tells recorded in order, and closed when the run ends.
 */
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import { type ClientOptions, type ConnectionState, type Message, type StateChange, WarrenClient, type WarrenError, type Welcome } from 'warren/client';
import { eventually } from './eventually';
import type { ChatClient, Frame } from './client';
import { atExit } from './hooks';

/** Short enough for specs: a dropped client is back within half a second. */
export const BACKOFF = { baseMs: 50, maxMs: 500 } as const;

/** Where a socket goes while its network is down: nothing listens on port 1, so the connect is refused. */
const UNREACHABLE = 'ws://127.0.0.1:1/websocket';

/** A `ws` socket the spec can tamper with (`pause()` is ws's own: it stops reading). */
export class SpecSocket extends WebSocket {
  /** The URL the library asked for (`url` is where the socket really went). */
  asked = '';
  /** Every text frame from the server, lost or not. */
  readonly heard: Frame[] = [];
  /** Frames from the server this matches never reach the library, as if lost with their connection. */
  lose: (frame: Frame) => boolean = () => false;

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'message' && args[1] === false) {
      const frame = JSON.parse(String(args[0])) as Frame;
      this.heard.push(frame);
      if (this.lose(frame)) return false;
    }
    return super.emit(event, ...args);
  }
}

/** What the client told, in the order it told it. */
export type Told =
  | { readonly event: 'state'; readonly change: StateChange }
  | { readonly event: 'welcome'; readonly welcome: Welcome }
  | { readonly event: 'message'; readonly message: Message }
  | { readonly event: 'gap'; readonly room: string }
  | { readonly event: 'error'; readonly error: WarrenError };

export class RecordedClient {
  readonly told: Told[] = [];
  /** Every socket the client opened, the current one last. */
  readonly sockets: SpecSocket[] = [];
  /** Tokens handed to the client, each time it asked. */
  readonly tokensGiven: string[] = [];
  readonly client: WarrenClient;
  /**
   * Where the client's sockets really go for the URL it asks for: that URL,
   * unless the spec reroutes it, as a network that is down or a load
   * balancer in front of a daemon restarted elsewhere would.
   */
  route: (url: string) => string = (url) => url;

  /**
   * `getToken`, when given, is asked the n-th time for `tokens(n)` (from 0).
   * The rest of the options are the library's, with a backoff short enough
   * for specs unless given.
   */
  constructor(options: Omit<ClientOptions, 'WebSocket' | 'getToken'> & { readonly tokens?: (n: number) => string | Promise<string> }) {
    const { tokens, ...rest } = options;
    const recorded = this;
    this.client = new WarrenClient({
      backoff: BACKOFF,
      ...rest,
      ...(tokens && {
        getToken: async () => {
          const token = await tokens(this.tokensGiven.length);
          this.tokensGiven.push(token);
          return token;
        },
      }),
      WebSocket: class extends SpecSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(recorded.route(url), protocols);
          this.asked = url;
          recorded.sockets.push(this);
        }
      },
    });
    this.client.on('state', (change) => this.told.push({ event: 'state', change }));
    this.client.on('welcome', (welcome) => this.told.push({ event: 'welcome', welcome }));
    this.client.on('message', (message) => this.told.push({ event: 'message', message }));
    this.client.on('gap', ({ room }) => this.told.push({ event: 'gap', room }));
    this.client.on('error', (error) => this.told.push({ event: 'error', error }));
    atExit(async () => this.client.close());
  }

  /** A new client, connected and welcomed. */
  static async open(options: ConstructorParameters<typeof RecordedClient>[0]): Promise<RecordedClient> {
    const recorded = new RecordedClient(options);
    recorded.client.connect();
    await recorded.reached('open');
    return recorded;
  }

  get socket(): SpecSocket {
    return this.sockets.at(-1)!;
  }

  get states(): StateChange[] {
    return this.told.flatMap((told) => (told.event === 'state' ? [told.change] : []));
  }

  get welcomes(): Welcome[] {
    return this.told.flatMap((told) => (told.event === 'welcome' ? [told.welcome] : []));
  }

  /** The messages of `room`, as told. */
  messages(room: string): Message[] {
    return this.told.flatMap((told) => (told.event === 'message' && told.message.room === room ? [told.message] : []));
  }

  /** Texts of `room`'s messages, `(replay)` after a replayed one. */
  texts(room: string): string[] {
    return this.messages(room).map((message) => `${message.text}${message.replay ? ' (replay)' : ''}`);
  }

  /** Until `count` state changes to `state` have been told (the first by default); resolves with the last of them. */
  async reached(state: ConnectionState, count = 1, timeoutMs = 10_000): Promise<StateChange> {
    return eventually(() => {
      const changes = this.states.filter((change) => change.state === state);
      if (changes.length < count) throw new Error(`${count} × ${state} expected, told last: ${JSON.stringify(this.states.slice(-8))}`);
      return changes[count - 1]!;
    }, timeoutMs);
  }

  /** Until a message with this text has been told in `room`. */
  async received(room: string, text: string, timeoutMs = 10_000): Promise<Message> {
    return eventually(() => {
      const message = this.messages(room).find((m) => m.text === text);
      if (message === undefined) throw new Error(`no message ${JSON.stringify(text)} in ${room}; told: ${JSON.stringify(this.texts(room))}`);
      return message;
    }, timeoutMs);
  }

  /**
   * The sockets opened, counted once the longest backoff has passed: a
   * client that stopped opens no more, and nothing positive can be awaited
   * to show that.
   */
  async socketsAfterBackoff(): Promise<number> {
    await delay(2 * BACKOFF.maxMs);
    return this.sockets.length;
  }

  /**
   * Cuts the client off from every daemon: every socket it opens from now
   * on is refused, until `networkUp`; unless `keepOpen`, the open one drops
   * too (1006, as a broken network does).
   */
  networkDown({ keepOpen = false } = {}): void {
    this.route = () => UNREACHABLE;
    if (!keepOpen) this.socket.terminate();
  }

  networkUp(): void {
    this.route = (url) => url;
  }
}

let markers = 0;

/**
 * How many times `observer` (a raw client in `room`) got a message with
 * `text`, counted once a message it said itself came back: it was logged
 * after every message acked before, so those have all arrived by then.
 */
export async function timesDelivered(observer: ChatClient, room: string, text: string): Promise<number> {
  const marker = `marker-${markers++}`;
  observer.send({ type: 'say', room, text: marker, id: marker });
  await observer.next('message', { room, text: marker }, 10_000);
  return observer.frames.filter((frame) => frame.type === 'message' && frame['room'] === room && frame['text'] === text).length;
}
