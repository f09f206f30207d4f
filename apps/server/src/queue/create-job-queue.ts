import type { Kysely, Transaction } from 'kysely';
import { AppError, type JobState } from '@malpipe/core';
import type { AnalysisJobStates } from '../analyses/recover-analyses.js';
import type { Database } from '../database/database.js';
import type { Schema } from '../database/schema.js';
import type { BullmqJobQueue } from './bullmq-job-queue.js';
import type {
  EnqueueOptions,
  JobContext,
  JobHandlers,
  JobRecord,
  TransactionEnqueue,
  TransactionalJobQueue,
  WorkerOptions,
} from './job-queue.js';
import { KEEP_COMPLETED_MS } from './job-queue-policy.js';
import { JOB_NAMES, type JobName, type Jobs } from './jobs.js';
import { JobMetrics } from './queue-metrics.js';
import { SqliteJobQueue, type SqliteJobQueueOptions } from './sqlite-job-queue.js';

export interface CreateJobQueueOptions extends SqliteJobQueueOptions {
  /** Back-pressure: `assertRoom` refuses new work of a type with more waiting jobs than this. Default 100,000. */
  readonly maxWaiting?: number;
  /** Suggested client wait when the queue is full. Default 30 s. */
  readonly retryAfterMs?: number;
  /** Completed jobs are deleted after this long. Default 1 h. */
  readonly keepCompletedMs?: number;
  /** How often workers delete old completed jobs. Default 5 min. */
  readonly housekeepingIntervalMs?: number;
  /** Redis key prefix (redis:// URLs); default the URL's `prefix` parameter or `malpipe`. */
  readonly redisPrefix?: string;
}

/**
 * A TransactionalJobQueue plus what operating one needs, whichever backend it runs on: back-pressure,
 * completed-job cleanup, metrics, and the job states the start-up recovery sweep reads.
 */
export interface ManagedJobQueue extends TransactionalJobQueue {
  readonly backend: 'sqlite' | 'bullmq';
  readonly metrics: JobMetrics;
  /** Jobs of `name` not yet started (queued, or waiting out a back-off). */
  waitingCount(name: JobName): Promise<number>;
  /** Throws QUEUE_FULL (429, `retryAfterMs` in details) when `name` has more waiting jobs than the bound. */
  assertRoom(name: JobName): Promise<void>;
  /** Deletes completed jobs older than `olderThanMs`; returns how many. */
  cleanCompleted(olderThanMs: number): Promise<number>;
  analysisJobStates(analysisIds: readonly string[]): Promise<AnalysisJobStates>;
  /** The Prometheus text of /metrics. */
  renderMetrics(role: string): Promise<string>;
}

/**
 * Builds the JobQueue named by `url`: `sqlite:` (the embedded queue in `db`'s `jobs` table, SQLite or
 * PostgreSQL) or `redis://...` / `rediss://...` (BullMQ, with a transactional outbox in `db`). Throws
 * CONFIG_INVALID for anything else.
 */
export async function createJobQueue(
  url: string,
  db: Database,
  options: CreateJobQueueOptions = {},
): Promise<ManagedJobQueue> {
  if (url === 'sqlite:' || url === 'sqlite://')
    return new ManagedQueue(new SqliteJobQueue(db, options), 'sqlite', options);
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    // Loaded only when configured: the embedded path starts without BullMQ and ioredis.
    const { BullmqJobQueue } = await import('./bullmq-job-queue.js');
    const inner = new BullmqJobQueue({
      url,
      db,
      ...pick(options, [
        'leaseMs',
        'pollIntervalMs',
        'backoffBaseMs',
        'backoffMaxMs',
        'defaultMaxAttempts',
        'defaultTimeoutMs',
        'keepCompletedMs',
        'logger',
      ]),
      ...(options.redisPrefix === undefined ? {} : { prefix: options.redisPrefix }),
    });
    return new ManagedQueue(inner, 'bullmq', options);
  }
  throw new AppError(
    'CONFIG_INVALID',
    `unsupported job queue URL "${url.replace(/\/\/[^@/]*@/, '//***@')}" (expected sqlite: or redis://)`,
  );
}

const WAITING_CACHE_MS = 1_000;
const COUNT_TIMEOUT_MS = 500;

class ManagedQueue implements ManagedJobQueue {
  readonly backend: 'sqlite' | 'bullmq';
  readonly metrics = new JobMetrics();
  readonly #inner: SqliteJobQueue | BullmqJobQueue;
  readonly #maxWaiting: number;
  readonly #retryAfterMs: number;
  readonly #keepCompletedMs: number;
  readonly #housekeepingMs: number;
  readonly #waiting = new Map<JobName, { count: number; at: number }>();
  #housekeeper: NodeJS.Timeout | undefined;

