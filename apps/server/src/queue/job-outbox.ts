import type { Kysely } from 'kysely';
import type { Schema } from '../database/schema.js';

/** The outbox table (migration 0003), kept out of schema.ts because only the outbox code touches it. */
export interface JobOutboxTable {
  id: string;
  name: string;
  /** JSON of the job payload. */
  payload: string;
  /** JSON of the resolved enqueue options (priority, delayMs, maxAttempts, timeoutMs). */
  options: string;
  /** Epoch milliseconds. */
  created_at: number;
}

export type OutboxDatabase = Kysely<Schema & { job_outbox: JobOutboxTable }>;

/** The same connection (or transaction) typed to see `job_outbox`. */
export function withOutbox(db: Kysely<Schema>): OutboxDatabase {
  return db.withTables<{ job_outbox: JobOutboxTable }>();
}
