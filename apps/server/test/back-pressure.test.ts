import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { runServer, type RunningServer } from '../src/main.js';
import { createDatabase } from '../src/database/create-database.js';
import { createJobQueue } from '../src/queue/create-job-queue.js';
import { checkRedis, deleteRedisPrefix, uniqueRedisPrefix } from '../src/queue/redis-test-server.js';
import { startWorkerHealthServer } from '../src/worker-health.js';

const TOKEN = 'mp_backpressure_test_token_0123456789';

describe('back-pressure and metrics over HTTP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'malpipe-bp-'));
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 429 QUEUE_FULL with Retry-After once the analysis queue is at its bound, and serves /metrics', async () => {
    const config = loadConfig({
      MALPIPE_DATA_DIR: dir,
      MALPIPE_ROLES: 'api',
      MALPIPE_PORT: '0',
      MALPIPE_ADMIN_TOKEN: TOKEN,
      MALPIPE_QUEUE_MAX_WAITING: '2',
      MALPIPE_QUEUE_RETRY_AFTER_SECONDS: '42',
    });
    server = await runServer(config, { logger: pino({ level: 'silent' }), handleSignals: false });
    const submit = async (i: number): Promise<Response> => {
      const form = new FormData();
      form.append('file', new Blob([`back-pressure sample ${i}`]), `bp-${i}.txt`);
      return fetch(`${server?.url}/api/v1/samples`, {
        method: 'POST',
        body: form,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
    };
    // No worker runs, so every accepted analysis stays queued.
    expect((await submit(1)).status).toBe(202);
    expect((await submit(2)).status).toBe(202);
    const refused = await submit(3);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('42');
    expect(await refused.json()).toMatchObject({
      error: { code: 'QUEUE_FULL', details: { limit: 2, waiting: 2, retryAfterMs: 42_000 } },
    });

    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await metrics.text();
    expect(text).toContain('malpipe_queue_jobs{type="analyze-sample",state="queued"} 2');
    expect(text).toContain('malpipe_jobs_rejected_total{type="analyze-sample"} 1');
    expect(text).toContain('malpipe_info{queue_backend="sqlite",role="api"} 1');
  });
});

describe(startWorkerHealthServer.name, () => {
  it('serves /health and /metrics without authentication', async () => {
    const db = await createDatabase('sqlite::memory:');
    const queue = await createJobQueue('sqlite:', db);
    const health = await startWorkerHealthServer(queue, { host: '127.0.0.1', port: 0, role: 'worker' });
    try {
      const ok = await fetch(`${health.url}/health`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ status: 'ok', role: 'worker', pid: process.pid });
      const metrics = await (await fetch(`${health.url}/metrics`)).text();
      expect(metrics).toContain('malpipe_queue_up 1');
      expect((await fetch(`${health.url}/nope`)).status).toBe(404);
    } finally {
      await health.close();
      await queue.close(0);
      await db.destroy();
    }
  });
});

const redis = await checkRedis();

describe.skipIf(!redis.available)(
  `jobs admin API on BullMQ${redis.available ? '' : ` (skipped: ${redis.reason})`}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'malpipe-bq-'));
    const prefix = uniqueRedisPrefix();
    let server: RunningServer | undefined;
    afterAll(async () => {
      await server?.stop();
      if (redis.available) await deleteRedisPrefix(redis.url, prefix);
      rmSync(dir, { recursive: true, force: true });
    });

    it('lists and refuses to retry a queued job through /api/v1/jobs, as `malpipe jobs` does', async () => {
      if (!redis.available) return;
      const config = loadConfig({
        MALPIPE_DATA_DIR: dir,
        MALPIPE_ROLES: 'api',
        MALPIPE_PORT: '0',
        MALPIPE_ADMIN_TOKEN: TOKEN,
        MALPIPE_QUEUE_URL: `${redis.url}?prefix=${prefix}`,
      });
      server = await runServer(config, { logger: pino({ level: 'silent' }), handleSignals: false });
      const auth = { authorization: `Bearer ${TOKEN}` };
      const form = new FormData();
      form.append('file', new Blob(['a sample for the bullmq jobs api']), 'bq.txt');
      expect(
        (await fetch(`${server.url}/api/v1/samples`, { method: 'POST', body: form, headers: auth })).status,
      ).toBe(202);
      let jobs: Array<{ id: string; name: string; state: string }> = [];
      for (let i = 0; i < 50 && jobs.length === 0; i++) {
        jobs = (
          (await (await fetch(`${server.url}/api/v1/jobs?state=queued`, { headers: auth })).json()) as {
            jobs: typeof jobs;
          }
        ).jobs;
      }
      expect(jobs).toMatchObject([{ name: 'analyze-sample', state: 'queued' }]);
      const retry = await fetch(`${server.url}/api/v1/jobs/${jobs[0]?.id}/retry`, {
        method: 'POST',
        headers: auth,
      });
      expect(retry.status).toBe(409);
      const metrics = await (await fetch(`${server.url}/metrics`, { headers: auth })).text();
      expect(metrics).toContain('malpipe_info{queue_backend="bullmq",role="api"} 1');
      expect(metrics).toContain('malpipe_queue_jobs{type="analyze-sample",state="queued"} 1');
    });
  },
);
