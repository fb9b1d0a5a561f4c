import { expect } from 'chai';
import type { Frame } from './client';

/**
 * Each sender's messages (text `sender:n`) arrive with n ascending: one by
 * one, or, with `gaps`, skipping the says that were never delivered.
 */
export function expectPerSenderOrder(messages: readonly Frame[], { gaps = false } = {}): void {
  const last = new Map<string, number>();
  for (const message of messages) {
    const [sender, n] = String(message['text']).split(':');
    const previous = last.get(sender!) ?? -1;
    if (gaps) expect(Number(n), `${sender}'s messages out of order`).to.be.above(previous);
    else expect(Number(n), `${sender}'s messages out of order`).to.equal(previous + 1);
    last.set(sender!, Number(n));
  }
}
