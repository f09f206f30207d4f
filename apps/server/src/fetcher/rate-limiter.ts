import { createHash } from 'node:crypto';
import type { RateLimit } from '../config.js';
import type { Database } from '../database/database.js';
import { quotaExceeded, type RequestBudget } from '../sources/upstream-http.js';

/** Slots taken for one request; hand back to `release` once the request completed. */
export interface Taken {
  readonly slots: readonly { readonly key: string; readonly slot: number; readonly leasedUntil: number }[];
}

export type Acquired = ({ readonly ok: true } & Taken) | { readonly ok: false; readonly retryAt: number };

export interface RateLimiterOptions {
  readonly now?: () => number;
  /**
   * Added to every window, for clock differences between us and the upstream. Default 1 s.
   */
  readonly marginMs?: number;
  /**
   * How long a taken slot counts as "in use now" until `release` (the request's upper bound on duration);
   * a process that dies mid-request frees its slot after this plus the window. Default 2 min.
   */
  readonly leaseMs?: number;
}

/**
 * A rate limiter shared by every process using the same database (SQLite file or PostgreSQL): per key and
 * window there are `limit` slot rows. Taking one means leasing a slot whose last request completed more than
 * a window ago, with a compare-and-set UPDATE; `release` then stamps it with the instant the request
 * completed. Since the upstream saw the request before it completed, any two requests on one
 * slot reach the upstream at least a window apart, so any window holds at most `limit` requests (sliding,
 * stricter than a fixed window) whatever the number of workers and however slow each request is. Losing a
 * compare-and-set race simply tries again.
 */
export class DatabaseRateLimiter {
  readonly #db: Database;
  readonly #now: () => number;
  readonly #marginMs: number;
  readonly #leaseMs: number;
  readonly #prepared = new Set<string>();

  constructor(db: Database, options: RateLimiterOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#marginMs = options.marginMs ?? 1_000;
    this.#leaseMs = options.leaseMs ?? 120_000;
  }

  /** Takes one slot from every limit of `key`, or says when to try again (slots already taken are released). */
  async tryAcquire(key: string, limits: readonly RateLimit[]): Promise<Acquired> {
    const slots: Taken['slots'][number][] = [];
    for (const limit of limits) {
      const taken = await this.#take(`${key}:${limit.windowMs}`, limit);
      if ('retryAt' in taken) {
        await this.release({ slots });
        return { ok: false, retryAt: taken.retryAt };
      }
      slots.push(taken);
    }
    return { ok: true, slots };
  }

  /** Marks the request of `taken` as completed now. */
  async release(taken: Taken): Promise<void> {
    const now = this.#now();
    for (const { key, slot, leasedUntil } of taken.slots) {
      await this.#db
        .updateTable('rate_limit_slots')
        .set({ used_at: now, leased_until: null })
        .where('key', '=', key)
        .where('slot', '=', slot)
        .where('leased_until', '=', leasedUntil)
        .execute();
    }
  }

  /** Spends every slot of `key` until `untilMs` (the upstream said its quota is exhausted). */
  async block(key: string, limits: readonly RateLimit[], untilMs: number): Promise<void> {
    for (const limit of limits) {
      const windowKey = `${key}:${limit.windowMs}`;
      await this.#prepare(windowKey, limit.limit);
      const usedAt = untilMs - limit.windowMs - this.#marginMs;
      await this.#db
        .updateTable('rate_limit_slots')
        .set({ used_at: usedAt })
        .where('key', '=', windowKey)
        .where('used_at', '<', usedAt)
        .execute();
    }
  }

  /** A RequestBudget for one source and API key (the key itself is never stored, only a digest). */
  budget(source: string, apiKey: string, limits: readonly RateLimit[]): RequestBudget {
    const key = `${source}:${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}`;
    return {
      run: async (request) => {
        const acquired = await this.tryAcquire(key, limits);
        if (!acquired.ok)
          throw quotaExceeded(
            source,
            acquired.retryAt,
            `request budget for this API key spent until ${new Date(acquired.retryAt).toISOString()}`,
          );
        try {
          return await request();
        } finally {
          await this.release(acquired);
        }
      },
      exhausted: (untilMs) => this.block(key, limits, untilMs),
    };
  }

  async #take(
    windowKey: string,
    { limit, windowMs }: RateLimit,
  ): Promise<Taken['slots'][number] | { retryAt: number }> {
    await this.#prepare(windowKey, limit);
    const span = windowMs + this.#marginMs;
    for (let attempt = 0; attempt < 4; attempt++) {
      const now = this.#now();
      const slots = await this.#db
        .selectFrom('rate_limit_slots')
        .select(['slot', 'used_at', 'leased_until'])
        .where('key', '=', windowKey)
        .where('slot', '<', limit)
        .orderBy('used_at')
        .orderBy('slot')
        .execute();
      let retryAt = Number.POSITIVE_INFINITY;
      let raced = false;
      for (const row of slots) {
        const usedAt = Number(row.used_at);
        const leasedUntil = row.leased_until === null ? null : Number(row.leased_until);
        // In flight: free a window after it completes, which is probably soon; a lapsed lease (its process
        // died) counts as used until the lease's end.
        const freeAt =
          leasedUntil === null
            ? usedAt + span
            : leasedUntil > now
              ? Math.max(now, usedAt) + span
              : Math.max(usedAt, leasedUntil) + span;
        if (freeAt > now || (leasedUntil !== null && leasedUntil > now)) {
          retryAt = Math.min(retryAt, freeAt);
          continue;
        }
        const lease = now + this.#leaseMs;
        const result = await this.#db
          .updateTable('rate_limit_slots')
          .set({ leased_until: lease })
          .where('key', '=', windowKey)
          .where('slot', '=', row.slot)
          .where('used_at', '=', row.used_at)
          .where((eb) =>
            row.leased_until === null
              ? eb('leased_until', 'is', null)
              : eb('leased_until', '=', row.leased_until),
          )
          .executeTakeFirst();
        if (result.numUpdatedRows > 0n) return { key: windowKey, slot: row.slot, leasedUntil: lease };
        raced = true;
      }
      if (!raced) return { retryAt: Number.isFinite(retryAt) ? retryAt : now + span };
    }
    return { retryAt: this.#now() + Math.ceil(windowMs / limit) };
  }

  async #prepare(windowKey: string, limit: number): Promise<void> {
    if (this.#prepared.has(`${windowKey}/${limit}`)) return;
    const rows = Array.from({ length: limit }, (_, slot) => ({
      key: windowKey,
      slot,
      used_at: 0,
      leased_until: null,
    }));
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
