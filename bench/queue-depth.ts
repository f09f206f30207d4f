/**
 * Queue-depth benchmark: does the job queue slow down or bloat as its backlog grows?
 * For BullMQ (a private redis-server, no persistence) at 10k, 100k and 1M pending `analyze-sample` jobs, and
 * for the embedded SQLite queue at 10k, 100k (and 1M when the fill rate keeps it within a few minutes):
 *  - fill: `addBulk` in batches of 200 with the options BullmqJobQueue gives a job (what its outbox relay
 *    does); on SQLite, the adapter's `transaction(enqueue)` in batches of 1,000;
 *  - memory per job: Redis `used_memory` (or SQLite pages) over the empty queue, divided by the depth;
 *  - enqueue rate: a fixed sample through the adapter's own `enqueue()` (one job per call, 16 in flight);
 *  - dequeue rate: the same number of jobs taken by the adapter's worker (`start()`, no-op handlers);
 *  best of 3 rounds each, since other load on a shared machine only slows a round down, after one discarded
 *  warm-up round on the empty queue.
 * Run: `node apps/cli/bin/run-ts.js bench/queue-depth.ts [--max 1000000] [--sample 5000] [--rounds 3] [--concurrency 16]
 *      [--sqlite-max 1000000] [--skip-bullmq] [--skip-sqlite]`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { createDatabase } from '../apps/server/src/database/create-database.js';
import type { Database } from '../apps/server/src/database/database.js';
import { BullmqJobQueue, parseRedisUrl, toBullPriority } from '../apps/server/src/queue/bullmq-job-queue.js';
import { createJobQueue } from '../apps/server/src/queue/create-job-queue.js';
import type { JobHandlers, TransactionalJobQueue } from '../apps/server/src/queue/job-queue.js';
import { withIdleHandlers } from '../apps/server/src/queue/with-idle-handlers.js';

export interface QueueDepthBenchOptions {
  /** Deepest backlog measured; depths are 10k, 100k, 1M up to this. Default 1,000,000. */
  readonly max?: number;
  /** Deepest SQLite backlog (still capped by `max`); 1M is skipped when the 100k fill projects past 3 min. */
  readonly sqliteMax?: number;
  /** Jobs enqueued and dequeued at each depth. Default 5,000. */
  readonly sample?: number;
  /** Enqueue/dequeue rounds at each depth; the best is reported. Default 3. */
  readonly rounds?: number;
  /** Enqueue calls in flight and worker concurrency. Default 16. */
  readonly concurrency?: number;
  readonly skipBullmq?: boolean;
  readonly skipSqlite?: boolean;
  readonly log?: (line: string) => void;
}

export interface DepthFigure {
  readonly backend: 'bullmq' | 'sqlite';
  readonly depth: number;
  /** Jobs/s of the fill from the previous depth to this one (bulk path). */
  readonly fillRate: number;
  /** Redis used_memory (BullMQ) or database pages (SQLite) per pending job. */
  readonly bytesPerJob: number;
  /** Jobs/s through the adapter's enqueue(), at this depth. */
  readonly enqueueRate: number;
  /** Jobs/s through the adapter's worker, at this depth. */
  readonly dequeueRate: number;
}

export interface QueueDepthBenchResult {
  readonly figures: readonly DepthFigure[];
}

const STANDARD_DEPTHS = [10_000, 100_000, 1_000_000];
const quiet = { warn: () => undefined, error: () => undefined };
/** What the outbox relay sends per addBulk (RELAY_BATCH in bullmq-job-queue.ts). */
const BULL_BATCH = 200;
const SQLITE_BATCH = 1_000;
/** The SQLite 1M step runs only if the 100k fill projects it under this. */
const SQLITE_1M_BUDGET_MS = 180_000;

export function depthsUpTo(max: number): number[] {
  const depths = STANDARD_DEPTHS.filter((d) => d <= max);
  return depths.length === 0 ? [max] : depths;
}

