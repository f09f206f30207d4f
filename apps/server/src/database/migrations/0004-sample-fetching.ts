import type { Kysely, Migration } from 'kysely';
import type { MigrationDialect } from './migration-dialect.js';

/** The fetcher's tables (see apps/server/src/fetcher/fetcher-tables.ts). Portable SQL, no dialect branch. */
export function sampleFetchingSchema(_dialect: MigrationDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;
      await s
        .createTable('rate_limit_slots')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('slot', 'integer', (c) => c.notNull())
        .addColumn('used_at', 'bigint', (c) => c.notNull())
        .addColumn('leased_until', 'bigint')
        .addPrimaryKeyConstraint('rate_limit_slots_pk', ['key', 'slot'])
        .execute();
      await s
        .createTable('source_not_found')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('source_not_found_pk', ['source', 'hash'])
        .execute();
      await s
        .createTable('source_circuits')
        .addColumn('source', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('open_until', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createTable('source_reports')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('md5', 'text')
        .addColumn('sha1', 'text')
        .addColumn('report', 'text', (c) => c.notNull())
        .addColumn('fetched_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('source_reports_pk', ['source', 'sha256'])
        .execute();
      await s.createIndex('source_reports_md5_idx').on('source_reports').column('md5').execute();
      await s.createIndex('source_reports_sha1_idx').on('source_reports').column('sha1').execute();
      await s
        .createTable('hash_fetches')
        .addColumn('hash_request_id', 'text', (c) =>
          c.primaryKey().references('hash_requests.id').onDelete('cascade'),
        )
        .addColumn('job_id', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of [
        'hash_fetches',
        'source_reports',
        'source_circuits',
        'source_not_found',
        'rate_limit_slots',
      ]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}
