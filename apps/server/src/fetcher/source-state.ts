import type { Database } from '../database/database.js';

/**
 * What the fetcher remembers about sources, in the database so every worker process agrees: "not found"
 * answers (with an expiry: a sample unknown today may be uploaded tomorrow) and a circuit breaker per source
 * (after `threshold` consecutive failures the source is skipped for `cooldownMs`; the next failure after
 * that re-opens it at once, a success closes it).
 */
export interface CircuitOptions {
  readonly threshold: number;
  readonly cooldownMs: number;
}

export const DEFAULT_CIRCUIT: CircuitOptions = { threshold: 5, cooldownMs: 60_000 };

export async function isCachedNotFound(
  db: Database,
  source: string,
  hash: string,
  now: number,
): Promise<boolean> {
  const row = await db
    .selectFrom('source_not_found')
    .select('expires_at')
    .where('source', '=', source)
    .where('hash', '=', hash)
    .executeTakeFirst();
  return row !== undefined && Number(row.expires_at) > now;
}

export async function cacheNotFound(
  db: Database,
  source: string,
  hash: string,
  expiresAt: number,
  now = Date.now(),
): Promise<void> {
  await db
    .insertInto('source_not_found')
    .values({ source, hash, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['source', 'hash']).doUpdateSet({ expires_at: expiresAt }))
    .execute();
  // Keeps the cache from growing forever: expired answers are dropped as new ones arrive.
  await db
    .deleteFrom('source_not_found')
    .where('source', '=', source)
    .where('expires_at', '<=', now)
    .execute();
}

/** Epoch ms until which the source's circuit is open, or null when requests may go out. */
export async function circuitOpenUntil(db: Database, source: string, now: number): Promise<number | null> {
  const row = await db
    .selectFrom('source_circuits')
    .select('open_until')
    .where('source', '=', source)
    .executeTakeFirst();
  return row !== undefined && Number(row.open_until) > now ? Number(row.open_until) : null;
}

export async function recordSourceSuccess(db: Database, source: string): Promise<void> {
  await db
    .insertInto('source_circuits')
    .values({ source, failures: 0, open_until: 0 })
    .onConflict((oc) => oc.column('source').doUpdateSet({ failures: 0, open_until: 0 }))
    .execute();
}

/** Counts a failure; returns the instant the circuit opens until, or null while it stays closed. */
export async function recordSourceFailure(
  db: Database,
  source: string,
  now: number,
  options: CircuitOptions,
): Promise<number | null> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('source_circuits')
      .select('failures')
      .where('source', '=', source)
      .executeTakeFirst();
    const failures = (row?.failures ?? 0) + 1;
    const openUntil = failures >= options.threshold ? now + options.cooldownMs : 0;
    await trx
      .insertInto('source_circuits')
      .values({ source, failures, open_until: openUntil })
      .onConflict((oc) => oc.column('source').doUpdateSet({ failures, open_until: openUntil }))
      .execute();
    return openUntil === 0 ? null : openUntil;
  });
}
