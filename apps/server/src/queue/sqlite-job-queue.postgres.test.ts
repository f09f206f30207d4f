import { afterAll, describe, it } from 'vitest';
import { createDatabase } from '../database/create-database.js';
import type { Database } from '../database/database.js';
import { createPostgresTestDatabase } from '../database/postgres-test-database.js';
import { jobQueueContract } from './job-queue.contract.js';
import { SqliteJobQueue } from './sqlite-job-queue.js';

// The embedded queue's SQL is portable: the same contract over PostgreSQL, one pool per instance as separate
// worker processes would have. Skips visibly without a server; fails under CI=true.
const postgres = await createPostgresTestDatabase();
afterAll(async () => {
  if (postgres.available) await postgres.drop();
});

if (postgres.available) {
  const { url } = postgres;
  jobQueueContract(`${SqliteJobQueue.name} (PostgreSQL, a pool per instance)`, async () => {
    const dbs: Database[] = [await createDatabase(url, { poolSize: 2 })];
    return {
      createQueue: async (timing) => {
        const db = await createDatabase(url, { poolSize: 3 });
        dbs.push(db);
        return new SqliteJobQueue(db, { ...timing, logger: { warn: () => undefined, error: () => undefined } });
      },
      kill: (queue) => queue.close(0),
      cleanup: async () => {
        await dbs[0]?.deleteFrom('jobs').execute();
        for (const db of dbs) await db.destroy();
      },
    };
  });
} else {
  describe.skip(`JobQueue contract: SqliteJobQueue (PostgreSQL) skipped: ${postgres.reason}`, () => {
    it('needs PostgreSQL', () => undefined);
  });
}
