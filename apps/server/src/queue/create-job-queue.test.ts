import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../database/create-database.js';
import type { Database } from '../database/database.js';
import { createJobQueue, type CreateJobQueueOptions, type ManagedJobQueue } from './create-job-queue.js';
import type { JobHandlers } from './job-queue.js';
import { JOB_NAMES } from './jobs.js';
import { checkRedis, deleteRedisPrefix, uniqueRedisPrefix } from './redis-test-server.js';

const quiet = { warn: () => undefined, error: () => undefined };
const redis = await checkRedis();

function withNoops(some: Partial<JobHandlers>): JobHandlers {
  return {
    ...Object.fromEntries(JOB_NAMES.map((name) => [name, async () => undefined])),
    ...some,
  } as JobHandlers;
}

async function waitFor(predicate: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const BACKENDS: ReadonlyArray<{ readonly name: string; readonly url: string | null }> = [
  { name: 'sqlite', url: 'sqlite:' },
  { name: 'bullmq', url: redis.available ? redis.url : null },
];

for (const backend of BACKENDS) {
  const describeIf = backend.url === null ? describe.skip : describe;
  describeIf(
    `ManagedJobQueue on ${backend.name}${backend.url === null && !redis.available ? ` (skipped: ${redis.reason})` : ''}`,
    () => {
      let db: Database | undefined;
      let queue: ManagedJobQueue | undefined;
      let prefix = '';

      async function open(options: CreateJobQueueOptions): Promise<ManagedJobQueue> {
        db = await createDatabase('sqlite::memory:');
        prefix = uniqueRedisPrefix();
        queue = await createJobQueue(backend.url ?? '', db, {
          leaseMs: 1_000,
          pollIntervalMs: 20,
          logger: quiet,
          redisPrefix: prefix,
          ...options,
        });
        expect(queue.backend).toBe(backend.name);
        return queue;
      }
      afterEach(async () => {
        await queue?.close(0);
        await db?.destroy();
        if (backend.name === 'bullmq' && redis.available) await deleteRedisPrefix(redis.url, prefix);
      });

      it('refuses work past the waiting bound with QUEUE_FULL and a retry-after hint, transactional enqueues included', async () => {
        const q = await open({ maxWaiting: 3, retryAfterMs: 7_000 });
        await q.assertRoom('analyze-sample');
        await q.enqueue('analyze-sample', { analysisId: 'a' });
        await q.transaction(async (trx) =>
          q.enqueueInTransaction(trx, 'analyze-sample', { analysisId: 'b' }),
        );
        await q.enqueue('analyze-sample', { analysisId: 'c' });
        await new Promise((resolve) => setTimeout(resolve, 200)); // let the outbox relay settle (BullMQ)
        expect(await q.waitingCount('analyze-sample')).toBe(3);
        await new Promise((resolve) => setTimeout(resolve, 1_050)); // past the cached count
        await expect(q.assertRoom('analyze-sample')).rejects.toMatchObject({
          code: 'QUEUE_FULL',
          status: 429,
          details: { waiting: 3, limit: 3, retryAfterMs: 7_000 },
        });
        expect(await q.renderMetrics('api')).toContain(
          'malpipe_jobs_rejected_total{type="analyze-sample"} 1',
        );
      });

      it('counts, times and cleans completed jobs, and renders them as Prometheus text', async () => {
        const q = await open({});
        await q.start(
          withNoops({ 'analyze-sample': async () => new Promise((resolve) => setTimeout(resolve, 20)) }),
          { concurrency: 2 },
        );
        const ids = await Promise.all([
          q.enqueue('analyze-sample', { analysisId: 'x' }),
          q.enqueue('analyze-sample', { analysisId: 'y' }),
        ]);
        await waitFor(async () => (await q.counts())['analyze-sample'].completed === 2);
        const text = await q.renderMetrics('worker');
        expect(text).toContain(`malpipe_info{queue_backend="${backend.name}",role="worker"} 1`);
        expect(text).toContain('malpipe_queue_jobs{type="analyze-sample",state="completed"} 2');
        expect(text).toContain('malpipe_jobs_completed_total{type="analyze-sample"} 2');
        expect(text).toContain('malpipe_job_duration_seconds_count{type="analyze-sample"} 2');
        expect(text).toMatch(
          /malpipe_job_duration_seconds_bucket\{type="analyze-sample",le="0.05"\} [0-2]\n/,
        );
        expect(text).toContain('malpipe_job_duration_seconds_bucket{type="analyze-sample",le="+Inf"} 2');
        expect(await q.cleanCompleted(60_000)).toBe(0); // younger than a minute: kept
        await new Promise((resolve) => setTimeout(resolve, 1_100)); // BullMQ ages by whole timestamps
        expect(await q.cleanCompleted(1)).toBe(2);
        expect((await q.counts())['analyze-sample'].completed).toBe(0);
        for (const id of ids) expect(await q.get(id)).toBeNull();
      });
    },
  );
}

describe(createJobQueue.name, () => {
  it('refuses an unknown queue URL with CONFIG_INVALID', async () => {
    const db = await createDatabase('sqlite::memory:');
    try {
      await expect(createJobQueue('amqp://broker', db)).rejects.toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }),
      );
    } finally {
      await db.destroy();
    }
  });
});