  constructor(inner: SqliteJobQueue | BullmqJobQueue, backend: 'sqlite' | 'bullmq', options: CreateJobQueueOptions) {
    this.#inner = inner;
    this.backend = backend;
    this.#maxWaiting = options.maxWaiting ?? 100_000;
    this.#retryAfterMs = options.retryAfterMs ?? 30_000;
    this.#keepCompletedMs = options.keepCompletedMs ?? KEEP_COMPLETED_MS;
    this.#housekeepingMs = options.housekeepingIntervalMs ?? 5 * 60_000;
  }

  enqueue<N extends JobName>(name: N, payload: Jobs[N], options?: EnqueueOptions): Promise<string> {
    return this.#inner.enqueue(name, payload, options);
  }
  enqueueInTransaction<N extends JobName>(
    trx: Kysely<Schema>,
    name: N,
    payload: Jobs[N],
    options?: EnqueueOptions,
  ): Promise<string> {
    return this.#inner.enqueueInTransaction(trx, name, payload, options);
  }
  transaction<T>(work: (trx: Transaction<Schema>, enqueue: TransactionEnqueue) => Promise<T>): Promise<T> {
    return this.#inner.transaction(work);
  }
  wake(): void {
    this.#inner.wake();
  }
  get(id: string): Promise<JobRecord | null> {
    return this.#inner.get(id);
  }
  list(filter: {
    readonly state?: JobState;
    readonly name?: JobName;
    readonly limit?: number;
  }): Promise<readonly JobRecord[]> {
    return this.#inner.list(filter);
  }
  retry(id: string): Promise<void> {
    return this.#inner.retry(id);
  }
  counts(): Promise<Readonly<Record<JobName, Readonly<Record<JobState, number>>>>> {
    return this.#inner.counts();
  }

  /** Starts the workers with every handler timed into the metrics, and the completed-job cleanup. */
  async start(handlers: JobHandlers, options: WorkerOptions): Promise<void> {
    const timed = Object.fromEntries(
      JOB_NAMES.filter((name) => typeof handlers[name] === 'function').map((name) => {
        const handler = handlers[name] as (job: JobContext<JobName>) => Promise<void>;
        return [
          name,
          async (job: JobContext<JobName>) => {
            const started = performance.now();
            let ok = false;
            try {
              await handler(job);
              ok = true;
            } finally {
              this.metrics.observe(name, (performance.now() - started) / 1000, ok);
            }
          },
        ];
      }),
    ) as unknown as JobHandlers;
    await this.#inner.start(timed, options);
    this.#housekeeper = setInterval(
      () => void this.cleanCompleted(this.#keepCompletedMs).catch(() => undefined),
      this.#housekeepingMs,
    );
    this.#housekeeper.unref();
  }

  async close(graceMs?: number): Promise<void> {
    clearInterval(this.#housekeeper);
    await this.#inner.close(graceMs);
  }

  waitingCount(name: JobName): Promise<number> {
    return this.#inner.waitingCount(name);
  }

  async assertRoom(name: JobName): Promise<void> {
    const now = Date.now();
    let cached = this.#waiting.get(name);
    // A count per submission would cost a query each; a second-old count is close enough for a bound.
    if (cached === undefined || now - cached.at > WAITING_CACHE_MS) {
      // Fail open on a slow or unreachable backend (Redis restarting): submissions wait in the outbox, and the
      // last known count still applies. Refusing every upload because a counter is unavailable helps nobody.
      let timer: NodeJS.Timeout | undefined;
      const fresh = await Promise.race([
        this.waitingCount(name).catch(() => null),
        new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), COUNT_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      cached = { count: fresh ?? cached?.count ?? 0, at: now };
      this.#waiting.set(name, cached);
    }
    if (cached.count >= this.#maxWaiting) {
      this.metrics.rejected(name);
      throw new AppError(
        'QUEUE_FULL',
        `the ${name} queue holds ${cached.count} waiting jobs (limit ${this.#maxWaiting}); retry later`,
        {
          details: {
            type: name,
            waiting: cached.count,
            limit: this.#maxWaiting,
            retryAfterMs: this.#retryAfterMs,
          },
        },
      );
    }
    cached.count += 1;
  }

  cleanCompleted(olderThanMs: number): Promise<number> {
    return this.#inner.cleanCompleted(olderThanMs);
  }

  analysisJobStates(analysisIds: readonly string[]): Promise<AnalysisJobStates> {
    return this.#inner.analysisJobStates(analysisIds);
  }

  async renderMetrics(role: string): Promise<string> {
    const depth = await this.counts().catch(() => null);
    return this.metrics.render(depth, { backend: this.backend, role });
  }
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}
