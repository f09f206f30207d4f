import type { Kysely, Migration } from 'kysely';
import type { MigrationDialect } from './migration-dialect.js';

/**
 * Cobalt Strike intelligence (see apps/server/src/cobaltstrike/cobaltstrike-tables.ts): deduplicated beacon
 * configs with search columns, their links to samples and team servers, and the probe history. Same portable
 * conventions as 0001: text timestamps and JSON, bigint integers.
 */
export function cobaltStrikeSchema(_dialect: MigrationDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;
      await s
        .createTable('cs_beacon_configs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('native_json', 'text', (c) => c.notNull())
        .addColumn('jpcert_json', 'text')
        .addColumn('watermark', 'bigint')
        .addColumn('public_key_md5', 'text')
        .addColumn('c2_hosts', 'text', (c) => c.notNull())
        .addColumn('version', 'text')
        .addColumn('architecture', 'text')
        .addColumn('trial', 'integer', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .execute();
      await s.createIndex('cs_beacon_configs_watermark_idx').on('cs_beacon_configs').column('watermark').execute();
      await s.createIndex('cs_beacon_configs_public_key_md5_idx').on('cs_beacon_configs').column('public_key_md5').execute();
      await s.createIndex('cs_beacon_configs_version_idx').on('cs_beacon_configs').column('version').execute();
      await s.createIndex('cs_beacon_configs_last_seen_idx').on('cs_beacon_configs').column('last_seen').execute();

      await s
        .createTable('cs_config_hosts')
        .addColumn('config_id', 'text', (c) => c.notNull().references('cs_beacon_configs.id').onDelete('cascade'))
        .addColumn('host', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('cs_config_hosts_pk', ['config_id', 'host'])
        .execute();
      await s.createIndex('cs_config_hosts_host_idx').on('cs_config_hosts').column('host').execute();

      await s
        .createTable('cs_config_samples')
        .addColumn('config_id', 'text', (c) => c.notNull().references('cs_beacon_configs.id').onDelete('cascade'))
        .addColumn('sha256', 'text', (c) => c.notNull().references('samples.sha256').onDelete('cascade'))
        .addColumn('analyzer', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('cs_config_samples_pk', ['config_id', 'sha256', 'analyzer'])
        .execute();
      await s.createIndex('cs_config_samples_sha256_idx').on('cs_config_samples').column('sha256').execute();

      await s
        .createTable('cs_team_servers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('address', 'text')
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text')
        .addColumn('last_probed_at', 'text')
        .addColumn('last_outcome', 'text')
        .addColumn('probe_count', 'integer', (c) => c.notNull())
        .execute();
      await s.createIndex('cs_team_servers_last_probed_idx').on('cs_team_servers').column('last_probed_at').execute();

      await s
        .createTable('cs_config_servers')
        .addColumn('config_id', 'text', (c) => c.notNull().references('cs_beacon_configs.id').onDelete('cascade'))
        .addColumn('server_id', 'text', (c) => c.notNull().references('cs_team_servers.id').onDelete('cascade'))
        .addColumn('scheme', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('cs_config_servers_pk', ['config_id', 'server_id', 'scheme'])
        .execute();
      await s.createIndex('cs_config_servers_server_idx').on('cs_config_servers').column('server_id').execute();

      await s
        .createTable('cs_probes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('probe_id', 'text', (c) => c.notNull())
        .addColumn('server_id', 'text', (c) => c.notNull().references('cs_team_servers.id').onDelete('cascade'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('scheme', 'text')
        .addColumn('arch', 'text')
        .addColumn('address', 'text')
        .addColumn('probed_at', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('http_status', 'integer')
        .addColumn('error', 'text')
        .addColumn('config_id', 'text', (c) => c.references('cs_beacon_configs.id').onDelete('set null'))
        .addColumn('response_key', 'text')
        .addColumn('body_size', 'bigint', (c) => c.notNull())
        .addColumn('tls_json', 'text')
        .addColumn('headers_json', 'text', (c) => c.notNull())
        .execute();
      await s.createIndex('cs_probes_server_idx').on('cs_probes').columns(['server_id', 'probed_at']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of ['cs_probes', 'cs_config_servers', 'cs_team_servers', 'cs_config_samples', 'cs_config_hosts', 'cs_beacon_configs']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}
