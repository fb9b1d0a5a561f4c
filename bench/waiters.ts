/**
 * Conditions waited for on the main thread of a load generator, checked
 * again whenever something changes (a message from a worker, a timer).
 */
export class Waiters {
  private waiting: Array<() => void> = [];

  /** Resolves once `condition` holds, checked now and at every `wake`. */
  until(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (condition() ? resolve() : this.waiting.push(check));
      check();
    });
  }

  wake(): void {
    for (const check of this.waiting.splice(0)) check();
  }
}
