import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely, Transaction } from 'kysely';
import {
  Queue,
  UnrecoverableError,
  Worker,
  type ConnectionOptions,
  type Job,
  type JobsOptions,
  type JobType,
} from 'bullmq';
import { AppError, JOB_STATES, type JobState } from '@malpipe/core';
import type { AnalysisJobStates } from '../analyses/recover-analyses.js';
import { dialectOf } from '../database/create-database.js';
import type { Database } from '../database/database.js';
import type { Schema } from '../database/schema.js';
import type {
  EnqueueOptions,
  JobContext,
  JobHandlers,
  JobRecord,
  TransactionEnqueue,
  TransactionalJobQueue,
  WorkerOptions,
} from './job-queue.js';
import { withOutbox, type JobOutboxTable } from './job-outbox.js';
import {
  KEEP_COMPLETED_MS,
  MAX_ERROR_LENGTH,
  consoleLogger,
  describeJobError,
  isRetryableJobError,
  jobTimeoutError,
  noHandlerError,
  positiveOption,
  resolveEnqueueOptions,
  resolveQueuePolicy,
  retryDelayMs,
  type QueueLogger,
  type QueuePolicy,
  type QueuePolicyOptions,
  type ResolvedEnqueueOptions,
} from './job-queue-policy.js';
import { JOB_NAMES, isJobName, type JobName, type Jobs } from './jobs.js';
import { WakeSignal } from './wake-signal.js';

/** `leaseMs` is BullMQ's lock duration: a dead worker's job runs again about one to two leases later. */
export interface BullmqJobQueueOptions extends QueuePolicyOptions {
  /** `redis://[user:password@]host:port[/db][?prefix=malpipe]` or `rediss://` for TLS. */
  readonly url: string;
  /** The metadata database holding the outbox (see enqueueInTransaction). */
  readonly db: Database;
  /** Redis key prefix; default the URL's `prefix` parameter or `malpipe`. Tests use a unique one. */
  readonly prefix?: string;
  /** Completed jobs are deleted by BullMQ after this long (or beyond `keepCompletedCount`). Default 1 h. */
  readonly keepCompletedMs?: number;
  readonly keepCompletedCount?: number;
  /** Dead jobs stay for inspection and retry this long. Default 30 days. */
  readonly keepDeadMs?: number;
  readonly logger?: QueueLogger;
}

/** What a BullMQ job carries: the payload and the options the JobRecord reports. */
interface StoredJob {
  readonly payload: Jobs[JobName];
  readonly priority: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
}

type ResolvedOptions = ResolvedEnqueueOptions;

interface ActiveJob {
  readonly controller: AbortController;
  /** Set when close() gave up on the handler: no outcome may be written any more. */
  abandoned: boolean;
  done: Promise<void>;
}

/** Retention defaults; the options both backends share default in job-queue-policy.ts. */
const RETENTION_DEFAULTS = {
  keepCompletedMs: KEEP_COMPLETED_MS,
  keepCompletedCount: 100_000,
  keepDeadMs: 30 * 24 * 60 * 60_000,
};

/** BullMQ runs lower numbers first (1..2^21); malpipe runs higher priorities first. */
const BULL_PRIORITY_ZERO = 1_000_000;
const BULL_PRIORITY_MAX = 2_097_152;
const RELAY_BATCH = 200;
const MAX_LIST_LIMIT = 1_000;
/** counts() inspects at most this many delayed jobs to tell back-off retries (`failed`) from delayed new jobs. */
const DELAYED_SCAN_LIMIT = 1_000;
const NEVER = new Promise<never>(() => undefined);

/** Maps malpipe's priority (higher first, any int32) onto BullMQ's range; extremes beyond +-10^6 share a level. */
export function toBullPriority(priority: number): number {
  return Math.min(BULL_PRIORITY_MAX, Math.max(1, BULL_PRIORITY_ZERO - priority));
}

