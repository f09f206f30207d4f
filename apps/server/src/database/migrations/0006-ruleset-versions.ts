import type { Kysely, Migration } from 'kysely';
import type { MigrationDialect } from './migration-dialect.js';

/**
 * Versioned YARA rulesets (see apps/server/src/rulesets/ruleset-tables.ts): immutable versions keyed by
 * content hash, the deploy/rollback log, and per-rule content history. Portable SQL, no dialect branch.
 */
export function rulesetVersionsSchema(_dialect: MigrationDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;
      await s
        .createTable('ruleset_versions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('parent_id', 'text')
        .addColumn('source_path', 'text')
        .addColumn('git_commit', 'text')
        .addColumn('files', 'text', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('rule_count', 'integer', (c) => c.notNull())
        .addColumn('check_report', 'text')
        .addColumn('check_passed', 'integer')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('activated_at', 'text')
        .execute();
      await s.createIndex('ruleset_versions_state_idx').on('ruleset_versions').column('state').execute();
      await s.createIndex('ruleset_versions_created_idx').on('ruleset_versions').column('created_at').execute();
      await s
        .createTable('ruleset_deployments')
        .addColumn('seq', 'integer', (c) => c.primaryKey())
        .addColumn('version_id', 'text', (c) => c.notNull().references('ruleset_versions.id'))
        .addColumn('deployed_at', 'text', (c) => c.notNull())
        .addColumn('deployed_by', 'text')
        .addColumn('rolled_back_at', 'text')
        .execute();
      await s
        .createTable('ruleset_rule_history')
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('rule_hash', 'text', (c) => c.notNull())
        .addColumn('first_version', 'text', (c) => c.notNull())
        .addColumn('last_version', 'text', (c) => c.notNull())
        .addColumn('first_seen_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('ruleset_rule_history_pk', ['namespace', 'name', 'rule_hash'])
        .execute();
      await s.createIndex('ruleset_rule_history_name_idx').on('ruleset_rule_history').column('name').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of ['ruleset_rule_history', 'ruleset_deployments', 'ruleset_versions']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}