export interface BenchRedis {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** A private redis-server on a free loopback port, without persistence: nothing shared is touched. */
export async function startBenchRedis(): Promise<BenchRedis> {
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server is not installed');
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
  const dir = await mkdtemp(join(tmpdir(), 'malpipe-bench-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A crashed bench must not leave a redis-server behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server on port ${port} did not start`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
  return {
    url,
    pid: child.pid ?? 0,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `work(i)` for i in [0, count) with `limit` in flight. */
async function pool(count: number, limit: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** Starts `queue`'s worker with a no-op analyze-sample handler; resolves with jobs/s once `sample` jobs ran. */
async function dequeueRate(queue: TransactionalJobQueue, sample: number, concurrency: number): Promise<number> {
  let seen = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const handlers: JobHandlers = withIdleHandlers({
    'analyze-sample': async () => {
      if (++seen === sample) done();
    },
  });
  await queue.start(handlers, { concurrency: { 'analyze-sample': concurrency } });
  // Timed from a ready worker: connection set-up is not the queue's depth cost.
  const started = performance.now();
  await finished;
  const ms = performance.now() - started;
  await queue.close(10_000);
  return (sample / ms) * 1000;
}

async function enqueueRate(queue: TransactionalJobQueue, sample: number, concurrency: number): Promise<number> {
  const started = performance.now();
  await pool(sample, concurrency, () => queue.enqueue('analyze-sample', { analysisId: randomUUID() }));
  return (sample / (performance.now() - started)) * 1000;
}

type Settings = Required<Pick<QueueDepthBenchOptions, 'sample' | 'concurrency' | 'rounds'>>;

/**
 * `rounds` times: enqueue `sample` jobs, then dequeue as many, then delete the completed ones (so the depth
 * stays put and completed jobs never count as backlog). The best round of each is kept: other load on a shared
 * machine only ever slows a round down.
 */
type QueueUnderTest = TransactionalJobQueue & { cleanCompleted(ms: number): Promise<number> };

async function rounds(
  options: Settings,
  adapter: () => QueueUnderTest | Promise<QueueUnderTest>,
): Promise<{ enq: number; deq: number }> {
  let enq = 0;
  let deq = 0;
  for (let r = 0; r < options.rounds; r++) {
    const queue = await adapter();
    enq = Math.max(enq, await enqueueRate(queue, options.sample, options.concurrency));
    await queue.close();
    deq = Math.max(deq, await dequeueRate(await adapter(), options.sample, options.concurrency));
    const cleaner = await adapter();
    await cleaner.cleanCompleted(-60_000); // every completed job, however fresh
    await cleaner.close();
  }
  return { enq, deq };
}

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
}

async function benchBullmq(options: Settings, depths: readonly number[], log: (line: string) => void): Promise<DepthFigure[]> {
  const redis = await startBenchRedis();
  const prefix = 'bench';
  const url = `${redis.url}?prefix=${prefix}`;
  // The outbox is not used (jobs go straight to Redis) but the adapter needs a database to hold it.
  const db = await createDatabase('sqlite::memory:');
  const client = new Redis(redis.url);
  const producer = new Queue('analyze-sample', { connection: parseRedisUrl(url).connection, prefix });
  // The options BullmqJobQueue#jobOptions gives a priority-0 job with the default attempts and retention.
  const jobOptions = (jobId: string): JobsOptions => ({
    jobId,
    priority: toBullPriority(0),
    attempts: 3,
    backoff: { type: 'malpipe' },
    removeOnComplete: { age: 3_600, count: 100_000 },
    removeOnFail: { age: 30 * 24 * 3_600 },
  });
  const adapter = (): BullmqJobQueue => new BullmqJobQueue({ url, db, prefix, logger: quiet });
  const figures: DepthFigure[] = [];
  try {
    await producer.waitUntilReady();
    await rounds({ ...options, rounds: 1 }, adapter); // warm-up (JIT, connections), discarded
    const baseline = await usedMemory(client);
    let depth = 0;
    for (const target of depths) {
      const fillStarted = performance.now();
      const batches = Math.ceil((target - depth) / BULL_BATCH);
      const from = depth;
      await pool(batches, 4, async (b) => {
        const size = Math.min(BULL_BATCH, target - from - b * BULL_BATCH);
        await producer.addBulk(
          Array.from({ length: size }, () => {
            const id = randomUUID();
            return {
              name: 'analyze-sample',
              data: { payload: { analysisId: randomUUID() }, priority: 0, maxAttempts: 3, timeoutMs: 600_000 },
              opts: jobOptions(id),
            };
          }),
        );
      });
      const fillRate = ((target - depth) / (performance.now() - fillStarted)) * 1000;
      depth = target;
      const bytesPerJob = ((await usedMemory(client)) - baseline) / depth;
      const { enq, deq } = await rounds(options, adapter);
      const left = (await producer.getJobCounts('prioritized', 'waiting')) as Record<string, number>;
      depth = (left.prioritized ?? 0) + (left.waiting ?? 0);
      const figure: DepthFigure = { backend: 'bullmq', depth: target, fillRate, bytesPerJob, enqueueRate: enq, dequeueRate: deq };
      figures.push(figure);
      log(`bullmq ${target}: fill ${fillRate.toFixed(0)}/s, ${bytesPerJob.toFixed(0)} B/job, enqueue ${enq.toFixed(0)}/s, dequeue ${deq.toFixed(0)}/s`);
    }
    return figures;
  } finally {
    await producer.close();
    client.disconnect();
    await db.destroy();
    await redis.stop();
  }
}

async function sqliteBytes(db: Database): Promise<number> {
  const pages = await sql<{ n: number }>`select (page_count - freelist_count) * page_size as n from pragma_page_count(), pragma_freelist_count(), pragma_page_size()`.execute(db);
  return Number(pages.rows[0]?.n ?? 0);
}

async function benchSqlite(options: Settings, depths: readonly number[], log: (line: string) => void): Promise<DepthFigure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'malpipe-bench-sqlite-queue-'));
  const db = await createDatabase(`sqlite:${join(dir, 'malpipe.db')}`);
  const adapter = (): Promise<TransactionalJobQueue & { cleanCompleted(ms: number): Promise<number> }> =>
    createJobQueue('sqlite:', db, { logger: quiet, maxWaiting: Number.MAX_SAFE_INTEGER });
  const figures: DepthFigure[] = [];
  try {
    await rounds({ ...options, rounds: 1 }, adapter); // warm-up (JIT, page cache), discarded
    const baseline = await sqliteBytes(db);
    let depth = 0;
    let lastFillRate = 0;
    for (const target of depths) {
      if (target >= 1_000_000 && lastFillRate > 0 && ((target - depth) / lastFillRate) * 1000 > SQLITE_1M_BUDGET_MS) {
        log(`sqlite ${target}: skipped (the fill alone would take ${((target - depth) / lastFillRate).toFixed(0)} s)`);
        break;
      }
      const filler = await adapter();
      const fillStarted = performance.now();
      for (let done = depth; done < target; done += SQLITE_BATCH) {
        const size = Math.min(SQLITE_BATCH, target - done);
        await filler.transaction(async (_trx, enqueue) => {
          for (let i = 0; i < size; i++) await enqueue('analyze-sample', { analysisId: randomUUID() });
        });
      }
      const fillRate = ((target - depth) / (performance.now() - fillStarted)) * 1000;
      lastFillRate = fillRate;
      await filler.close();
      depth = target;
      const bytesPerJob = ((await sqliteBytes(db)) - baseline) / depth;
      const { enq, deq } = await rounds(options, adapter);
      const left = await db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
      depth = Number(left?.n ?? 0);
      const figure: DepthFigure = { backend: 'sqlite', depth: target, fillRate, bytesPerJob, enqueueRate: enq, dequeueRate: deq };
      figures.push(figure);
      log(`sqlite ${target}: fill ${fillRate.toFixed(0)}/s, ${bytesPerJob.toFixed(0)} B/job, enqueue ${enq.toFixed(0)}/s, dequeue ${deq.toFixed(0)}/s`);
    }
    return figures;
  } finally {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

function table(figures: readonly DepthFigure[], log: (line: string) => void): void {
  log('| queue | depth | fill jobs/s (bulk) | bytes/job | enqueue jobs/s | dequeue jobs/s |');
  log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const f of figures)
    log(`| ${f.backend} | ${f.depth.toLocaleString('en')} | ${f.fillRate.toFixed(0)} | ${f.bytesPerJob.toFixed(0)} | ${f.enqueueRate.toFixed(0)} | ${f.dequeueRate.toFixed(0)} |`);
  for (const backend of ['bullmq', 'sqlite'] as const) {
    const mine = figures.filter((f) => f.backend === backend);
    const first = mine[0];
    const last = mine[mine.length - 1];
    if (first === undefined || last === undefined || first === last) continue;
    const pct = (a: number, b: number): string => `${(((b - a) / a) * 100).toFixed(0)}%`;
    log(
      `${backend} ${first.depth.toLocaleString('en')} -> ${last.depth.toLocaleString('en')}: enqueue ${pct(first.enqueueRate, last.enqueueRate)}, ` +
        `dequeue ${pct(first.dequeueRate, last.dequeueRate)}, bytes/job ${pct(first.bytesPerJob, last.bytesPerJob)} (goal: rates within -20%)`,
    );
  }
}

export async function runQueueDepthBench(options: QueueDepthBenchOptions = {}): Promise<QueueDepthBenchResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const max = options.max ?? 1_000_000;
  const settings: Settings = { sample: options.sample ?? 5_000, concurrency: options.concurrency ?? 16, rounds: options.rounds ?? 3 };
  log(`best of ${settings.rounds} rounds of ${settings.sample} jobs per depth, ${settings.concurrency} enqueue calls in flight / worker concurrency`);
  const figures: DepthFigure[] = [];
  if (options.skipBullmq !== true) figures.push(...(await benchBullmq(settings, depthsUpTo(max), log)));
  if (options.skipSqlite !== true) figures.push(...(await benchSqlite(settings, depthsUpTo(Math.min(max, options.sqliteMax ?? max)), log)));
  table(figures, log);
  return { figures };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const value = (flag: string): number | undefined => {
    const index = args.indexOf(flag);
    return index >= 0 && args[index + 1] !== undefined ? Number(args[index + 1]) : undefined;
  };
  const max = value('--max');
  const sqliteMax = value('--sqlite-max');
  const sample = value('--sample');
  const concurrency = value('--concurrency');
  const rounds = value('--rounds');
  await runQueueDepthBench({
    ...(max === undefined ? {} : { max }),
    ...(sqliteMax === undefined ? {} : { sqliteMax }),
    ...(sample === undefined ? {} : { sample }),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(rounds === undefined ? {} : { rounds }),
    skipBullmq: args.includes('--skip-bullmq'),
    skipSqlite: args.includes('--skip-sqlite'),
  });
}
