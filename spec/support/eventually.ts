/** Polls `check` until it stops throwing (or returns a value), for at most `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 3_000, everyMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}

/** Polls `probe` until `ok` holds for its value, and returns that value. */
export function until<T>(what: string, probe: () => Promise<T> | T, ok: (value: T) => boolean, timeoutMs = 8_000): Promise<T> {
  return eventually(
    async () => {
      const value = await probe();
      if (!ok(value)) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
      return value;
    },
    timeoutMs,
    50,
  );
}
