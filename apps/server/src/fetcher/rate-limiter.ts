import { createHash } from 'node:crypto';
import type { RateLimit } from '../config.js';
import type { Database } from '../database/database.js';
import { quotaExceeded, type RequestBudget } from '../sources/upstream-http.js';

export type Acquired = { readonly ok: true } | { readonly ok: false; readonly retryAt: number };

export interface RateLimiterOptions {
  readonly now?: () => number;
  /**
   * Added to every window: requests leave a moment after the slot is taken and clocks differ, so a slot is
   * reused only `marginMs` after the upstream's window has surely passed. Default 1 s.
   */
  readonly marginMs?: number;
}

/**
 * A rate limiter shared by every process using the same database (SQLite file or PostgreSQL): per key and
 * window there are `limit` slot rows; taking a request means moving the least recently used slot's `used_at`
 * to now, if that slot is older than the window, with a compare-and-set UPDATE. Any window of `windowMs`
 * therefore holds at most `limit` requests (a sliding window, stricter than a fixed one), whatever the number
 * of workers. Losing a compare-and-set race simply tries the next slot.
 */
export class DatabaseRateLimiter {
  readonly #db: Database;
  readonly #now: () => number;
  readonly #marginMs: number;
  readonly #prepared = new Set<string>();

  constructor(db: Database, options: RateLimiterOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#marginMs = options.marginMs ?? 1_000;
  }

  /** Takes one request from every limit of `key`, or says when to try again. */
  async tryAcquire(key: string, limits: readonly RateLimit[]): Promise<Acquired> {
    for (const limit of limits) {
      const taken = await this.#take(`${key}:${limit.windowMs}`, limit);
      if (!taken.ok) return taken;
    }
    return { ok: true };
  }

  /** Spends every slot of `key` until `untilMs` (the upstream said its quota is exhausted). */
  async block(key: string, limits: readonly RateLimit[], untilMs: number): Promise<void> {
    for (const limit of limits) {
      const windowKey = `${key}:${limit.windowMs}`;
      await this.#prepare(windowKey, limit.limit);
      const usedAt = untilMs - limit.windowMs - this.#marginMs;
      await this.#db.updateTable('rate_limit_slots').set({ used_at: usedAt }).where('key', '=', windowKey).where('used_at', '<', usedAt).execute();
    }
  }

  /** A RequestBudget for one source and API key (the key itself is never stored, only a digest). */
  budget(source: string, apiKey: string, limits: readonly RateLimit[]): RequestBudget {
    const key = `${source}:${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}`;
    return {
      acquire: async () => {
        const acquired = await this.tryAcquire(key, limits);
        if (!acquired.ok) throw quotaExceeded(source, acquired.retryAt, `request budget for this API key spent until ${new Date(acquired.retryAt).toISOString()}`);
      },
      exhausted: (untilMs) => this.block(key, limits, untilMs),
    };
  }

  async #take(windowKey: string, { limit, windowMs }: RateLimit): Promise<Acquired> {
    await this.#prepare(windowKey, limit);
    for (let attempt = 0; attempt < 2 * limit + 4; attempt++) {
      const now = this.#now();
      const oldest = await this.#db
        .selectFrom('rate_limit_slots')
        .select(['slot', 'used_at'])
        .where('key', '=', windowKey)
        .where('slot', '<', limit)
        .orderBy('used_at')
        .orderBy('slot')
        .limit(1)
        .executeTakeFirst();
      if (oldest === undefined) return { ok: false, retryAt: now + windowMs };
      const freeAt = Number(oldest.used_at) + windowMs + this.#marginMs;
      if (freeAt > now) return { ok: false, retryAt: freeAt };
      const result = await this.#db
        .updateTable('rate_limit_slots')
        .set({ used_at: now })
        .where('key', '=', windowKey)
        .where('slot', '=', oldest.slot)
        .where('used_at', '=', oldest.used_at)
        .executeTakeFirst();
      if (result.numUpdatedRows > 0n) return { ok: true };
    }
    return { ok: false, retryAt: this.#now() + Math.ceil(windowMs / limit) };
  }

  async #prepare(windowKey: string, limit: number): Promise<void> {
    if (this.#prepared.has(`${windowKey}/${limit}`)) return;
    const rows = Array.from({ length: limit }, (_, slot) => ({ key: windowKey, slot, used_at: 0 }));
    for (let i = 0; i < rows.length; i += 300) {
      await this.#db
        .insertInto('rate_limit_slots')
        .values(rows.slice(i, i + 300))
        .onConflict((oc) => oc.columns(['key', 'slot']).doNothing())
        .execute();
    }
    this.#prepared.add(`${windowKey}/${limit}`);
  }
}