/**
 * A JobQueue on BullMQ and Redis, for a CERT running many worker machines. One BullMQ queue per job name gives
 * per-name concurrency; keys live under `<prefix>:<job name>:...`.
 *
 * - Same semantics as SqliteJobQueue: priorities, delays, attempts with equal-jitter exponential back-off,
 *   `dead` after the last attempt or at once for a non-retryable AppError (BullMQ's UnrecoverableError),
 *   per-job timeouts (the handler's signal aborts and the attempt fails), and leases (BullMQ locks renewed while
 *   the handler runs; a dead worker's job is found by the other workers' stalled check and runs again).
 * - States: BullMQ `failed` is malpipe's `dead`; a job waiting out its back-off is `failed`; `waiting`,
 *   `prioritized` and not-yet-retried `delayed` jobs are `queued`.
 * - Transactional enqueue: Redis cannot join a database transaction, so enqueueInTransaction writes a
 *   `job_outbox` row through the caller's transaction; a relay in every process holding this queue adds the rows
 *   to BullMQ (the BullMQ job id is the outbox id, so a row relayed twice is one job) and deletes them. A job is
 *   therefore lost neither when Redis is down nor when the process dies after the commit.
 */
export class BullmqJobQueue implements TransactionalJobQueue {
  readonly prefix: string;
  readonly #db: Database;
  readonly #connection: ConnectionOptions;
  readonly #options: QueuePolicy & { readonly [K in keyof typeof RETENTION_DEFAULTS]: number };
  readonly #logger: QueueLogger;
  readonly #postgres: boolean;
  readonly #queues = new Map<JobName, Queue>();
  readonly #workers: Worker[] = [];
  readonly #active = new Set<ActiveJob>();
  #handlers: JobHandlers | undefined;
  #closing = false;
  #stopping: Promise<void> | undefined;
  #relayLoop: Promise<void> | undefined;
  readonly #relaySignal = new WakeSignal();

