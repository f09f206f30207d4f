import type { Kysely, Transaction } from 'kysely';
import type { JobState } from '@malpipe/core';
import type { Schema } from '../database/schema.js';
import type { JobName, Jobs } from './jobs.js';

export interface EnqueueOptions {
  /** Higher runs first. Default 0. */
  readonly priority?: number;
  readonly delayMs?: number;
  /** Attempts before the job goes to the dead-letter state. Default 3. */
  readonly maxAttempts?: number;
  /** A running job's lease; the handler's signal aborts and the job is retried after this. Default 10 min. */
  readonly timeoutMs?: number;
}

export interface JobRecord<N extends JobName = JobName> {
  readonly id: string;
  readonly name: N;
  readonly payload: Jobs[N];
  readonly state: JobState;
  readonly priority: number;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface JobContext<N extends JobName> {
  readonly id: string;
  readonly name: N;
  readonly payload: Jobs[N];
  /** 1 on the first attempt. */
  readonly attempt: number;
  /** Aborted when the job's timeout passes or the queue stops. */
  readonly signal: AbortSignal;
}

export type JobHandlers = { readonly [N in JobName]: (job: JobContext<N>) => Promise<void> };

export interface WorkerOptions {
  /** Concurrent jobs per job name in this process. */
  readonly concurrency: Partial<Record<JobName, number>> | number;
}

/**
 * A durable job queue. Delivery is at-least-once: a job whose worker dies is leased again after its timeout,
 * so handlers must be idempotent. A handler that throws an AppError with `retryable: false` sends the job
 * straight to `dead`; other failures retry with exponential back-off until `maxAttempts`, then `dead`.
 * Implementations: SqliteJobQueue (embedded), BullmqJobQueue (Redis).
 */
export interface JobQueue {
  enqueue<N extends JobName>(name: N, payload: Jobs[N], options?: EnqueueOptions): Promise<string>;
  /** Starts consuming in this process; resolves once workers are running. */
  start(handlers: JobHandlers, options: WorkerOptions): Promise<void>;
  /** Stops taking jobs, waits for running ones (up to `graceMs`), releases resources. */
  close(graceMs?: number): Promise<void>;
  get(id: string): Promise<JobRecord | null>;
  list(filter: { readonly state?: JobState; readonly name?: JobName; readonly limit?: number }): Promise<readonly JobRecord[]>;
  /** Puts a dead or failed job back in the queue with its attempts reset. */
  retry(id: string): Promise<void>;
  counts(): Promise<Readonly<Record<JobName, Readonly<Record<JobState, number>>>>>;
}

/** Enqueues within an open transaction; see TransactionalJobQueue.transaction. */
export type TransactionEnqueue = <N extends JobName>(name: N, payload: Jobs[N], options?: EnqueueOptions) => Promise<string>;

/**
 * A JobQueue whose jobs live in the metadata database (SqliteJobQueue), so a job can be enqueued in the same
 * transaction as the rows it refers to: "insert the analysis row + enqueue its job" either both commit or
 * neither does, and a crash between them loses nothing.
 *
 * @example
 * const id = await queue.transaction(async (trx, enqueue) => {
 *   await trx.insertInto('analyses').values(row).execute();
 *   await enqueue('analyze-sample', { analysisId: row.id });
 *   return row.id;
 * }); // committed, and local workers woken
 */
export interface TransactionalJobQueue extends JobQueue {
  /** Runs `work` in one database transaction; wakes local workers after it commits. */
  transaction<T>(work: (trx: Transaction<Schema>, enqueue: TransactionEnqueue) => Promise<T>): Promise<T>;
  /**
   * Inserts the job through `trx` (a Kysely transaction the caller opened). Local workers see it on their next
   * poll; call `wake()` after the commit for immediate pick-up.
   */
  enqueueInTransaction<N extends JobName>(trx: Kysely<Schema>, name: N, payload: Jobs[N], options?: EnqueueOptions): Promise<string>;
  /** Makes local workers look for jobs now. */
  wake(): void;
}
