import { sql, type Kysely, type Migration } from 'kysely';
import type { MigrationDialect } from './migration-dialect.js';

/**
 * Creates the tables of `schema.ts`. Portable SQL: timestamps and JSON are text, epoch milliseconds and sizes
 * are `bigint` (INTEGER affinity on SQLite, int8 on PostgreSQL). The only dialect branch is the generated id.
 */
export function initialSchema(dialect: MigrationDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;

      await s
        .createTable('samples')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('md5', 'text', (c) => c.notNull())
        .addColumn('sha1', 'text', (c) => c.notNull())
        .addColumn('sha512', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('file_kind', 'text', (c) => c.notNull())
        .addColumn('file_format', 'text', (c) => c.notNull())
        .addColumn('mime', 'text', (c) => c.notNull())
        .addColumn('file_description', 'text', (c) => c.notNull())
        .addColumn('file_traits', 'text', (c) => c.notNull())
        .addColumn('ssdeep', 'text')
        .addColumn('tlsh', 'text')
        .addColumn('imphash', 'text')
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .execute();
      await s.createIndex('samples_md5_idx').on('samples').column('md5').execute();
      await s.createIndex('samples_sha1_idx').on('samples').column('sha1').execute();
      await s.createIndex('samples_sha512_idx').on('samples').column('sha512').execute();
      await s.createIndex('samples_imphash_idx').on('samples').column('imphash').execute();
      await s.createIndex('samples_first_seen_idx').on('samples').column('first_seen').execute();

      await s
        .createTable('sample_names')
        .addColumn('sha256', 'text', (c) => c.notNull().references('samples.sha256').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('sample_names_pk', ['sha256', 'name'])
        .execute();
      await s.createIndex('sample_names_name_idx').on('sample_names').column('name').execute();

      await s
        .createTable('sample_sources')
        .addColumn('sha256', 'text', (c) => c.notNull().references('samples.sha256').onDelete('cascade'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('sample_sources_pk', ['sha256', 'source'])
        .execute();

      await s
        .createTable('sample_tags')
        .addColumn('sha256', 'text', (c) => c.notNull().references('samples.sha256').onDelete('cascade'))
        .addColumn('tag', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('sample_tags_pk', ['sha256', 'tag'])
        .execute();
      await s.createIndex('sample_tags_tag_idx').on('sample_tags').column('tag').execute();

      await s
        .createTable('relations')
        .addColumn('parent_sha256', 'text', (c) => c.notNull().references('samples.sha256').onDelete('cascade'))
        .addColumn('child_sha256', 'text', (c) => c.notNull().references('samples.sha256').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('analyzer', 'text', (c) => c.notNull())
        .addColumn('detail', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('relations_pk', ['parent_sha256', 'child_sha256', 'kind'])
        .execute();
      await s.createIndex('relations_child_idx').on('relations').column('child_sha256').execute();

      await s
        .createTable('analyses')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('sha256', 'text', (c) => c.notNull().references('samples.sha256').onDelete('cascade'))
        .addColumn('root_id', 'text', (c) => c.notNull())
        .addColumn('parent_id', 'text')
        .addColumn('depth', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('force', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .execute();
      await s.createIndex('analyses_sha256_idx').on('analyses').columns(['sha256', 'created_at']).execute();
      await s.createIndex('analyses_root_idx').on('analyses').column('root_id').execute();
      await s.createIndex('analyses_parent_idx').on('analyses').column('parent_id').execute();
      await s.createIndex('analyses_state_idx').on('analyses').columns(['state', 'created_at']).execute();
      await s.createIndex('analyses_created_idx').on('analyses').column('created_at').execute();

      await withGeneratedId(dialect, s.createTable('analysis_results'))
        .addColumn('sha256', 'text', (c) => c.notNull().references('samples.sha256').onDelete('cascade'))
        .addColumn('analyzer', 'text', (c) => c.notNull())
        .addColumn('analyzer_version', 'text', (c) => c.notNull())
        .addColumn('ruleset_version', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('warnings', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('analysis_results_cache_key', ['sha256', 'analyzer', 'analyzer_version', 'ruleset_version'])
        .execute();

      await withGeneratedId(dialect, s.createTable('indicators'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addUniqueConstraint('indicators_type_value_key', ['type', 'value'])
        .execute();
      // The unique (type, value) index does not serve a lookup by value alone ("where was 1.2.3.4 seen?").
      await s.createIndex('indicators_value_idx').on('indicators').column('value').execute();
      await s.createIndex('indicators_first_seen_idx').on('indicators').column('first_seen').execute();

      await s
        .createTable('sample_indicators')
        .addColumn('sha256', 'text', (c) => c.notNull().references('samples.sha256').onDelete('cascade'))
        .addColumn('indicator_id', 'bigint', (c) => c.notNull().references('indicators.id').onDelete('cascade'))
        .addColumn('analyzer', 'text', (c) => c.notNull())
        .addColumn('context', 'text')
        .addPrimaryKeyConstraint('sample_indicators_pk', ['sha256', 'indicator_id', 'analyzer'])
        .execute();
      await s.createIndex('sample_indicators_indicator_idx').on('sample_indicators').column('indicator_id').execute();

      await s
        .createTable('yara_matches')
        .addColumn('sha256', 'text', (c) => c.notNull().references('samples.sha256').onDelete('cascade'))
        .addColumn('ruleset_version', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('yara_matches_pk', ['sha256', 'ruleset_version', 'namespace', 'rule'])
        .execute();
      await s.createIndex('yara_matches_rule_idx').on('yara_matches').column('rule').execute();

      await s
        .createTable('hash_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('hash_type', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('sample_sha256', 'text', (c) => c.references('samples.sha256').onDelete('set null'))
        .addColumn('error_message', 'text')
        .addColumn('requested_by', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await s.createIndex('hash_requests_hash_idx').on('hash_requests').column('hash').execute();
      await s.createIndex('hash_requests_state_idx').on('hash_requests').columns(['state', 'created_at']).execute();

      await s
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('timeout_ms', 'bigint', (c) => c.notNull())
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_until', 'bigint')
        .addColumn('lease_owner', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // The claim reads due jobs in (priority desc, run_at asc) order straight off this partial index, so
      // its cost does not grow with the backlog; expired leases come from jobs_lease_idx. Both are partial so
      // no index leads with `state`, which would tempt the planner away from them.
      await s
        .createIndex('jobs_due_idx')
        .on('jobs')
        .columns(['priority desc', 'run_at'])
        .where(sql<boolean>`state in ('queued', 'failed')`)
        .execute();
      await s.createIndex('jobs_lease_idx').on('jobs').column('lease_until').where(sql<boolean>`state = 'running'`).execute();
      await s.createIndex('jobs_name_state_idx').on('jobs').columns(['name', 'state']).execute();
      await s.createIndex('jobs_created_idx').on('jobs').column('created_at').execute();

      await s
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('rate_limit_per_minute', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
    },

    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of DROP_ORDER) await db.schema.dropTable(table).ifExists().execute();
    },
  };
}

/** Children before parents, so foreign keys never block the drop. */
const DROP_ORDER = [
  'api_tokens',
  'jobs',
  'hash_requests',
  'yara_matches',
  'sample_indicators',
  'indicators',
  'analysis_results',
  'analyses',
  'relations',
  'sample_tags',
  'sample_sources',
  'sample_names',
  'samples',
] as const;

type CreateTable = ReturnType<Kysely<unknown>['schema']['createTable']>;

function withGeneratedId(dialect: MigrationDialect, table: CreateTable): CreateTable {
  switch (dialect) {
    case 'sqlite':
      // AUTOINCREMENT: ids are never reused after a delete, so a stale id cannot point at a new row.
      return table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
    case 'postgres':
      return table.addColumn('id', 'bigserial', (c) => c.primaryKey());
  }
}