  constructor(options: BullmqJobQueueOptions) {
    const { connection, prefix } = parseRedisUrl(options.url);
    this.#connection = connection;
    this.prefix = options.prefix ?? prefix;
    this.#db = options.db;
    this.#options = {
      ...resolveQueuePolicy(options),
      keepCompletedMs: positiveOption(options.keepCompletedMs, RETENTION_DEFAULTS.keepCompletedMs, 'keepCompletedMs'),
      keepCompletedCount: positiveOption(
        options.keepCompletedCount,
        RETENTION_DEFAULTS.keepCompletedCount,
        'keepCompletedCount',
      ),
      keepDeadMs: positiveOption(options.keepDeadMs, RETENTION_DEFAULTS.keepDeadMs, 'keepDeadMs'),
    };
    this.#logger = options.logger ?? consoleLogger;
    this.#postgres = dialectOf(options.db) === 'postgres';
  }

  async enqueue<N extends JobName>(name: N, payload: Jobs[N], options?: EnqueueOptions): Promise<string> {
    const resolved = this.#resolve(name, options);
    const id = randomUUID();
    await this.#queue(name).add(name, stored(payload, resolved), this.#jobOptions(id, resolved));
    return id;
  }

  async enqueueInTransaction<N extends JobName>(
    trx: Kysely<Schema>,
    name: N,
    payload: Jobs[N],
    options?: EnqueueOptions,
  ): Promise<string> {
    const resolved = this.#resolve(name, options);
    const id = randomUUID();
    await withOutbox(trx)
      .insertInto('job_outbox')
      .values({
        id,
        name,
        payload: JSON.stringify(payload),
        options: JSON.stringify(resolved),
        created_at: Date.now(),
      })
      .execute();
    return id;
  }

  async transaction<T>(
    work: (trx: Transaction<Schema>, enqueue: TransactionEnqueue) => Promise<T>,
  ): Promise<T> {
    const result = await this.#db
      .transaction()
      .execute((trx) =>
        work(trx, (name, payload, options) => this.enqueueInTransaction(trx, name, payload, options)),
      );
    this.wake();
    return result;
  }

  /** Relays committed outbox rows now (and starts the relay loop in this process if it was not running). */
  wake(): void {
    if (this.#closing) return;
    this.#relayLoop ??= this.#relay();
    this.#relaySignal.wake();
  }

  async start(handlers: JobHandlers, options: WorkerOptions): Promise<void> {
    if (this.#closing) throw new AppError('CONFLICT', 'job queue is closed');
    if (this.#handlers !== undefined) throw new AppError('CONFLICT', 'job queue already started');
    this.#handlers = handlers;
    for (const name of JOB_NAMES) {
      const concurrency =
        typeof options.concurrency === 'number' ? options.concurrency : (options.concurrency[name] ?? 1);
      if (!Number.isSafeInteger(concurrency) || concurrency < 0)
        throw new AppError('VALIDATION_FAILED', `invalid concurrency ${concurrency} for ${name}`);
      if (concurrency === 0) continue;
      const worker = new Worker(name, (job: Job) => this.#process(name, job), {
        connection: { ...this.#connection, maxRetriesPerRequest: null },
        prefix: this.prefix,
        concurrency,
        // Recorded on each job as processedBy, so an operator (or a test) sees which process holds it.
        name: `${hostname()}:${process.pid}`,
        lockDuration: this.#options.leaseMs,
        stalledInterval: this.#options.leaseMs,
        // A job whose worker keeps dying goes dead like an attempt that keeps failing.
        maxStalledCount: this.#options.defaultMaxAttempts,
        settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade, this.#options) },
      });
      worker.on('error', (error) => this.#logger.error({ err: error, queue: name }, 'redis worker error'));
      this.#workers.push(worker);
    }
    await Promise.all(this.#workers.map((worker) => worker.waitUntilReady()));
    this.wake();
  }

  async close(graceMs = 30_000): Promise<void> {
    this.#stopping ??= this.#stopWorkers(graceMs);
    await this.#stopping;
    // Inspection (get, list, counts) still works after close and reopens producer connections; close them again.
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    await Promise.all(queues.map((queue) => queue.close()));
  }

  async #stopWorkers(graceMs: number): Promise<void> {
    this.#closing = true;
    this.#relaySignal.wake();
    await this.#relayLoop;
    // Take no new jobs, give running handlers the grace period, then let BullMQ write their outcomes.
    await Promise.all(this.#workers.map((worker) => worker.pause(true)));
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all([...this.#active].map((job) => job.done)).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, graceMs)))),
    ]);
    clearTimeout(timer);
    if (drained) {
      await Promise.all(this.#workers.map((worker) => worker.close()));
    } else {
      // Abandoned like a crashed worker's jobs: no outcome, no lock renewal; another worker's stalled check
      // re-runs them once their lock expires.
      for (const job of this.#active) job.abandoned = true;
      await Promise.all(this.#workers.map((worker) => worker.close(true)));
      for (const job of this.#active)
        job.controller.abort(
          new AppError('INTERNAL', 'job queue closed before the job finished', { retryable: true }),
        );
    }
  }

  async get(id: string): Promise<JobRecord | null> {
    // The outbox first: a row relayed meanwhile is already in BullMQ when its deletion commits.
    const row = await withOutbox(this.#db)
      .selectFrom('job_outbox')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (row !== undefined) return outboxRecord(row);
    for (const name of JOB_NAMES) {
      const job = await this.#queue(name).getJob(id);
      if (job !== undefined) return toRecord(job, await job.getState());
    }
    return null;
  }

  async list(filter: {
    readonly state?: JobState;
    readonly name?: JobName;
    readonly limit?: number;
  }): Promise<readonly JobRecord[]> {
    const limit = Math.min(Math.max(1, Math.trunc(filter.limit ?? 100)), MAX_LIST_LIMIT);
    const names = filter.name === undefined ? JOB_NAMES : [filter.name];
    const records: JobRecord[] = [];
    for (const name of names) {
      const queue = this.#queue(name);
      for (const type of bullTypes(filter.state)) {
        // The queued/failed split of delayed and waiting jobs is known only per job: read more, then filter.
        const jobs = await queue.getJobs(
          [type],
          0,
          limit * (filter.state === 'queued' || filter.state === 'failed' ? 4 : 1) - 1,
          false,
        );
        for (const job of jobs) {
          const record = toRecord(job, type);
          if (filter.state === undefined || record.state === filter.state) records.push(record);
        }
      }
    }
    if (filter.state === undefined || filter.state === 'queued') {
      let query = withOutbox(this.#db)
        .selectFrom('job_outbox')
        .selectAll()
        .orderBy('created_at', 'desc')
        .limit(limit);
      if (filter.name !== undefined) query = query.where('name', '=', filter.name);
      records.push(...(await query.execute()).map(outboxRecord));
    }
    return records
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id))
      .slice(0, limit);
  }

  async retry(id: string): Promise<void> {
    for (const name of JOB_NAMES) {
      const job = await this.#queue(name).getJob(id);
      if (job === undefined) continue;
      const state = toRecord(job, await job.getState()).state;
      if (state === 'dead') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      } else if (state === 'failed') {
        await job.promote(); // waiting out its back-off: run it now
      } else {
        throw new AppError('CONFLICT', `job ${id} is ${state}; only dead or failed jobs can be retried`);
      }
      return;
    }
    if ((await this.get(id)) !== null)
      throw new AppError('CONFLICT', `job ${id} is queued; only dead or failed jobs can be retried`);
    throw new AppError('JOB_NOT_FOUND', `job ${id} not found`);
  }

  async counts(): Promise<Readonly<Record<JobName, Readonly<Record<JobState, number>>>>> {
    const counts = emptyCounts();
    // The outbox before Redis: a row relayed in between is counted twice rather than not at all.
    const outbox = await withOutbox(this.#db)
      .selectFrom('job_outbox')
      .select(['name', (eb) => eb.fn.countAll<number | string>().as('count')])
      .groupBy('name')
      .execute();
    for (const name of JOB_NAMES) {
      const queue = this.#queue(name);
      const c = await queue.getJobCounts(
        'waiting',
        'prioritized',
        'delayed',
        'active',
        'completed',
        'failed',
      );
      const delayed = c.delayed ?? 0;
      let retrying = 0;
      if (delayed > 0) {
        const jobs = await queue.getJobs(['delayed'], 0, DELAYED_SCAN_LIMIT - 1);
        retrying = jobs.filter((job) => job.attemptsMade > 0).length;
      }
      counts[name] = {
        queued: (c.waiting ?? 0) + (c.prioritized ?? 0) + delayed - retrying,
        running: c.active ?? 0,
        completed: c.completed ?? 0,
        failed: retrying,
        dead: c.failed ?? 0,
      };
    }
    for (const row of outbox) if (isJobName(row.name)) counts[row.name].queued += Number(row.count);
    return counts;
  }

  /** Jobs waiting to run, per name (BullMQ waiting + prioritized + delayed, plus unrelayed outbox rows): the back-pressure measure. */
  async waitingCount(name: JobName): Promise<number> {
    // The outbox first, as in counts(): a concurrent relay may double-count a job, never hide it.
    const outbox = await withOutbox(this.#db)
      .selectFrom('job_outbox')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('name', '=', name)
      .executeTakeFirst();
    const c = await this.#queue(name).getJobCounts('waiting', 'prioritized', 'delayed');
    return (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) + Number(outbox?.count ?? 0);
  }

  /** Deletes completed jobs older than `olderThanMs` (BullMQ also does it on completion; this catches up). */
  async cleanCompleted(olderThanMs: number): Promise<number> {
    let removed = 0;
    for (const name of JOB_NAMES) {
      const queue = this.#queue(name);
      for (;;) {
        const ids = await queue.clean(olderThanMs, 1_000, 'completed');
        removed += ids.length;
        if (ids.length < 1_000) break;
      }
    }
    return removed;
  }

  /**
   * For the start-up recovery sweep (recoverAnalyses): which analyses have a job that will still run, and which
   * died. Reads the outbox before BullMQ, so a row relayed in between is seen in BullMQ rather than missed.
   */
  async analysisJobStates(analysisIds: readonly string[]): Promise<AnalysisJobStates> {
    const wanted = new Set(analysisIds);
    const live = new Set<string>();
    const dead = new Map<string, string | null>();
    const idOf = (payload: unknown): string | null => {
      const analysisId = (payload as { analysisId?: unknown } | null)?.analysisId;
      return typeof analysisId === 'string' && wanted.has(analysisId) ? analysisId : null;
    };
    const rows = await withOutbox(this.#db)
      .selectFrom('job_outbox')
      .select('payload')
      .where('name', '=', 'analyze-sample')
      .execute();
    for (const row of rows) {
      const id = idOf(safeJson(row.payload));
      if (id !== null) live.add(id);
    }
    const queue = this.#queue('analyze-sample');
    for (const job of await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active'])) {
      const id = idOf((job.data as StoredJob | undefined)?.payload);
      if (id !== null) live.add(id);
    }
    for (const job of await queue.getJobs(['failed'])) {
      const id = idOf((job.data as StoredJob | undefined)?.payload);
      if (id !== null && !live.has(id)) dead.set(id, job.failedReason ?? null);
    }
    return { live, dead };
  }

  /** Removes every key of this queue's prefix (tests). */
  async obliterate(): Promise<void> {
    for (const name of JOB_NAMES) await this.#queue(name).obliterate({ force: true });
  }

  /** The producer side of one job name's BullMQ queue, opened on first use. */
  #queue(name: JobName): Queue {
    if (!isJobName(name)) throw new AppError('VALIDATION_FAILED', `unknown job name ${JSON.stringify(name)}`);
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      // Producer commands fail after a few reconnect attempts instead of hanging a request; the relay retries.
      queue = new Queue(name, {
        connection: { ...this.#connection, maxRetriesPerRequest: 3 },
        prefix: this.prefix,
      });
      queue.on('error', (error) => this.#logger.error({ err: error, queue: name }, 'redis queue error'));
      this.#queues.set(name, queue);
    }
    return queue;
  }

  #resolve(name: JobName, options: EnqueueOptions = {}): ResolvedOptions {
    if (!isJobName(name)) throw new AppError('VALIDATION_FAILED', `unknown job name ${JSON.stringify(name)}`);
    return resolveEnqueueOptions(options, this.#options);
  }

  #jobOptions(id: string, options: ResolvedOptions): JobsOptions {
    return {
      jobId: id,
      priority: toBullPriority(options.priority),
      ...(options.delayMs > 0 ? { delay: options.delayMs } : {}),
      attempts: options.maxAttempts,
      backoff: { type: 'malpipe' },
      removeOnComplete: {
        age: Math.ceil(this.#options.keepCompletedMs / 1000),
        count: this.#options.keepCompletedCount,
      },
      removeOnFail: { age: Math.ceil(this.#options.keepDeadMs / 1000) },
    };
  }

  async #process(name: JobName, job: Job): Promise<void> {
    // One handler per name; the payload stored under `name` is that job's payload (a union call needs the cast).
    const handler = this.#handlers?.[name] as ((job: JobContext<JobName>) => Promise<void>) | undefined;
    const data = job.data as StoredJob;
    const active: ActiveJob = {
      controller: new AbortController(),
      abandoned: false,
      done: Promise.resolve(),
    };
    let finish: () => void = () => undefined;
    active.done = new Promise<void>((resolve) => (finish = resolve));
    this.#active.add(active);
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = data.timeoutMs ?? this.#options.defaultTimeoutMs;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = jobTimeoutError(timeoutMs);
        active.controller.abort(error);
        reject(new Error(error.message));
      }, timeoutMs);
    });
    try {
      if (handler === undefined) throw noHandlerError(name);
      const run = handler({
        id: job.id ?? '',
        name,
        payload: data.payload,
        attempt: Math.max(1, job.attemptsStarted),
        signal: active.controller.signal,
      });
      // A handler that ignores its signal keeps running, but its attempt is over: the job is retried or dies.
      run.catch(() => undefined);
      await Promise.race([run, timedOut]);
    } catch (error) {
      if (active.abandoned) return NEVER;
      if (!isRetryableJobError(error)) throw new UnrecoverableError(describeJobError(error));
      throw new Error(describeJobError(error));
    } finally {
      clearTimeout(timer);
      this.#active.delete(active);
      finish();
    }
    if (active.abandoned) return NEVER;
  }

  /** The outbox relay: moves committed rows to BullMQ in batches, then sleeps until woken or the poll. */
  async #relay(): Promise<void> {
    let failures = 0;
    // The loop starts from a wake(): this process has just committed rows (or started).
    let woken = true;
    while (!this.#closing) {
      let moved = 0;
      try {
        moved = await this.relayOnce({ pending: woken && failures === 0 });
        failures = 0;
      } catch (error) {
        failures++;
        this.#logger.warn(
          { err: error, failures },
          'job outbox relay failed; jobs stay in the outbox and are retried',
        );
      }
      // Back off while Redis or the database is failing (up to 5 s), so an outage is not hammered.
      const pause =
        failures === 0
          ? this.#options.pollIntervalMs
          : Math.min(5_000, this.#options.pollIntervalMs * 2 ** Math.min(failures, 10));
      // A full batch means more rows are likely waiting: go on as if woken.
      woken = moved >= RELAY_BATCH || this.#closing ? true : await this.#relaySignal.sleep(pause);
    }
  }

  /**
   * Relays up to one batch; returns how many rows moved. The rows are deleted with RETURNING in the transaction
   * that adds them to BullMQ, so a failed add rolls the deletion back; on PostgreSQL they are taken with SKIP
   * LOCKED, so relays in several processes do not add the same rows (on SQLite the write lock serialises them). If
   * one does anyway (a crash after the add, before the commit), the jobId makes BullMQ ignore the second add.
   *
   * `pending`: this process has just committed outbox rows (a wake). Otherwise (the poll) cheap checks come first:
   * nothing to relay opens no write transaction, and an unreachable Redis fails before any row is locked.
   */
  async relayOnce(options: { readonly pending?: boolean } = {}): Promise<number> {
    if (options.pending !== true) {
      const pending = await withOutbox(this.#db)
        .selectFrom('job_outbox')
        .select('id')
        .limit(1)
        .executeTakeFirst();
      if (pending === undefined) return 0;
      await this.#queue(JOB_NAMES[0] ?? 'analyze-sample').getJobCounts('waiting');
    }
    return withOutbox(this.#db)
      .transaction()
      .execute(async (trx) => {
        const rows = await trx
          .deleteFrom('job_outbox')
          .where('id', 'in', (eb) => {
            const batch = eb.selectFrom('job_outbox').select('id').orderBy('created_at').orderBy('id').limit(RELAY_BATCH);
            return this.#postgres ? batch.forUpdate().skipLocked() : batch;
          })
          .returningAll()
          .execute();
        if (rows.length === 0) return 0;
        // RETURNING follows no order; BullMQ gets the oldest first.
        rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const byName = new Map<JobName, Parameters<Queue['addBulk']>[0]>();
        for (const row of rows) {
          if (!isJobName(row.name)) {
            this.#logger.error({ id: row.id, name: row.name }, 'outbox row names an unknown job; dropped');
            continue;
          }
          const options = JSON.parse(row.options) as ResolvedOptions;
          const list = byName.get(row.name) ?? [];
          list.push({
            name: row.name,
            data: stored(JSON.parse(row.payload) as Jobs[JobName], options),
            opts: this.#jobOptions(row.id, options),
          });
          byName.set(row.name, list);
        }
        for (const [name, jobs] of byName) await this.#queue(name).addBulk(jobs);
        return rows.length;
      });
  }

}

/**
 * Redis connection options from `redis://[user:password@]host[:port][/db][?prefix=name]` (`rediss://`: TLS).
 * Throws CONFIG_INVALID.
 */
export function parseRedisUrl(url: string): { connection: ConnectionOptions; prefix: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AppError('CONFIG_INVALID', 'invalid redis:// queue URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new AppError('CONFIG_INVALID', 'a Redis queue URL starts with redis:// or rediss://');
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db))
    throw new AppError('CONFIG_INVALID', 'the Redis database in the queue URL must be a number');
  const prefix = parsed.searchParams.get('prefix') ?? 'malpipe';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix))
    throw new AppError('CONFIG_INVALID', 'the Redis key prefix must be 1-64 letters, digits, . _ or -');
  return {
    prefix,
    connection: {
      host: parsed.hostname.replace(/^\[|\]$/g, ''),
      port: parsed.port === '' ? 6379 : Number(parsed.port),
      ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
      ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
      ...(db === '' ? {} : { db: Number(db) }),
      ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  };
}

function stored(payload: Jobs[JobName], options: ResolvedOptions): StoredJob {
  return {
    payload,
    priority: options.priority,
    maxAttempts: options.maxAttempts,
    timeoutMs: options.timeoutMs,
  };
}

function bullTypes(state: JobState | undefined): readonly JobType[] {
  switch (state) {
    case 'queued':
    case 'failed':
      return ['waiting', 'prioritized', 'delayed'];
    case 'running':
      return ['active'];
    case 'completed':
      return ['completed'];
    case 'dead':
      return ['failed'];
    default:
      return ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'];
  }
}

function toState(job: Job, bullState: string): JobState {
  switch (bullState) {
    case 'active':
      return 'running';
    case 'completed':
      return 'completed';
    case 'failed':
      return 'dead';
    default:
      // waiting, prioritized, delayed: a job with a failed attempt behind it awaits its retry.
      return job.attemptsMade > 0 ? 'failed' : 'queued';
  }
}

function toRecord(job: Job, bullState: string): JobRecord {
  const data = job.data as StoredJob;
  const name = job.name as JobName;
  return {
    id: job.id ?? '',
    name,
    payload: data.payload,
    state: toState(job, bullState),
    priority: data.priority,
    attempts: job.attemptsStarted,
    maxAttempts: data.maxAttempts,
    lastError:
      job.failedReason === undefined || job.failedReason === ''
        ? null
        : job.failedReason.slice(0, MAX_ERROR_LENGTH),
    createdAt: new Date(job.timestamp).toISOString(),
    updatedAt: new Date(job.finishedOn ?? job.processedOn ?? job.timestamp).toISOString(),
  };
}

function outboxRecord(row: JobOutboxTable): JobRecord {
  const options = JSON.parse(row.options) as ResolvedOptions;
  const at = new Date(row.created_at).toISOString();
  return {
    id: row.id,
    name: row.name as JobName,
    payload: JSON.parse(row.payload) as Jobs[JobName],
    state: 'queued',
    priority: options.priority,
    attempts: 0,
    maxAttempts: options.maxAttempts,
    lastError: null,
    createdAt: at,
    updatedAt: at,
  };
}

function emptyCounts(): Record<JobName, Record<JobState, number>> {
  return Object.fromEntries(
    JOB_NAMES.map((name) => [name, Object.fromEntries(JOB_STATES.map((state) => [state, 0]))]),
  ) as Record<JobName, Record<JobState, number>>;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
