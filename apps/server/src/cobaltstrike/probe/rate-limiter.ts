/**
 * Spaces out requests: at most one request per `globalIntervalMs` overall and one per `perHostIntervalMs` to
 * any one host. Scanning a team server hard gets the scanner blocked or noticed (JPCERT moves region when
 * blocked), so probes are deliberately slow. One instance is shared by every probe of a process.
 */
export interface RateLimiterOptions {
  readonly globalIntervalMs: number;
  readonly perHostIntervalMs: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const MAX_TRACKED_HOSTS = 10_000;

export class RateLimiter {
  readonly #options: RateLimiterOptions;
  #globalNext = 0;
  readonly #hostNext = new Map<string, number>();

  constructor(options: RateLimiterOptions) {
    this.#options = Object.freeze({ ...options });
  }

  /** Waits for this request's slot; slots are reserved synchronously, so concurrent callers queue fairly. */
  async acquire(host: string): Promise<void> {
    const now = this.#options.now?.() ?? Date.now();
    const slot = Math.max(now, this.#globalNext, this.#hostNext.get(host) ?? 0);
    this.#globalNext = slot + this.#options.globalIntervalMs;
    if (this.#hostNext.size >= MAX_TRACKED_HOSTS) this.#forgetPast(now);
    this.#hostNext.set(host, slot + this.#options.perHostIntervalMs);
    const wait = slot - now;
    if (wait > 0) await (this.#options.sleep ?? delay)(wait);
  }

  #forgetPast(now: number): void {
    for (const [host, next] of this.#hostNext) if (next <= now) this.#hostNext.delete(host);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
