import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresTestDatabase } from '../src/database/postgres-test-database.js';
import { parseRedisUrl } from '../src/queue/bullmq-job-queue.js';
import {
  checkRedis,
  deleteRedisPrefix,
  startPrivateRedis,
  uniqueRedisPrefix,
  type PrivateRedis,
} from '../src/queue/redis-test-server.js';
import { S3_TEST_CREDENTIALS, startS3TestServer, type S3TestServer } from '../src/storage/s3-test-server.js';
import {
  mapLimit,
  sleep,
  startMalpipe,
  testAdminToken,
  waitUntil,
  type MalpipeProcess,
} from './scale-out-harness.js';

// One API process and three worker processes on PostgreSQL + Redis (BullMQ) + an S3 emulator, as a CERT would
// run them on four machines. Skips visibly without PostgreSQL or Redis; fails under CI=true.
const SAMPLES = 500;
const postgres = await createPostgresTestDatabase();
const redis = await checkRedis();
const available = postgres.available && redis.available;
const reason = !postgres.available ? postgres.reason : !redis.available ? redis.reason : '';

interface Submitted {
  readonly sha256: string;
  readonly analysisId: string;
}

describe.skipIf(!available)(
  `scale-out: 1 api + 3 workers on PostgreSQL, Redis and S3${available ? '' : ` (skipped: ${reason})`}`,
  () => {
    let s3: S3TestServer;
    let db: pg.Pool;
    let jobs: Queue;
    const prefix = uniqueRedisPrefix();
    const token = testAdminToken();
    const processes: MalpipeProcess[] = [];
    let env: Record<string, string>;

    beforeAll(async () => {
      if (!postgres.available || !redis.available) return;
      s3 = await startS3TestServer();
      const bucket = await s3.createBucket();
      db = new pg.Pool({ connectionString: postgres.url, max: 2 });
      const queueUrl = `${redis.url}?prefix=${prefix}`;
      jobs = new Queue('analyze-sample', { connection: parseRedisUrl(queueUrl).connection, prefix });
      env = {
        MALPIPE_DATABASE_URL: postgres.url,
        MALPIPE_STORE_URL: s3.url(bucket, 'malpipe'),
        MALPIPE_QUEUE_URL: queueUrl,
        AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
        MALPIPE_ADMIN_TOKEN: token,
        MALPIPE_RATE_LIMIT_PER_MINUTE: '1000000',
        MALPIPE_QUEUE_LEASE_MS: '2000',
        MALPIPE_WORKER_CONCURRENCY: '2',
        MALPIPE_LOG_LEVEL: 'warn',
      };
    });

    afterAll(async () => {
      await Promise.all(processes.map((p) => p.stop(5_000)));
      await jobs?.close();
      await db?.end();
      await s3?.stop();
      if (redis.available) await deleteRedisPrefix(redis.url, prefix);
    });

    it(
      `analyses ${SAMPLES} samples exactly once while a worker is killed with SIGKILL mid-run`,
      { timeout: 300_000 }, // about 45 s here; generous for a loaded CI machine
      async () => {
        const startedAt = Date.now();
        const { process: api, match } = await startMalpipe(
          'api',
          ['serve', '--role', 'api', '--port', '0'],
          env,
          /serving on (http:\/\/\S+)/,
        );
        processes.push(api);
        const apiUrl = match[1] ?? '';
        const workers = await Promise.all(
          [0, 1, 2].map(
            async (i) =>
              (await startMalpipe(`worker${i}`, ['worker', '--health-port', '0'], env, /worker running/))
                .process,
          ),
        );
        processes.push(...workers);
        const ready = Date.now();

        let submitError: unknown = null;
        const submitting = mapLimit(
          Array.from({ length: SAMPLES }, (_, i) => i),
          8,
          (i): Promise<Submitted> => uploadDistinctSample(apiUrl, token, `scale-out sample ${i}`, `sample-${i}.txt`),
        );
        submitting.catch((error: unknown) => (submitError = error));
        const completed = async (): Promise<number> => {
          if (submitError !== null) throw submitError;
          return Number(
            (await db.query("select count(*) as n from analyses where state = 'completed'")).rows[0].n,
          );
        };
        // Kill a worker while it holds jobs, a third of the way through, while submissions still arrive.
        await waitUntil('a third of the analyses', async () => (await completed()) >= SAMPLES / 3, 120_000);
        const victim = workers[0]!;
        const heldByVictim = async (): Promise<string[]> =>
          (await jobs.getJobs(['active']))
            .filter((job) => job.processedBy?.endsWith(`:${victim.pid}`))
            .map((job) => job.id ?? '');
        await waitUntil('the victim to hold a job', async () => (await heldByVictim()).length > 0, 20_000, 5);
        victim.kill9();
        expect(await victim.exited).toBeNull(); // died of the signal, not an exit code
        const killedAt = Date.now();
        // Read after the death: these jobs are orphans (the victim can finish nothing now); their locks still stand.
        const held = await heldByVictim();
        expect(held.length).toBeGreaterThan(0);
        const doneAtKill = await completed();
        const submitted = await submitting;
        const submittedAt = Date.now();
        expect(new Set(submitted.map((s) => s.sha256)).size).toBe(SAMPLES);

        await waitUntil(
          'every analysis to complete',
          async () => (await completed()) >= SAMPLES,
          180_000,
          250,
        );
        const finishedAt = Date.now();

        // Exactly once: one analysis per sample, all completed, no result row duplicated, none missing.
        const analyses = await db.query(
          'select sha256, state, count(*) over (partition by sha256) as per_sample from analyses',
        );
        expect(analyses.rows).toHaveLength(SAMPLES);
        expect(
          analyses.rows.every(
            (r: { state: string; per_sample: string }) =>
              r.state === 'completed' && Number(r.per_sample) === 1,
          ),
        ).toBe(true);
        const duplicates = await db.query(
          'select sha256, analyzer, count(*) from analysis_results group by sha256, analyzer having count(*) > 1',
        );
        expect(duplicates.rows).toEqual([]);
        const perSample = await db.query(
          'select s.sha256, count(r.id) as results from samples s left join analysis_results r on r.sha256 = s.sha256 group by s.sha256',
        );
        const resultCounts = new Set(perSample.rows.map((r: { results: string }) => Number(r.results)));
        expect(perSample.rows).toHaveLength(SAMPLES);
        expect(resultCounts.size).toBe(1); // every sample got the same analysers' results
        expect([...resultCounts][0]).toBeGreaterThan(0);
        const known = new Set(submitted.map((s) => s.sha256));
        expect(perSample.rows.every((r: { sha256: string }) => known.has(r.sha256))).toBe(true);

        // The dead worker's leased jobs were taken over by the survivors and completed there.
        for (const id of held) {
          const job = await jobs.getJob(id);
          expect(await job?.getState()).toBe('completed');
          expect(job?.attemptsStarted).toBeGreaterThanOrEqual(2);
          expect(job?.processedBy?.endsWith(`:${victim.pid}`)).toBe(false);
        }
        const counts = await jobs.getJobCounts(
          'completed',
          'failed',
          'active',
          'waiting',
          'prioritized',
          'delayed',
        );
        expect(counts).toMatchObject({ failed: 0, active: 0, waiting: 0, prioritized: 0, delayed: 0 });
        expect(Number((await db.query('select count(*) as n from job_outbox')).rows[0].n)).toBe(0);

        // The API serves Prometheus metrics with the shared queue depth.
        const metrics = await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
        expect(metrics.status).toBe(200);
        expect(await metrics.text()).toContain('malpipe_queue_jobs{type="analyze-sample",state="dead"} 0');

        console.info(
          `scale-out: start ${ready - startedAt} ms, all ${SAMPLES} submitted after ${submittedAt - ready} ms, ` +
            `killed worker holding ${held.length} job(s) at ${doneAtKill} done, all done ${finishedAt - killedAt} ms after the kill, ` +
            `total ${finishedAt - ready} ms (${((SAMPLES * 1000) / (finishedAt - ready)).toFixed(1)} analyses/s)`,
        );
        await sleep(0);
      },
    );
  },
);

