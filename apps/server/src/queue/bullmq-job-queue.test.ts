import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../database/create-database.js';
import { createPostgresTestDatabase } from '../database/postgres-test-database.js';
import type { Database } from '../database/database.js';
import {
  BullmqJobQueue,
  parseRedisUrl,
  toBullPriority,
  type BullmqJobQueueOptions,
} from './bullmq-job-queue.js';
import { jobQueueContract } from './job-queue.contract.js';
import type { JobHandlers } from './job-queue.js';
import { JOB_NAMES } from './jobs.js';
import { checkRedis, deleteRedisPrefix, uniqueRedisPrefix } from './redis-test-server.js';

const quiet = { warn: () => undefined, error: () => undefined };

/** The given handlers, and a no-op for every other job name. */
function withNoops(some: Partial<JobHandlers>): JobHandlers {
  return {
    ...Object.fromEntries(JOB_NAMES.map((name) => [name, async () => undefined])),
    ...some,
  } as JobHandlers;
}
const redis = await checkRedis();
const postgres = redis.available ? await createPostgresTestDatabase() : null;
afterAll(async () => {
  if (postgres?.available === true) await postgres.drop();
});

describe(parseRedisUrl.name, () => {
  it('reads host, port, credentials, database and prefix', () => {
    expect(parseRedisUrl('redis://user:p%40ss@10.0.0.5:6380/2?prefix=cert')).toEqual({
      prefix: 'cert',
      connection: { host: '10.0.0.5', port: 6380, username: 'user', password: 'p@ss', db: 2 },
    });
    expect(parseRedisUrl('rediss://cache.example')).toEqual({
      prefix: 'malpipe',
      connection: { host: 'cache.example', port: 6379, tls: {} },
    });
    expect(() => parseRedisUrl('redis://h/x')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => parseRedisUrl('redis://h?prefix=a:b')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => parseRedisUrl('http://h')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('maps higher malpipe priorities to lower BullMQ numbers within BullMQ range', () => {
    expect(toBullPriority(10)).toBeLessThan(toBullPriority(5));
    expect(toBullPriority(5)).toBeLessThan(toBullPriority(0));
    expect(toBullPriority(2 ** 31 - 1)).toBe(1);
    expect(toBullPriority(-(2 ** 31))).toBe(2_097_152);
  });
});

if (redis.available) {
  const url = redis.url;
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const prefix of prefixes) await deleteRedisPrefix(url, prefix);
  });

  // Each queue instance has its own Redis connections, as separate processes would; the outbox is in SQLite.
  jobQueueContract(`${BullmqJobQueue.name} (Redis)`, async () => {
    const prefix = uniqueRedisPrefix();
    prefixes.push(prefix);
    const db = await createDatabase('sqlite::memory:');
    return {
      createQueue: async (timing) => new BullmqJobQueue({ url, db, prefix, ...timing, logger: quiet }),
      kill: (queue) => queue.close(0),
      cleanup: async () => {
        await deleteRedisPrefix(url, prefix);
        await db.destroy();
      },
    };
  });

  // The outbox in both databases; on PostgreSQL the relays' concurrent transactions use SKIP LOCKED.
  const outboxDatabases: Array<{ readonly dialect: string; readonly url: string }> = [
    { dialect: 'SQLite', url: 'sqlite::memory:' },
  ];
  if (postgres?.available === true) outboxDatabases.push({ dialect: 'PostgreSQL', url: postgres.url });
  for (const { dialect, url: databaseUrl } of outboxDatabases)
    describe(`${BullmqJobQueue.name} outbox on ${dialect}`, () => {
      let db: Database;
      let queues: BullmqJobQueue[];
      let prefix: string;
      const open = (options: Partial<BullmqJobQueueOptions> = {}): BullmqJobQueue => {
        const queue = new BullmqJobQueue({
          url,
          db,
          prefix,
          leaseMs: 500,
          pollIntervalMs: 25,
          logger: quiet,
          ...options,
        });
        queues.push(queue);
        return queue;
      };
      beforeEach(async () => {
        db = await createDatabase(databaseUrl);
        queues = [];
        prefix = uniqueRedisPrefix();
        prefixes.push(prefix);
      });
      afterEach(async () => {
        for (const queue of queues) await queue.close(0);
        await db.withTables<{ job_outbox: { id: string } }>().deleteFrom('job_outbox').execute();
        await db.destroy();
        await deleteRedisPrefix(url, prefix);
      });

      it('enqueues in the caller transaction: a rollback leaves no job, a commit runs it once under the outbox id', async () => {
        const queue = open();
        const ran: string[] = [];
        const handlers = withNoops({
          'analyze-sample': async (job) => void ran.push(`${job.id}:${job.payload.analysisId}`),
        });
        await expect(
          queue.transaction(async (_trx, enqueue) => {
            await enqueue('analyze-sample', { analysisId: 'rolled-back' });
            throw new Error('abort the transaction');
          }),
        ).rejects.toThrow('abort the transaction');
        const id = await queue.transaction(async (trx) =>
          queue.enqueueInTransaction(trx, 'analyze-sample', { analysisId: 'committed' }),
        );
        // Before any relay the job is visible as queued, from the outbox.
        expect(await queue.get(id)).toMatchObject({
          id,
          state: 'queued',
          payload: { analysisId: 'committed' },
        });
        await queue.start(handlers, { concurrency: 1 });
        const deadline = Date.now() + 5_000;
        while ((await queue.get(id))?.state !== 'completed' && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 10));
        expect(ran).toEqual([`${id}:committed`]);
        expect(
          await db
            .withTables<{ job_outbox: { id: string } }>()
            .selectFrom('job_outbox')
            .selectAll()
            .execute(),
        ).toEqual([]);
      });

      it('relays each outbox row to exactly one BullMQ job when several processes relay at once', async () => {
        const producer = open();
        // Straight through the database: producer.transaction() would wake the producer's own relay too.
        const ids = await db
          .transaction()
          .execute(async (trx) =>
            Promise.all(
              Array.from({ length: 300 }, (_, i) =>
                producer.enqueueInTransaction(trx, 'analyze-sample', { analysisId: `a${i}` }),
              ),
            ),
          );
        const relays = [open(), open(), open()];
        let moved = 0;
        for (;;) {
          const batch = await Promise.all(relays.map((relay) => relay.relayOnce()));
          moved += batch.reduce((a, b) => a + b, 0);
          if (batch.every((n) => n === 0)) break;
        }
        expect(moved).toBe(300);
        const counts = await producer.counts();
        expect(counts['analyze-sample'].queued).toBe(300);
        expect(new Set((await producer.list({ state: 'queued', limit: 1000 })).map((j) => j.id))).toEqual(
          new Set(ids),
        );
      });

      it('reports live and dead analyses for the recovery sweep', async () => {
        const queue = open({ backoffBaseMs: 10, backoffMaxMs: 10 });
        await queue.transaction(async (trx) =>
          queue.enqueueInTransaction(trx, 'analyze-sample', { analysisId: 'in-outbox' }),
        );
        const doomed = await queue.enqueue('analyze-sample', { analysisId: 'doomed' }, { maxAttempts: 1 });
        const analyze: JobHandlers['analyze-sample'] = async (job) => {
          if (job.payload.analysisId === 'doomed') throw new Error('boom');
          await new Promise(() => undefined);
        };
        await queue.start(withNoops({ 'analyze-sample': analyze }), { concurrency: 2 });
        const deadline = Date.now() + 5_000;
        while ((await queue.get(doomed))?.state !== 'dead' && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 10));
        const states = await queue.analysisJobStates(['in-outbox', 'doomed', 'unknown']);
        expect([...states.live]).toEqual(['in-outbox']);
        expect(states.dead).toEqual(new Map([['doomed', 'boom']]));
      });
    });
} else {
  describe.skip(`JobQueue contract: BullmqJobQueue skipped: ${redis.reason}`, () => {
    it('needs Redis', () => undefined);
  });
}
