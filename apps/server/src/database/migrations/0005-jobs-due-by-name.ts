import { sql, type Kysely, type Migration } from 'kysely';
import type { MigrationDialect } from './migration-dialect.js';

/**
 * Workers claim due jobs one job name at a time (each name has its own concurrency limit), so the due-job
 * index leads with `name`: `name = ? AND state IN ('queued', 'failed') ORDER BY priority DESC, run_at` reads
 * its first entry instead of sorting the backlog. Replaces 0001's name-less jobs_due_idx.
 */
export function jobsDueByNameIndex(_dialect: MigrationDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createIndex('jobs_due_by_name_idx')
        .on('jobs')
        .columns(['name', 'priority desc', 'run_at'])
        .where(sql<boolean>`state in ('queued', 'failed')`)
        .execute();
      await db.schema.dropIndex('jobs_due_idx').ifExists().execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createIndex('jobs_due_idx')
        .on('jobs')
        .columns(['priority desc', 'run_at'])
        .where(sql<boolean>`state in ('queued', 'failed')`)
        .execute();
      await db.schema.dropIndex('jobs_due_by_name_idx').execute();
    },
  };
}
