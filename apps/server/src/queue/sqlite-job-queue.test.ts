import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../database/create-database.js';
import type { Database } from '../database/database.js';
import { jobQueueContract, type JobQueueTiming } from './job-queue.contract.js';
import { withIdleHandlers } from './with-idle-handlers.js';
import { SqliteJobQueue, createJobQueue, type QueueLogger } from './sqlite-job-queue.js';

/** Collects what the queue logs, so a test can assert on it and the output stays quiet. */
function memoryLogger(): QueueLogger & { readonly lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (_f, m) => void lines.push(`warn ${m}`), error: (_f, m) => void lines.push(`error ${m}`) };
}

function optionsFrom(timing: JobQueueTiming) {
  return { ...timing, logger: memoryLogger() };
}

// Every instance shares one connection, as an API and a worker role do inside one process.
jobQueueContract(`${SqliteJobQueue.name} (one shared sqlite::memory: connection)`, async () => {
  const db = await createDatabase('sqlite::memory:');
  return {
    createQueue: async (timing) => new SqliteJobQueue(db, optionsFrom(timing)),
    kill: (queue) => queue.close(0),
    cleanup: () => db.destroy(),
  };
});

// Every instance opens its own connection to one file, as separate worker processes do.
jobQueueContract(`${SqliteJobQueue.name} (a connection per instance to one WAL file)`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'malpipe-queue-'));
  const url = `sqlite:${join(dir, 'queue.db')}`;
  const dbs: Database[] = [await createDatabase(url)];
  return {
    createQueue: async (timing) => {
      const db = await createDatabase(url);
      dbs.push(db);
      return new SqliteJobQueue(db, optionsFrom(timing));
    },
    kill: (queue) => queue.close(0),
    cleanup: async () => {
      for (const db of dbs) await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const FAST = { leaseMs: 300, pollIntervalMs: 25, backoffBaseMs: 40, backoffMaxMs: 200 };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(predicate: () => Promise<boolean> | boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

describe(SqliteJobQueue.name, () => {
  let db: Database;
  let queue: SqliteJobQueue;
  const ran: string[] = [];
  const handlers = withIdleHandlers({ 'analyze-sample': async (job) => void ran.push(job.payload.analysisId) });

  async function setUp(): Promise<void> {
    db = await createDatabase('sqlite::memory:');
    queue = new SqliteJobQueue(db, { ...FAST, logger: memoryLogger() });
    ran.length = 0;
  }

  afterEach(async () => {
    await queue.close(0);
    await db.destroy();
  });

  it('commits a job with the rows of the same transaction, and rolls both back together', async () => {
    await setUp();
    await expect(
      queue.transaction(async (trx, enqueue) => {
        await trx.insertInto('api_tokens').values(token('t1')).execute();
        await enqueue('analyze-sample', { analysisId: 'rolled-back' });
        throw new Error('crash between the row and the commit');
      }),
    ).rejects.toThrow('crash');
    expect(await db.selectFrom('jobs').selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('api_tokens').selectAll().execute()).toEqual([]);

    await queue.start(handlers, { concurrency: 1 });
    const id = await queue.transaction(async (trx, enqueue) => {
      await trx.insertInto('api_tokens').values(token('t2')).execute();
      return enqueue('analyze-sample', { analysisId: 'committed' });
    });
    await waitFor(async () => (await queue.get(id))?.state === 'completed');
    expect(ran).toEqual(['committed']);
  });

  it('enqueues through a transaction the caller opened', async () => {
    await setUp();
    const id = await db.transaction().execute(async (trx) => {
      await trx.insertInto('api_tokens').values(token('t3')).execute();
      return queue.enqueueInTransaction(trx, 'analyze-sample', { analysisId: 'outer' });
    });
    queue.wake();
    expect(await queue.get(id)).toMatchObject({ state: 'queued', payload: { analysisId: 'outer' } });
  });

  it('buries a job that keeps killing its worker instead of leasing it forever', async () => {
    await setUp();
    const id = await queue.enqueue('analyze-sample', { analysisId: 'poison' }, { maxAttempts: 2 });
    // Two workers died holding it: attempts used up, lease expired.
    await db.updateTable('jobs').set({ state: 'running', attempts: 2, lease_owner: 'dead-host', lease_until: Date.now() - 1 }).where('id', '=', id).execute();
    await queue.start(handlers, { concurrency: 1 });
    await waitFor(async () => (await queue.get(id))?.state === 'dead');
    expect(ran).toEqual([]);
    expect((await queue.get(id))?.lastError).toMatch(/lease expired/);
  });

  it('does not let a worker that lost its lease overwrite the new owner', async () => {
    await setUp();
    let release: () => void = () => undefined;
    const logger = memoryLogger();
    queue = new SqliteJobQueue(db, { ...FAST, logger });
    await queue.start(withIdleHandlers({ 'analyze-sample': () => new Promise<void>((resolve) => (release = resolve)) }), { concurrency: 1 });
    const id = await queue.enqueue('analyze-sample', { analysisId: 'stolen' });
    await waitFor(async () => (await queue.get(id))?.state === 'running');
    await db.updateTable('jobs').set({ lease_owner: 'other-worker' }).where('id', '=', id).execute();
    await waitFor(() => logger.lines.includes('warn job lease lost'));
    release();
    await sleep(20);
    expect(await db.selectFrom('jobs').select(['state', 'lease_owner']).where('id', '=', id).executeTakeFirst()).toEqual({
      state: 'running',
      lease_owner: 'other-worker',
    });
  });

  it('refuses a second start and bad options', async () => {
    await setUp();
    await queue.start(handlers, { concurrency: 1 });
    await expect(queue.start(handlers, { concurrency: 1 })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(() => new SqliteJobQueue(db, { leaseMs: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('is built by createJobQueue for sqlite: and refuses other URLs', async () => {
    await setUp();
    expect(createJobQueue('sqlite:', db)).toBeInstanceOf(SqliteJobQueue);
    expect(() => createJobQueue('redis://127.0.0.1:6379', db)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

function token(id: string) {
  return {
    id,
    name: id,
    role: 'reader',
    token_hash: `hash-${id}`,
    rate_limit_per_minute: null,
    created_at: new Date().toISOString(),
    last_used_at: null,
    revoked_at: null,
  };
}
