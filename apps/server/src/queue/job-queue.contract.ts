import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '@malpipe/core';
import type { JobContext, JobHandlers, JobQueue } from './job-queue.js';
import { JOB_NAMES, type JobName, type Jobs } from './jobs.js';

/** Small time values the suite runs with, so it takes seconds; an implementation maps them to its options. */
export interface JobQueueTiming {
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export interface JobQueueHarness {
  /** A new queue instance over the harness's shared backend, as another process would open it. */
  createQueue(timing: JobQueueTiming): Promise<JobQueue>;
  /** Stops `queue` as a crash would: no lease renewal, no outcome written for the jobs it was running. */
  kill(queue: JobQueue): Promise<void>;
  /** Drops the backend (database, Redis keys...). Queues are closed by the suite first. */
  cleanup(): Promise<void>;
}

const TIMING: JobQueueTiming = { leaseMs: 500, pollIntervalMs: 25, backoffBaseMs: 40, backoffMaxMs: 200 };
const JOB = 'analyze-sample' satisfies JobName;

type Handler = (job: JobContext<JobName>) => Promise<void>;

/** The same handler for every job name; the suite only enqueues `analyze-sample`. */
function handlers(handler: Handler): JobHandlers {
  return Object.fromEntries(JOB_NAMES.map((name) => [name, handler])) as unknown as JobHandlers;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * The behaviour every JobQueue implementation promises (see job-queue.ts). Each implementation's test file
 * calls it with a factory giving a fresh, empty backend:
 *
 * @example
 * jobQueueContract(SqliteJobQueue.name, async () => ({ createQueue: ..., kill: (q) => q.close(0), cleanup: ... }));
 */
export function jobQueueContract(name: string, factory: () => Promise<JobQueueHarness>): void {
  describe(`JobQueue contract: ${name}`, () => {
    let harness: JobQueueHarness;
    let queues: JobQueue[];

    async function newQueue(timing: Partial<JobQueueTiming> = {}): Promise<JobQueue> {
      const queue = await harness.createQueue({ ...TIMING, ...timing });
      queues.push(queue);
      return queue;
    }

    async function waitForState(queue: JobQueue, id: string, state: string, timeoutMs = 5_000): Promise<void> {
      await waitFor(`job ${id} to be ${state}`, async () => (await queue.get(id))?.state === state, timeoutMs);
    }

    beforeEach(async () => {
      harness = await factory();
      queues = [];
    });
    afterEach(async () => {
      for (const queue of queues) await queue.close(0);
      await harness.cleanup();
    });

    it('records an enqueued job and reports it through get, list and counts', async () => {
      const queue = await newQueue();
      const id = await queue.enqueue(JOB, { analysisId: 'a1' }, { priority: 5, maxAttempts: 4 });
      const job = await queue.get(id);
      expect(job).toMatchObject({ id, name: JOB, payload: { analysisId: 'a1' }, state: 'queued', priority: 5, attempts: 0, maxAttempts: 4, lastError: null });
      expect(Date.parse(job?.createdAt ?? '')).not.toBeNaN();
      expect((await queue.list({ state: 'queued' })).map((j) => j.id)).toEqual([id]);
      expect(await queue.list({ state: 'completed' })).toEqual([]);
      expect((await queue.counts())[JOB]).toEqual({ queued: 1, running: 0, completed: 0, failed: 0, dead: 0 });
      expect(await queue.get('00000000-0000-0000-0000-000000000000')).toBeNull();
    });

    it('refuses invalid enqueue options with VALIDATION_FAILED', async () => {
      const queue = await newQueue();
      await expect(queue.enqueue(JOB, { analysisId: 'x' }, { maxAttempts: 0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(queue.enqueue(JOB, { analysisId: 'x' }, { delayMs: -1 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(queue.enqueue('no-such-job' as JobName, { analysisId: 'x' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('runs a job once with its payload and marks it completed', async () => {
      const queue = await newQueue();
      const seen: Array<{ id: string; payload: unknown; attempt: number }> = [];
      await queue.start(handlers(async (job) => void seen.push({ id: job.id, payload: job.payload, attempt: job.attempt })), { concurrency: 1 });
      const id = await queue.enqueue(JOB, { analysisId: 'a1' });
      await waitForState(queue, id, 'completed');
      expect(seen).toEqual([{ id, payload: { analysisId: 'a1' }, attempt: 1 }]);
      expect(await queue.get(id)).toMatchObject({ attempts: 1, lastError: null });
    });

    it('runs higher priorities first, then oldest first', async () => {
      const queue = await newQueue();
      const order: string[] = [];
      for (const [label, priority] of [['low-1', 0], ['high', 10], ['low-2', 0], ['mid', 5], ['low-3', 0]] as const) {
        await queue.enqueue(JOB, { analysisId: label }, { priority });
        await sleep(2); // distinct run_at, so "oldest first" is observable
      }
      await queue.start(handlers(async (job) => void order.push((job.payload as Jobs['analyze-sample']).analysisId)), { concurrency: 1 });
      await waitFor('all five jobs', () => order.length === 5);
      expect(order).toEqual(['high', 'mid', 'low-1', 'low-2', 'low-3']);
    });

    it('does not run a delayed job before its delay', async () => {
      const queue = await newQueue();
      const ranAt: number[] = [];
      await queue.start(handlers(async () => void ranAt.push(Date.now())), { concurrency: 1 });
      const enqueuedAt = Date.now();
      const id = await queue.enqueue(JOB, { analysisId: 'later' }, { delayMs: 200 });
      await waitForState(queue, id, 'completed');
      expect(ranAt[0]! - enqueuedAt).toBeGreaterThanOrEqual(195);
    });

    it('picks a job up at once when enqueued through the same instance, without waiting for a poll', async () => {
      const queue = await newQueue({ pollIntervalMs: 10_000 });
      let ranAt = 0;
      await queue.start(handlers(async () => void (ranAt = Date.now())), { concurrency: 1 });
      await sleep(30); // let the worker reach its idle sleep
      const enqueuedAt = Date.now();
      await queue.enqueue(JOB, { analysisId: 'now' });
      await waitFor('the job to run', () => ranAt > 0, 2_000);
      expect(ranAt - enqueuedAt).toBeLessThan(2_000); // far below the 10 s poll
    });

    it('picks up a job another instance enqueued', async () => {
      const worker = await newQueue();
      const producer = await newQueue();
      const ran: string[] = [];
      await worker.start(handlers(async (job) => void ran.push(job.id)), { concurrency: 1 });
      const id = await producer.enqueue(JOB, { analysisId: 'remote' });
      await waitFor('the other instance to run the job', () => ran.includes(id), 2_000);
    });

    it('retries a failing job with growing, jittered back-off until it succeeds', async () => {
      const queue = await newQueue();
      const attempts: Array<{ attempt: number; at: number }> = [];
      await queue.start(
        handlers(async (job) => {
          attempts.push({ attempt: job.attempt, at: Date.now() });
          if (job.attempt < 3) throw new Error(`transient failure ${job.attempt}`);
        }),
        { concurrency: 1 },
      );
      const id = await queue.enqueue(JOB, { analysisId: 'flaky' }, { maxAttempts: 3 });
      await waitForState(queue, id, 'completed');
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
      // Equal jitter: attempt n waits between base*2^(n-1)/2 and base*2^(n-1).
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(TIMING.backoffBaseMs / 2 - 5);
      expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(TIMING.backoffBaseMs - 5);
      expect(await queue.get(id)).toMatchObject({ attempts: 3, state: 'completed' });
    });

    it('shows a failed attempt awaiting its retry as failed, with its error', async () => {
      const queue = await newQueue({ backoffBaseMs: 5_000, backoffMaxMs: 5_000 });
      await queue.start(
        handlers(async () => {
          throw new Error('disk on fire');
        }),
        { concurrency: 1 },
      );
      const id = await queue.enqueue(JOB, { analysisId: 'x' }, { maxAttempts: 2 });
      await waitForState(queue, id, 'failed');
      expect(await queue.get(id)).toMatchObject({ attempts: 1, lastError: expect.stringContaining('disk on fire') });
      expect((await queue.counts())[JOB].failed).toBe(1);
    });

    it('sends a job to dead after maxAttempts, and retry() brings it back', async () => {
      const queue = await newQueue();
      let healthy = false;
      const attempts: number[] = [];
      await queue.start(
        handlers(async (job) => {
          attempts.push(job.attempt);
          if (!healthy) throw new Error('always fails');
        }),
        { concurrency: 1 },
      );
      const id = await queue.enqueue(JOB, { analysisId: 'doomed' }, { maxAttempts: 2 });
      await waitForState(queue, id, 'dead');
      expect(attempts).toEqual([1, 2]);
      expect(await queue.get(id)).toMatchObject({ attempts: 2, lastError: expect.stringContaining('always fails') });
      expect((await queue.list({ state: 'dead' })).map((j) => j.id)).toEqual([id]);

      healthy = true;
      await queue.retry(id);
      await waitForState(queue, id, 'completed');
      expect(attempts).toEqual([1, 2, 1]);
    });

    it('sends a job to dead at once when its handler throws a non-retryable AppError', async () => {
      const queue = await newQueue();
      let calls = 0;
      await queue.start(
        handlers(async () => {
          calls++;
          throw new AppError('MALFORMED_INPUT', 'corrupt upload');
        }),
        { concurrency: 1 },
      );
      const id = await queue.enqueue(JOB, { analysisId: 'corrupt' }, { maxAttempts: 5 });
      await waitForState(queue, id, 'dead');
      await sleep(3 * TIMING.backoffBaseMs);
      expect(calls).toBe(1);
      expect(await queue.get(id)).toMatchObject({ attempts: 1, lastError: expect.stringContaining('MALFORMED_INPUT') });
    });

    it('retries a retryable AppError', async () => {
      const queue = await newQueue();
      const attempts: number[] = [];
      await queue.start(
        handlers(async (job) => {
          attempts.push(job.attempt);
          if (job.attempt === 1) throw new AppError('STORAGE_FAILED', 'S3 timeout');
        }),
        { concurrency: 1 },
      );
      const id = await queue.enqueue(JOB, { analysisId: 'x' });
      await waitForState(queue, id, 'completed');
      expect(attempts).toEqual([1, 2]);
    });

    it('aborts a handler past its timeout and retries the job', async () => {
      const queue = await newQueue();
      const aborted: boolean[] = [];
      await queue.start(
        handlers(async (job) => {
          if (job.attempt > 1) return;
          await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve(), { once: true }));
          aborted.push(job.signal.aborted);
          throw new Error('gave up');
        }),
        { concurrency: 1 },
      );
      const startedAt = Date.now();
      const id = await queue.enqueue(JOB, { analysisId: 'slow' }, { timeoutMs: 80, maxAttempts: 2 });
      await waitForState(queue, id, 'completed');
      expect(aborted).toEqual([true]);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(80);
      expect(await queue.get(id)).toMatchObject({ attempts: 2 });
    });

    it('sends a job that times out on every attempt to dead, even when its handler ignores the signal', async () => {
      const queue = await newQueue();
      await queue.start(handlers(() => sleep(150)), { concurrency: 2 });
      const id = await queue.enqueue(JOB, { analysisId: 'stuck' }, { timeoutMs: 30, maxAttempts: 2 });
      await waitForState(queue, id, 'dead');
      expect(await queue.get(id)).toMatchObject({ attempts: 2, lastError: expect.stringContaining('timed out') });
    });

    it('never runs more jobs of a name at once than its concurrency', async () => {
      const queue = await newQueue();
      let running = 0;
      let peak = 0;
      let done = 0;
      await queue.start(
        handlers(async () => {
          running++;
          peak = Math.max(peak, running);
          // Hold the slot until three run together (or no more can come), so a slow claim cannot hide a limit.
          const until = Date.now() + 2_000;
          while (running < 3 && done + running < 12 && Date.now() < until) await sleep(5);
          await sleep(10);
          running--;
          done++;
        }),
        { concurrency: { [JOB]: 3 } },
      );
      await Promise.all(Array.from({ length: 12 }, (_, i) => queue.enqueue(JOB, { analysisId: `c${i}` })));
      await waitFor('12 jobs', () => done === 12);
      expect(peak).toBe(3);
    });

    it.skipIf(JOB_NAMES.length < 2)('counts concurrency per job name: a name at its limit does not hold back another', async () => {
      const other = JOB_NAMES.find((n) => n !== JOB)!;
      const queue = await newQueue();
      const started: string[] = [];
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      await queue.start(
        handlers(async (job) => {
          started.push(job.name);
          if (job.name === JOB) await gate;
        }),
        { concurrency: 1 },
      );
      await queue.enqueue(JOB, { analysisId: 'busy-1' });
      await queue.enqueue(JOB, { analysisId: 'busy-2' });
      await waitFor(`the first ${JOB} job`, () => started.length === 1);
      // The payload's shape is the handler's business; this handler ignores it.
      const otherId = await queue.enqueue(other, {} as never);
      await waitForState(queue, otherId, 'completed');
      expect(started).toEqual([JOB, other]);
      release();
      await waitFor(`the second ${JOB} job`, () => started.length === 3);
    });

    it('re-runs a job whose worker died once its lease expires', async () => {
      const doomed = await newQueue();
      let startedOnDoomed = false;
      await doomed.start(
        handlers(async () => {
          startedOnDoomed = true;
          await new Promise(() => undefined); // hangs like a wedged process
        }),
        { concurrency: 1 },
      );
      const id = await doomed.enqueue(JOB, { analysisId: 'orphan' });
      await waitFor('the doomed worker to take the job', () => startedOnDoomed);
      await harness.kill(doomed);
      const diedAt = Date.now();

      const survivor = await newQueue();
      const attempts: number[] = [];
      await survivor.start(handlers(async (job) => void attempts.push(job.attempt)), { concurrency: 1 });
      await waitForState(survivor, id, 'completed');
      expect(attempts).toEqual([2]);
      // Not before the lease ran out (it was taken at most one renewal period before the kill).
      expect(Date.now() - diedAt).toBeGreaterThanOrEqual(TIMING.leaseMs / 2);
    });

    it('keeps a long job leased while its handler runs, so no other worker takes it', async () => {
      const a = await newQueue();
      const b = await newQueue();
      let runs = 0;
      const slow = handlers(async () => {
        runs++;
        await sleep(TIMING.leaseMs * 3);
      });
      await a.start(slow, { concurrency: 1 });
      const id = await a.enqueue(JOB, { analysisId: 'long' });
      await waitFor('the job to start', () => runs === 1);
      await b.start(slow, { concurrency: 1 });
      await waitForState(a, id, 'completed', 10_000);
      expect(runs).toBe(1);
    });

    it('loses no job across 200 concurrent enqueues consumed by two instances', async () => {
      const producer = await newQueue();
      const workers = [await newQueue(), await newQueue()];
      const handled = new Map<string, number>();
      const handler = handlers(async (job) => {
        handled.set(job.id, (handled.get(job.id) ?? 0) + 1);
        await sleep(1);
      });
      for (const worker of workers) await worker.start(handler, { concurrency: 4 });
      const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => producer.enqueue(JOB, { analysisId: `bulk-${i}` }, { priority: i % 3 })));
      expect(new Set(ids).size).toBe(200);
      await waitFor('200 completed jobs', async () => (await producer.counts())[JOB].completed === 200, 20_000);
      expect(ids.every((id) => (handled.get(id) ?? 0) >= 1)).toBe(true);
      expect((await producer.counts())[JOB]).toEqual({ queued: 0, running: 0, completed: 200, failed: 0, dead: 0 });
    });

    it('close() waits for running handlers and stops taking new jobs', async () => {
      const queue = await newQueue();
      let finished = 0;
      let started = 0;
      await queue.start(
        handlers(async () => {
          started++;
          await sleep(100);
          finished++;
        }),
        { concurrency: 1 },
      );
      const first = await queue.enqueue(JOB, { analysisId: 'in-flight' });
      await waitFor('the job to start', () => started === 1);
      const second = await queue.enqueue(JOB, { analysisId: 'waiting' });
      await queue.close(5_000);
      expect(finished).toBe(1);
      expect(await queue.get(first)).toMatchObject({ state: 'completed' });
      expect(await queue.get(second)).toMatchObject({ state: 'queued' });
      await sleep(3 * TIMING.pollIntervalMs);
      expect(started).toBe(1);
    });

    it('close() gives up after its grace period and aborts the handler', async () => {
      const queue = await newQueue();
      let signal: AbortSignal | undefined;
      await queue.start(
        handlers(async (job) => {
          signal = job.signal;
          await new Promise(() => undefined);
        }),
        { concurrency: 1 },
      );
      await queue.enqueue(JOB, { analysisId: 'hung' });
      await waitFor('the job to start', () => signal !== undefined);
      const closingAt = Date.now();
      await queue.close(50);
      expect(Date.now() - closingAt).toBeLessThan(3_000);
      expect(signal?.aborted).toBe(true);
    });

    it('retry() refuses unknown and unfinished jobs', async () => {
      const queue = await newQueue();
      await expect(queue.retry('00000000-0000-0000-0000-000000000000')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
      const id = await queue.enqueue(JOB, { analysisId: 'x' });
      await expect(queue.retry(id)).rejects.toMatchObject({ code: 'CONFLICT' });
    });
  });
}