// Redis dies (SIGKILL) and comes back mid-run: the API keeps accepting (jobs wait in the PostgreSQL outbox),
// workers reconnect, and every accepted sample is analysed once. A private redis-server on its own port, so the
// shared one other tests use is never touched.
const RESTART_SAMPLES = 150;
const restartPostgres = available ? await createPostgresTestDatabase() : null;
const privateRedis: PrivateRedis | null = available ? await startPrivateRedis() : null;

// File-level, so the throwaway databases and the private Redis go even when `-t` filters a suite out.
afterAll(async () => {
  await privateRedis?.stop();
  if (restartPostgres?.available === true) await restartPostgres.drop();
  if (postgres.available) await postgres.drop();
});

describe.skipIf(!available || privateRedis === null)(
  `scale-out: Redis restart mid-run${!available ? ` (skipped: ${reason})` : privateRedis === null ? ' (skipped: redis-server not installed)' : ''}`,
  () => {
    let s3: S3TestServer;
    let db: pg.Pool;
    const token = testAdminToken();
    const processes: MalpipeProcess[] = [];

    beforeAll(async () => {
      s3 = await startS3TestServer();
      if (restartPostgres?.available === true)
        db = new pg.Pool({ connectionString: restartPostgres.url, max: 2 });
    });
    afterAll(async () => {
      await Promise.all(processes.map((p) => p.stop(5_000)));
      await db?.end();
      await s3?.stop();
    });

    it(
      `loses no accepted sample when Redis is killed and restarted during ${RESTART_SAMPLES} submissions`,
      { timeout: 300_000 }, // about 30 s here; generous for a loaded CI machine
      async () => {
        if (restartPostgres?.available !== true || privateRedis === null)
          throw new Error('unreachable: the suite is skipped');
        const bucket = await s3.createBucket();
        const env = {
          MALPIPE_DATABASE_URL: restartPostgres.url,
          MALPIPE_STORE_URL: s3.url(bucket),
          MALPIPE_QUEUE_URL: privateRedis.url,
          AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
          MALPIPE_ADMIN_TOKEN: token,
          MALPIPE_RATE_LIMIT_PER_MINUTE: '1000000',
          MALPIPE_QUEUE_LEASE_MS: '2000',
          MALPIPE_WORKER_CONCURRENCY: '2',
          MALPIPE_LOG_LEVEL: 'fatal',
        };
        const { process: api, match } = await startMalpipe(
          'api',
          ['serve', '--role', 'api', '--port', '0'],
          env,
          /serving on (http:\/\/\S+)/,
        );
        processes.push(api);
        const apiUrl = match[1] ?? '';
        const workers = await Promise.all(
          [0, 1].map(
            async (i) => (await startMalpipe(`worker${i}`, ['worker'], env, /worker running/)).process,
          ),
        );
        processes.push(...workers);

        const completed = async (): Promise<number> =>
          Number((await db.query("select count(*) as n from analyses where state = 'completed'")).rows[0].n);
        let redisDown = false;
        let acceptedWhileDown = 0;
        const submitting = mapLimit(
          Array.from({ length: RESTART_SAMPLES }, (_, i) => i),
          4,
          async (i): Promise<string> => {
            const sample = await uploadDistinctSample(apiUrl, token, `redis-restart sample ${i}`, `r-${i}.txt`);
            if (redisDown) acceptedWhileDown++;
            return sample.sha256;
          },
        );
        let submitError: unknown = null;
        submitting.catch((error: unknown) => (submitError = error));
        await waitUntil(
          'a fifth of the analyses',
          async () => {
            if (submitError !== null) throw submitError;
            return (await completed()) >= RESTART_SAMPLES / 5;
          },
          120_000,
        );
        await privateRedis.kill9();
        redisDown = true;
        await sleep(2_000);
        redisDown = false;
        await privateRedis.start();
        const submitted = await submitting;
        expect(new Set(submitted).size).toBe(RESTART_SAMPLES);

        await waitUntil(
          'every analysis to complete after the restart',
          async () => (await completed()) >= RESTART_SAMPLES,
          180_000,
          250,
        );
        const analyses = await db.query(
          'select sha256, count(*) as n, min(state) as state from analyses group by sha256',
        );
        expect(analyses.rows).toHaveLength(RESTART_SAMPLES);
        expect(
          analyses.rows.every(
            (r: { n: string; state: string }) => Number(r.n) === 1 && r.state === 'completed',
          ),
        ).toBe(true);
        const duplicates = await db.query(
          'select sha256, analyzer from analysis_results group by sha256, analyzer having count(*) > 1',
        );
        expect(duplicates.rows).toEqual([]);
        expect(Number((await db.query('select count(*) as n from job_outbox')).rows[0].n)).toBe(0);
        expect(acceptedWhileDown).toBeGreaterThan(0); // the API kept accepting: jobs waited in the outbox
        console.info(
          `redis restart: ${acceptedWhileDown} submission(s) accepted while Redis was down; all ${RESTART_SAMPLES} analysed once`,
        );
      },
    );
  },
);

/** Uploads one small sample made distinct by random bytes; throws unless the API accepted it (202). */
async function uploadDistinctSample(apiUrl: string, token: string, label: string, fileName: string): Promise<Submitted> {
  const form = new FormData();
  form.append('file', new Blob([`malpipe ${label} ${randomBytes(16).toString('hex')}\n`]), fileName);
  const response = await fetch(`${apiUrl}/api/v1/samples`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { samples?: Submitted[] };
  const sample = body.samples?.[0];
  if (response.status !== 202 || sample === undefined) throw new Error(`submit ${label}: ${response.status} ${JSON.stringify(body)}`);
  return sample;
}
