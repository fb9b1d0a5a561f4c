/**
 * Presence messages as they travel between nodes: JSON, one message per
 * AMQP message. What arrives is checked before the replica sees it: the
 * presence exchange is open to anything that can publish to the broker,
 * and a malformed message must cost one log line, not the presence process.
 */
import type { Entry, PresenceMessage } from './replica';

export function encodePresenceMessage(message: PresenceMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

/** The message, or undefined when `bytes` is not one a warren node sends. */
export function decodePresenceMessage(bytes: Buffer): PresenceMessage | undefined {
  let message: Record<string, unknown>;
  try {
    message = JSON.parse(bytes.toString());
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null || typeof message['node'] !== 'string' || !isCount(message['inc'])) return undefined;
  switch (message['t']) {
    case 'delta':
      return hasEntries(message) ? (message as unknown as PresenceMessage) : undefined;
    case 'snapshot':
      return hasEntries(message) && isCount(message['part']) && Number.isSafeInteger(message['parts']) && message['part'] < (message['parts'] as number)
        ? (message as unknown as PresenceMessage)
        : undefined;
    case 'heartbeat':
      return isCount(message['seq']) ? (message as unknown as PresenceMessage) : undefined;
    case 'sync':
      return typeof message['to'] === 'string' ? (message as unknown as PresenceMessage) : undefined;
    case 'goodbye':
      return message as unknown as PresenceMessage;
    default:
      return undefined;
  }
}

function hasEntries(message: Record<string, unknown>): boolean {
  return isCount(message['seq']) && Array.isArray(message['entries']) && message['entries'].every(isEntry);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isEntry(value: unknown): value is Entry {
  return (
    Array.isArray(value) &&
    value.length === 4 &&
    typeof value[0] === 'string' &&
    typeof value[1] === 'string' &&
    typeof value[2] === 'string' &&
    isCount(value[3])
  );
}
