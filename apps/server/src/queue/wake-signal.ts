/**
 * The sleep of a polling loop that `wake()` cuts short. A wake that arrives while the loop is busy is remembered,
 * so the next sleep returns at once and work enqueued in between is never left waiting for a full poll interval.
 */
export class WakeSignal {
  #pending = false;
  #waiter: (() => void) | undefined;

  wake(): void {
    this.#pending = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  /** Resolves true when woken (now or by a wake that arrived while busy), false when `ms` ran out. */
  sleep(ms: number): Promise<boolean> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        resolve(false);
      }, ms);
      this.#waiter = () => {
        clearTimeout(timer);
        this.#pending = false;
        resolve(true);
      };
    });
  }
}
