import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../src/database/create-database.js';
import type { Database } from '../src/database/database.js';
import {
  createPostgresTestDatabase,
  type PostgresTestDatabase,
} from '../src/database/postgres-test-database.js';
import { DatabaseRateLimiter } from '../src/fetcher/rate-limiter.js';
import {
  cacheNotFound,
  circuitOpenUntil,
  isCachedNotFound,
  recordSourceFailure,
  recordSourceSuccess,
} from '../src/fetcher/source-state.js';

interface Backend {
  readonly name: string;
  open(): Promise<Database>;
  close(): Promise<void>;
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'malpipe-limiter-'));
let postgres: PostgresTestDatabase | undefined;
const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    open: () => createDatabase(`sqlite:${join(sqliteDir, 'db.sqlite')}`),
    close: async () => rmSync(sqliteDir, { recursive: true, force: true }),
  },
  {
    name: 'postgres',
    open: async () => {
      postgres = await createPostgresTestDatabase();
      if (!postgres.available) throw new Error(postgres.reason);
      return createDatabase(postgres.url);
    },
    close: async () => {
      if (postgres?.available === true) await postgres.drop();
    },
  },
];

for (const backend of BACKENDS) {
  describe(`${DatabaseRateLimiter.name} and source state (${backend.name})`, () => {
    let db: Database | undefined;
    let skip: string | null = null;
    beforeAll(async () => {
      try {
        db = await backend.open();
      } catch (error) {
        skip = (error as Error).message;
      }
    });
    afterAll(async () => {
      await db?.destroy();
      await backend.close();
    });
    const database = (): Database => {
      if (db === undefined) throw new Error(`backend unavailable: ${skip ?? ''}`);
      return db;
    };

    it('grants exactly `limit` of many concurrent requests, from two limiters sharing the database', async (context) => {
      if (skip !== null) return context.skip(skip);
      const now = 1_000_000;
      const a = new DatabaseRateLimiter(database(), { now: () => now, marginMs: 0 });
      const b = new DatabaseRateLimiter(database(), { now: () => now, marginMs: 0 });
      const limits = [{ limit: 5, windowMs: 60_000 }];
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? a : b).tryAcquire('vt:concurrent', limits)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(5);
      const denied = results.find((r) => !r.ok);
      expect(denied).toMatchObject({ ok: false });
    });

    it('is a sliding window counted from completion, and `block` holds every slot', async (context) => {
      if (skip !== null) return context.skip(skip);
      let now = 10_000_000;
      const limiter = new DatabaseRateLimiter(database(), { now: () => now, marginMs: 0, leaseMs: 30_000 });
      const limits = [{ limit: 2, windowMs: 1_000 }];
      const first = await limiter.tryAcquire('mb:sliding', limits);
      expect(first.ok).toBe(true);
      now += 500;
      if (first.ok) await limiter.release(first); // completed at +500
      const second = await limiter.tryAcquire('mb:sliding', limits);
      expect(second.ok).toBe(true);
      if (second.ok) await limiter.release(second);
      now += 400; // +900: both slots still within a window of their completion
      expect(await limiter.tryAcquire('mb:sliding', limits)).toEqual({
        ok: false,
        retryAt: 10_000_000 + 500 + 1_000,
      });
      now = 10_000_000 + 1_500; // both completed at +500: both free again, and no third
      expect((await limiter.tryAcquire('mb:sliding', limits)).ok).toBe(true);
      expect((await limiter.tryAcquire('mb:sliding', limits)).ok).toBe(true);
      // Still running (leased): a slot in use frees a window after now at the earliest.
      expect(await limiter.tryAcquire('mb:sliding', limits)).toEqual({ ok: false, retryAt: now + 1_000 });
      await limiter.block('mb:sliding', limits, now + 60_000);
      now += 5_000;
      expect(await limiter.tryAcquire('mb:sliding', limits)).toMatchObject({
        ok: false,
        retryAt: now - 5_000 + 60_000,
      });
    });

    it('caches not-found answers until they expire, and opens then closes a circuit', async (context) => {
      if (skip !== null) return context.skip(skip);
      const d = database();
      await cacheNotFound(d, 'virustotal', 'ab'.repeat(16), 2_000, 0);
      expect(await isCachedNotFound(d, 'virustotal', 'ab'.repeat(16), 1_999)).toBe(true);
      expect(await isCachedNotFound(d, 'virustotal', 'ab'.repeat(16), 2_000)).toBe(false);
      expect(await isCachedNotFound(d, 'malwarebazaar', 'ab'.repeat(16), 0)).toBe(false);
      const circuit = { threshold: 2, cooldownMs: 1_000 };
      expect(await recordSourceFailure(d, 'mb', 100, circuit)).toBeNull();
      expect(await recordSourceFailure(d, 'mb', 200, circuit)).toBe(1_200);
      expect(await circuitOpenUntil(d, 'mb', 1_000)).toBe(1_200);
      expect(await circuitOpenUntil(d, 'mb', 1_200)).toBeNull();
      // Half-open: the next failure re-opens at once.
      expect(await recordSourceFailure(d, 'mb', 1_300, circuit)).toBe(2_300);
      await recordSourceSuccess(d, 'mb');
      expect(await circuitOpenUntil(d, 'mb', 1_400)).toBeNull();
    });
  });
}
