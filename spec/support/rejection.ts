import { expect } from 'chai';

/** Awaits `promise`, expecting it to reject with a message matching `pattern`; returns the error. */
export async function expectRejection(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.match(pattern);
    return error as Error;
  }
  throw new Error(`expected a rejection matching ${pattern}`);
}
