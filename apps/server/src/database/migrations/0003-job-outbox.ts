import type { Kysely, Migration } from 'kysely';
import type { MigrationDialect } from './migration-dialect.js';

/**
 * The job outbox (see apps/server/src/queue/job-outbox.ts): jobs for an external queue (BullMQ on Redis) written
 * in the same transaction as the rows they refer to, relayed to the queue and deleted once it has them.
 */
export function jobOutboxSchema(_dialect: MigrationDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('job_outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('job_outbox_created_at_idx')
        .on('job_outbox')
        .columns(['created_at', 'id'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('job_outbox').execute();
    },
  };
}
