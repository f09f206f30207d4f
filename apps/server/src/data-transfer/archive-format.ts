import { sql } from 'kysely';
import type { Database } from '../database/database.js';
import type { Schema } from '../database/schema.js';

/**
 * The tables an archive carries, in dependency order (parents before children, so foreign keys hold while
 * importing), each with the key columns that order its keyset pages. Queue state (`jobs`, `job_outbox`) is
 * left out on purpose: the target's start-up sweep re-queues analyses and hash requests left queued or running.
 * Keyed by Schema, so a new table without an entry here is a compile error rather than silently not exported.
 */
export const ARCHIVE_TABLES = {
  samples: ['sha256'],
  sample_names: ['sha256', 'name'],
  sample_sources: ['sha256', 'source'],
  sample_tags: ['sha256', 'tag'],
  relations: ['parent_sha256', 'child_sha256', 'kind'],
  analyses: ['id'],
  analysis_results: ['id'],
  indicators: ['id'],
  sample_indicators: ['sha256', 'indicator_id', 'analyzer'],
  yara_matches: ['sha256', 'ruleset_version', 'namespace', 'rule'],
  hash_requests: ['id'],
  hash_fetches: ['hash_request_id'],
  api_tokens: ['id'],
  cs_beacon_configs: ['id'],
  cs_config_hosts: ['config_id', 'host'],
  cs_config_samples: ['config_id', 'sha256', 'analyzer'],
  cs_team_servers: ['id'],
  cs_config_servers: ['config_id', 'server_id', 'scheme'],
  cs_probes: ['id'],
  rate_limit_slots: ['key', 'slot'],
  source_not_found: ['source', 'hash'],
  source_circuits: ['source'],
  source_reports: ['source', 'sha256'],
  ruleset_versions: ['id'],
  ruleset_deployments: ['seq'],
  ruleset_rule_history: ['namespace', 'name', 'rule_hash'],
} as const satisfies { readonly [T in Exclude<keyof Schema, 'jobs'>]: readonly (keyof Schema[T] & string)[] };

export type ArchiveTable = keyof typeof ARCHIVE_TABLES;

/** Tables whose `id` a sequence generates on PostgreSQL (bigserial); the import moves the sequence past them. */
export const GENERATED_ID_TABLES = [
  'analysis_results',
  'indicators',
] as const satisfies readonly ArchiveTable[];

export const ARCHIVE_FORMAT = 'malpipe-archive';
export const ARCHIVE_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
/** One `{ key, size, sha256 }` line per object; the bytes are under `objects/<key>`. */
export const OBJECT_INDEX_FILE = 'objects.ndjson';
export const OBJECTS_DIR = 'objects';

export interface ArchiveFile {
  readonly file: string;
  /** Rows (tables) or objects (the object index). */
  readonly count: number;
  readonly sha256: string;
}

/** Written last: an archive without one is incomplete (the export died) and the import refuses it. */
export interface ArchiveManifest {
  readonly format: typeof ARCHIVE_FORMAT;
  readonly version: typeof ARCHIVE_VERSION;
  readonly createdAt: string;
  /** The newest schema migration applied to the source database. */
  readonly migration: string;
  readonly tables: readonly (ArchiveFile & { readonly table: ArchiveTable })[];
  readonly objects: ArchiveFile & { readonly bytes: number };
}

export interface ObjectEntry {
  readonly key: string;
  readonly size: number;
  readonly sha256: string;
}

export type Row = Record<string, unknown>;

/** Rows of `table` after `after` (the previous page's last key values, or null), ordered by its key. */
export async function readPage(
  db: Database,
  table: ArchiveTable,
  after: readonly unknown[] | null,
  limit: number,
): Promise<Row[]> {
  const keys = sql.join(ARCHIVE_TABLES[table].map((column) => sql.ref(column)));
  const where =
    after === null ? sql`` : sql`where (${keys}) > (${sql.join(after.map((value) => sql`${value}`))})`;
  const { rows } =
    await sql<Row>`select * from ${sql.table(table)} ${where} order by ${keys} limit ${limit}`.execute(db);
  return rows;
}

/** Keys of the last row of a page, to continue after it. */
export function keyOf(table: ArchiveTable, row: Row): unknown[] {
  return ARCHIVE_TABLES[table].map((column) => row[column]);
}

/** The newest migration applied to `db` ('' when none). */
export async function latestMigration(db: Database): Promise<string> {
  const { rows } = await sql<{
    name: string;
  }>`select name from kysely_migration order by name desc limit 1`.execute(db);
  return rows[0]?.name ?? '';
}
