import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sql, type Kysely, type Transaction } from 'kysely';
import { AppError, JOB_STATES, type JobState } from '@malpipe/core';
import type { AnalysisJobStates } from '../analyses/recover-analyses.js';
import { dialectOf } from '../database/create-database.js';
import type { Database } from '../database/database.js';
import type { JobRow, Schema } from '../database/schema.js';
import type {
  EnqueueOptions,
  JobContext,
  JobHandlers,
  JobRecord,
  TransactionEnqueue,
  TransactionalJobQueue,
  WorkerOptions,
} from './job-queue.js';
import {
  MAX_ERROR_LENGTH,
  consoleLogger,
  describeJobError,
  isRetryableJobError,
  jobTimeoutError,
  noHandlerError,
  resolveEnqueueOptions,
  resolveQueuePolicy,
  retryDelayMs,
  type QueueLogger,
  type QueuePolicy,
  type QueuePolicyOptions,
} from './job-queue-policy.js';
import { JOB_NAMES, isJobName, type JobName, type Jobs } from './jobs.js';
import { WakeSignal } from './wake-signal.js';

export type { QueueLogger } from './job-queue-policy.js';

/** A worker renews its lease every third of `leaseMs` while the handler runs. */
export interface SqliteJobQueueOptions extends QueuePolicyOptions {
  /** Written to `lease_owner`; default `<host>:<pid>:<random>`. */
  readonly owner?: string;
  readonly logger?: QueueLogger;
}

const MAX_LIST_LIMIT = 1_000;
/** States a worker may claim once `run_at` has passed: new jobs and failed attempts awaiting their retry. */
const WAITING: readonly JobState[] = ['queued', 'failed'];

interface ActiveJob {
  readonly row: JobRow;
  readonly controller: AbortController;
  /** Set once this worker must not write the job's outcome any more (timed out, lease lost, queue closed). */
  settled: boolean;
  renewTimer: NodeJS.Timeout | undefined;
  timeoutTimer: NodeJS.Timeout | undefined;
  done: Promise<void>;
}

/**
 * The embedded JobQueue: jobs are rows of the `jobs` table in the metadata Database (SQLite by default; the
 * SQL is portable and also runs on PostgreSQL, where the claim adds FOR UPDATE SKIP LOCKED).
 *
 * - Claim: one `UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING *` takes a `running` job whose lease
 *   expired (its worker died), else the highest-priority, oldest due job of a job name with a free slot
 *   (priorities order jobs within one name). The outer WHERE repeats the claim condition, so two workers
 *   racing for one row cannot both win.
 * - States: queued -> running -> completed; a failed attempt becomes `failed` with `run_at` set to its retry
 *   time; after `maxAttempts`, or at once for an AppError with `retryable: false`, it becomes `dead`.
 * - A job re-leased more than `maxAttempts` times (it keeps killing or hanging its worker) goes `dead` too.
 * - Per-job timeout: the handler's signal aborts and the attempt is recorded as failed; the handler keeps its
 *   concurrency slot until it actually returns.
 * - Pick-up: an enqueue through this instance wakes its workers at once; other processes' jobs are found by
 *   polling every `pollIntervalMs`.
 */
export class SqliteJobQueue implements TransactionalJobQueue {
  readonly #db: Database;
  readonly #options: QueuePolicy;
  readonly #owner: string;
  readonly #logger: QueueLogger;
  readonly #postgres: boolean;
  readonly #active = new Map<string, ActiveJob>();
  readonly #running = new Map<JobName, number>();
  #limits = new Map<JobName, number>();
  #handlers: JobHandlers | undefined;
  /** Which free job name the next claim tries first. */
  #rotation = 0;
  #loop: Promise<void> | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  readonly #wakeSignal = new WakeSignal();

  constructor(db: Database, options: SqliteJobQueueOptions = {}) {
    this.#db = db;
    this.#options = resolveQueuePolicy(options);
    this.#owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.#logger = options.logger ?? consoleLogger;
    this.#postgres = dialectOf(db) === 'postgres';
  }

  enqueue<N extends JobName>(name: N, payload: Jobs[N], options?: EnqueueOptions): Promise<string> {
    return this.#insert(this.#db, name, payload, options).then((id) => {
      this.wake();
      return id;
    });
  }

  enqueueInTransaction<N extends JobName>(trx: Kysely<Schema>, name: N, payload: Jobs[N], options?: EnqueueOptions): Promise<string> {
    return this.#insert(trx, name, payload, options);
  }

  async transaction<T>(work: (trx: Transaction<Schema>, enqueue: TransactionEnqueue) => Promise<T>): Promise<T> {
    const result = await this.#db.transaction().execute((trx) => work(trx, (name, payload, options) => this.#insert(trx, name, payload, options)));
    this.wake();
    return result;
  }

  wake(): void {
    this.#wakeSignal.wake();
  }

  async start(handlers: JobHandlers, options: WorkerOptions): Promise<void> {
    if (this.#closing) throw new AppError('CONFLICT', 'job queue is closed');
    if (this.#handlers !== undefined) throw new AppError('CONFLICT', 'job queue already started');
    const limits = new Map<JobName, number>();
    for (const name of JOB_NAMES) {
      // A name missing from a per-name map gets one slot rather than none, so a new job type is never starved silently.
      const limit = typeof options.concurrency === 'number' ? options.concurrency : (options.concurrency[name] ?? 1);
      if (!Number.isSafeInteger(limit) || limit < 0) throw new AppError('VALIDATION_FAILED', `invalid concurrency ${limit} for ${name}`);
      limits.set(name, limit);
      this.#running.set(name, 0);
    }
    this.#handlers = handlers;
    this.#limits = limits;
    this.#loop = this.#run();
  }

  close(graceMs = 30_000): Promise<void> {
    this.#closed ??= this.#close(graceMs);
    return this.#closed;
  }

  async #close(graceMs: number): Promise<void> {
    this.#closing = true;
    this.wake();
    await this.#loop;
    const running = [...this.#active.values()];
    if (running.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running.map((job) => job.done)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, graceMs)))),
      ]);
      clearTimeout(timer);
    }
    // Handlers still running after the grace period are abandoned like a crashed worker's: no outcome is
    // written, the lease is not renewed, and another worker re-runs the job once the lease expires.
    for (const job of this.#active.values()) {
      this.#settle(job);
      job.controller.abort(new AppError('INTERNAL', 'job queue closed before the job finished', { retryable: true }));
    }
  }

  async get(id: string): Promise<JobRecord | null> {
    const row = await this.#db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  }

  async list(filter: { readonly state?: JobState; readonly name?: JobName; readonly limit?: number }): Promise<readonly JobRecord[]> {
    const requested = filter.limit ?? 100;
    const limit = Number.isFinite(requested) ? Math.min(Math.max(1, Math.trunc(requested)), MAX_LIST_LIMIT) : 100;
    let query = this.#db.selectFrom('jobs').selectAll();
    if (filter.state !== undefined) query = query.where('state', '=', filter.state);
    if (filter.name !== undefined) query = query.where('name', '=', filter.name);
    const rows = await query.orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
    return rows.map(toRecord);
  }

  async retry(id: string): Promise<void> {
    const now = Date.now();
    const result = await this.#db
      .updateTable('jobs')
      .set({ state: 'queued', attempts: 0, run_at: now, lease_until: null, lease_owner: null, updated_at: iso(now) })
      .where('id', '=', id)
      .where('state', 'in', ['dead', 'failed'])
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) {
      const job = await this.get(id);
      if (job === null) throw new AppError('JOB_NOT_FOUND', `job ${id} not found`);
      throw new AppError('CONFLICT', `job ${id} is ${job.state}; only dead or failed jobs can be retried`);
    }
    this.wake();
  }

  async counts(): Promise<Readonly<Record<JobName, Readonly<Record<JobState, number>>>>> {
    const rows = await this.#db
      .selectFrom('jobs')
      .select(['name', 'state', (eb) => eb.fn.countAll<number | string>().as('count')])
      .groupBy(['name', 'state'])
      .execute();
    const counts = Object.fromEntries(JOB_NAMES.map((name) => [name, Object.fromEntries(JOB_STATES.map((state) => [state, 0]))])) as Record<
      JobName,
      Record<JobState, number>
    >;
    for (const row of rows) {
      if (isJobName(row.name) && (JOB_STATES as readonly string[]).includes(row.state)) {
        counts[row.name][row.state as JobState] = Number(row.count);
      }
    }
    return counts;
  }

  /** Jobs of `name` not yet started (queued, or a failed attempt waiting out its back-off). */
  async waitingCount(name: JobName): Promise<number> {
    const row = await this.#db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('name', '=', name)
      .where('state', 'in', WAITING)
      .executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  /** Deletes completed jobs older than `olderThanMs`; returns how many. */
  async cleanCompleted(olderThanMs: number): Promise<number> {
    const result = await this.#db
      .deleteFrom('jobs')
      .where('state', '=', 'completed')
      .where('updated_at', '<', new Date(Date.now() - olderThanMs).toISOString())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * For the start-up recovery sweep (recoverAnalyses): which analyses have a job that will still run, and which
   * died. Reads the `jobs` table directly because `list` is capped and cannot filter by payload.
   */
  async analysisJobStates(analysisIds: readonly string[]): Promise<AnalysisJobStates> {
    const wanted = new Set(analysisIds);
    const live = new Set<string>();
    const dead = new Map<string, string | null>();
    const rows = await this.#db
      .selectFrom('jobs')
      .select(['payload', 'state', 'last_error'])
      .where('name', '=', 'analyze-sample')
      .where('state', 'in', ['queued', 'running', 'failed', 'dead'])
      .execute();
    for (const row of rows) {
      let analysisId: unknown;
      try {
        analysisId = (JSON.parse(row.payload) as { analysisId?: unknown }).analysisId;
      } catch {
        continue; // Not one of ours; the queue validates payloads on enqueue.
      }
      if (typeof analysisId !== 'string' || !wanted.has(analysisId)) continue;
      if (row.state === 'dead') dead.set(analysisId, row.last_error);
      else live.add(analysisId);
    }
    for (const id of live) dead.delete(id);
    return { live, dead };
  }

  async #insert<N extends JobName>(db: Kysely<Schema>, name: N, payload: Jobs[N], options: EnqueueOptions = {}): Promise<string> {
    if (!isJobName(name)) throw new AppError('VALIDATION_FAILED', `unknown job name ${JSON.stringify(name)}`);
    const { priority, delayMs, maxAttempts, timeoutMs } = resolveEnqueueOptions(options, this.#options);
    const id = randomUUID();
    const now = Date.now();
    await db
      .insertInto('jobs')
      .values({
        id,
        name,
        payload: JSON.stringify(payload),
        state: 'queued',
        priority,
        attempts: 0,
        max_attempts: maxAttempts,
        timeout_ms: timeoutMs,
        run_at: now + delayMs,
        lease_until: null,
        lease_owner: null,
        last_error: null,
        created_at: iso(now),
        updated_at: iso(now),
      })
      .execute();
    return id;
  }

  /** The worker loop: claim while a slot is free and a job is due, otherwise sleep until woken or the poll. */
  async #run(): Promise<void> {
    while (!this.#closing) {
      let claimed = false;
      try {
        const free = JOB_NAMES.filter((name) => (this.#running.get(name) ?? 0) < (this.#limits.get(name) ?? 0));
        if (free.length > 0) {
          const row = await this.#claim(free);
          if (row !== undefined) {
            claimed = true;
            await this.#dispatch(row);
          }
        }
      } catch (error) {
        this.#logger.error({ err: error, owner: this.#owner }, 'job claim failed');
      }
      if (!claimed) await this.#wakeSignal.sleep(this.#options.pollIntervalMs);
    }
  }

  /**
   * Expired leases first (their workers died), then the best due job of the free names, trying names in
   * rotation so a busy name cannot starve the others: one statement whose candidates are one index probe per
   * name (`ORDER BY ... LIMIT 1` on the partial indexes jobs_lease_idx and jobs_due_by_name_idx) ranked by
   * that order, rather than one statement per name, most of which find nothing. States are SQL literals: a
   * bound parameter cannot prove the WHERE of a partial index, and without them every claim would sort the
   * whole backlog. The outer WHERE repeats the claim condition on the row itself, so when two workers pick the
   * same id only one update matches.
   */
  async #claim(names: readonly JobName[]): Promise<JobRow | undefined> {
    const now = Date.now();
    const ordered = names.map((_, i) => names[(this.#rotation + i) % names.length]!);
    const lock = this.#postgres ? sql` for update skip locked` : sql``;
    const waiting = sql.join(WAITING.map((state) => sql.lit(state)));
    const candidates = [
      sql`select id, -1 as pick from (select id from jobs where name in (${sql.join(names)}) and state = 'running' and lease_until < ${now}
        order by lease_until asc, run_at limit 1${lock}) as expired`,
      ...ordered.map(
        (name, i) => sql`select id, ${sql.lit(i)} as pick from (select id from jobs where name = ${name} and state in (${waiting}) and run_at <= ${now}
          order by priority desc, run_at limit 1${lock}) as ${sql.id(`due${i}`)}`,
      ),
    ];
    const result = await sql<JobRow>`update jobs set state = 'running', attempts = attempts + 1, lease_owner = ${this.#owner},
        lease_until = ${now + this.#options.leaseMs}, updated_at = ${iso(now)}
      where id = (select id from (${sql.join(candidates, sql` union all `)}) as candidates order by pick limit 1)
        and name in (${sql.join(names)})
        and ((state = 'running' and lease_until < ${now}) or (state in (${waiting}) and run_at <= ${now}))
      returning *`.execute(this.#db);
    const row = result.rows[0];
    if (row === undefined) return undefined;
    const position = ordered.indexOf(row.name as JobName);
    if (position >= 0) this.#rotation = (this.#rotation + position + 1) % JOB_NAMES.length;
    return row;
  }

  async #dispatch(row: JobRow): Promise<void> {
    const name = row.name as JobName;
    if (row.attempts > row.max_attempts) {
      // Only an expired lease re-claims a job past its attempts: it keeps killing or hanging its worker.
      await this.#finish(row, 'dead', `lease expired on attempt ${row.attempts - 1} of ${row.max_attempts}: the worker died or hung`);
      return;
    }
    // One handler per name; the payload stored under `name` is that job's payload (a union call needs the cast).
    const handler = this.#handlers?.[name] as ((job: JobContext<JobName>) => Promise<void>) | undefined;
    const job: ActiveJob = {
      row,
      controller: new AbortController(),
      settled: false,
      renewTimer: undefined,
      timeoutTimer: undefined,
      done: Promise.resolve(),
    };
    this.#active.set(row.id, job);
    this.#running.set(name, (this.#running.get(name) ?? 0) + 1);

    job.renewTimer = setInterval(() => void this.#renew(job), Math.max(1, Math.floor(this.#options.leaseMs / 3)));
    job.timeoutTimer = setTimeout(() => {
      if (job.settled) return;
      this.#settle(job);
      job.controller.abort(jobTimeoutError(row.timeout_ms));
      void this.#fail(row, `timed out after ${row.timeout_ms} ms`, true);
    }, row.timeout_ms);

    job.done = (async () => {
      try {
        if (handler === undefined) throw noHandlerError(row.name);
        const payload = parsePayload(row);
        await handler({ id: row.id, name, payload, attempt: row.attempts, signal: job.controller.signal });
        if (!job.settled) {
          this.#settle(job);
          await this.#finish(row, 'completed', null);
        }
      } catch (error) {
        if (!job.settled) {
          this.#settle(job);
          await this.#fail(row, describeJobError(error), isRetryableJobError(error));
        }
      } finally {
        this.#active.delete(row.id);
        this.#running.set(name, Math.max(0, (this.#running.get(name) ?? 1) - 1));
        this.wake();
      }
    })();
  }

  #settle(job: ActiveJob): void {
    job.settled = true;
    clearInterval(job.renewTimer);
    clearTimeout(job.timeoutTimer);
  }

  async #renew(job: ActiveJob): Promise<void> {
    try {
      const result = await this.#db
        .updateTable('jobs')
        .set({ lease_until: Date.now() + this.#options.leaseMs })
        .where('id', '=', job.row.id)
        .where('lease_owner', '=', this.#owner)
        .where('state', '=', 'running')
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n && !job.settled) {
        // Another worker took the job over (our lease expired while the event loop was blocked): stop this run.
        this.#settle(job);
        job.controller.abort(new AppError('INTERNAL', 'job lease lost to another worker', { retryable: true }));
        this.#logger.warn({ jobId: job.row.id, owner: this.#owner }, 'job lease lost');
      }
    } catch (error) {
      this.#logger.error({ err: error, jobId: job.row.id }, 'job lease renewal failed');
    }
  }

  async #fail(row: JobRow, message: string, retryable: boolean): Promise<void> {
    if (!retryable || row.attempts >= row.max_attempts) {
      await this.#finish(row, 'dead', message);
      return;
    }
    const runAt = Date.now() + retryDelayMs(row.attempts, this.#options);
    await this.#finish(row, 'failed', message, runAt);
  }

  /** Writes an attempt's outcome, guarded by our lease so a worker that lost the job cannot overwrite it. */
  async #finish(row: JobRow, state: 'completed' | 'failed' | 'dead', error: string | null, runAt?: number): Promise<void> {
    const now = Date.now();
    try {
      const result = await this.#db
        .updateTable('jobs')
        .set({
          state,
          lease_owner: null,
          lease_until: null,
          updated_at: iso(now),
          ...(error === null ? {} : { last_error: error.slice(0, MAX_ERROR_LENGTH) }),
          ...(runAt === undefined ? {} : { run_at: runAt }),
        })
        .where('id', '=', row.id)
        .where('lease_owner', '=', this.#owner)
        .where('state', '=', 'running')
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) {
        this.#logger.warn({ jobId: row.id, state }, 'job outcome dropped: lease lost to another worker');
      }
    } catch (error) {
      // The lease will expire and the job run again: at-least-once, never lost.
      this.#logger.error({ err: error, jobId: row.id, state }, 'job outcome not recorded');
    }
    if (state === 'failed') this.wake();
  }
}

/**
 * Builds the JobQueue named by `url`. `sqlite:` is the embedded queue: the `jobs` table of `db`, whichever
 * dialect `db` speaks. Throws CONFIG_INVALID for anything else (BullMQ's `redis://` comes later).
 */
export function createJobQueue(url: string, db: Database, options: SqliteJobQueueOptions = {}): SqliteJobQueue {
  if (url === 'sqlite:' || url === 'sqlite://') return new SqliteJobQueue(db, options);
  throw new AppError('CONFIG_INVALID', `unsupported job queue URL "${url.replace(/\/\/[^@/]*@/, '//***@')}" (expected sqlite:)`);
}

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    name: row.name as JobName,
    payload: parsePayload(row),
    state: row.state as JobState,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function parsePayload(row: JobRow): Jobs[JobName] {
  try {
    return JSON.parse(row.payload) as Jobs[JobName];
  } catch (error) {
    throw new AppError('MALFORMED_INPUT', `job ${row.id} has a corrupt payload`, { cause: error });
  }
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
