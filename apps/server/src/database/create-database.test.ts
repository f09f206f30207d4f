import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppError } from '@malpipe/core';
import { createDatabase, dialectOf, migrateToLatest } from './create-database.js';
import type { Database } from './database.js';
import { createPostgresTestDatabase } from './postgres-test-database.js';
import type { NewSample, Schema } from './schema.js';

// Record<keyof Schema, ...> makes this list fail to compile when schema.ts gains a table the test forgets.
const TABLES: Record<keyof Schema, true> = {
  samples: true,
  sample_names: true,
  sample_sources: true,
  sample_tags: true,
  relations: true,
  analyses: true,
  analysis_results: true,
  indicators: true,
  sample_indicators: true,
  yara_matches: true,
  hash_requests: true,
  jobs: true,
  api_tokens: true,
  cs_beacon_configs: true,
  cs_config_hosts: true,
  cs_config_samples: true,
  cs_team_servers: true,
  cs_config_servers: true,
  cs_probes: true,
  rate_limit_slots: true,
  source_not_found: true,
  source_circuits: true,
  source_reports: true,
  hash_fetches: true,
  ruleset_versions: true,
  ruleset_deployments: true,
  ruleset_rule_history: true,
};

/** Tables the migrations create but a module types for itself instead of schema.ts (see queue/job-outbox.ts). */
const UNTYPED_TABLES = ['job_outbox'];
const ALL_TABLES = [...Object.keys(TABLES), ...UNTYPED_TABLES].sort();

const NOW = '2026-11-27T00:00:00.000Z';

function sample(sha256: string): NewSample {
  return {
    sha256,
    md5: `md5-${sha256}`,
    sha1: `sha1-${sha256}`,
    sha512: `sha512-${sha256}`,
    size: 5_000_000_000, // above 2^32: sizes are 64-bit
    file_kind: 'executable',
    file_format: 'pe32',
    mime: 'application/vnd.microsoft.portable-executable',
    file_description: 'PE32 executable',
    file_traits: '[]',
    ssdeep: null,
    tlsh: null,
    imphash: null,
    first_seen: NOW,
    last_seen: NOW,
  };
}

const open: Database[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const db of open.splice(0)) await db.destroy();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const UNIQUE_VIOLATION = /UNIQUE constraint failed|duplicate key value violates unique constraint/;
const FOREIGN_KEY_VIOLATION = /FOREIGN KEY constraint failed|violates foreign key constraint/;

const postgres = await createPostgresTestDatabase();
afterAll(async () => {
  if (postgres.available) await postgres.drop();
});

interface Backend {
  readonly name: string;
  readonly skip: string | null;
  open(): Promise<Database>;
}

const BACKENDS: readonly Backend[] = [
  { name: 'sqlite', skip: null, open: () => createDatabase('sqlite::memory:') },
  {
    name: 'postgres',
    skip: postgres.available ? null : postgres.reason,
    async open() {
      if (!postgres.available) throw new Error(postgres.reason);
      const db = await createDatabase(postgres.url, { poolSize: 2 });
      // One throwaway database per test file; each test starts from empty tables.
      await sql`truncate table ${sql.join(ALL_TABLES.map((t) => sql.table(t)))} restart identity cascade`.execute(db);
      return db;
    },
  },
];

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== null)(`createDatabase (${backend.name}${backend.skip === null ? '' : `; skipped: ${backend.skip}`})`, () => {
    async function openDb(): Promise<Database> {
      const db = await backend.open();
      open.push(db);
      return db;
    }

    it('creates exactly the tables of schema.ts (and the untyped ones), and re-running migrations is a no-op', async () => {
      const db = await openDb();
      const tables = (await db.introspection.getTables()).map((t) => t.name).sort();
      expect(tables).toEqual(ALL_TABLES);
      expect(dialectOf(db)).toBe(backend.name);
      expect(await migrateToLatest(db)).toEqual([]);
    });

    it('stores 64-bit sizes and epoch milliseconds as numbers', async () => {
      const db = await openDb();
      await db.insertInto('samples').values(sample('aa')).execute();
      const row = await db.selectFrom('samples').select('size').executeTakeFirstOrThrow();
      expect(row.size).toBe(5_000_000_000);
      const count = await db.selectFrom('samples').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(count.n).toBe(1);
    });

    it('enforces the analysis result cache key and the indicator (type, value) key', async () => {
      const db = await openDb();
      await db.insertInto('samples').values(sample('aa')).execute();
      const result = {
        sha256: 'aa',
        analyzer: 'pe',
        analyzer_version: '1',
        ruleset_version: '',
        status: 'ok',
        result: '{}',
        warnings: '[]',
        error_code: null,
        error_message: null,
        duration_ms: 3,
        created_at: NOW,
      };
      const first = await db.insertInto('analysis_results').values(result).returning('id').executeTakeFirstOrThrow();
      expect(first.id).toBeGreaterThan(0);
      await expect(db.insertInto('analysis_results').values(result).execute()).rejects.toThrow(UNIQUE_VIOLATION);
      await db.insertInto('analysis_results').values({ ...result, analyzer_version: '2' }).execute();
      const upsert = await db
        .insertInto('analysis_results')
        .values({ ...result, status: 'error' })
        .onConflict((oc) => oc.columns(['sha256', 'analyzer', 'analyzer_version', 'ruleset_version']).doUpdateSet({ status: 'error' }))
        .returning(['id', 'status'])
        .executeTakeFirstOrThrow();
      expect(upsert).toEqual({ id: first.id, status: 'error' });

      const indicator = { type: 'ipv4', value: '192.0.2.1', first_seen: NOW };
      await db.insertInto('indicators').values(indicator).execute();
      await expect(db.insertInto('indicators').values(indicator).execute()).rejects.toThrow(UNIQUE_VIOLATION);
      await db.insertInto('indicators').values({ ...indicator, type: 'domain' }).execute();
      const ignored = await db.insertInto('indicators').values(indicator).onConflict((oc) => oc.columns(['type', 'value']).doNothing()).execute();
      expect(ignored[0]?.numInsertedOrUpdatedRows).toBe(0n);
    });

    it('enforces foreign keys and cascades a sample delete to its rows', async () => {
      const db = await openDb();
      await expect(db.insertInto('sample_names').values({ sha256: 'missing', name: 'x.exe', first_seen: NOW }).execute()).rejects.toThrow(
        FOREIGN_KEY_VIOLATION,
      );
      await db.insertInto('samples').values([sample('aa'), sample('bb')]).execute();
      await db.insertInto('sample_names').values({ sha256: 'aa', name: 'x.exe', first_seen: NOW }).execute();
      await db.insertInto('sample_tags').values({ sha256: 'aa', tag: 'cobaltstrike' }).execute();
      await db
        .insertInto('relations')
        .values({ parent_sha256: 'bb', child_sha256: 'aa', kind: 'extracted', analyzer: 'zip', detail: null, created_at: NOW })
        .execute();
      await db.deleteFrom('samples').where('sha256', '=', 'aa').execute();
      expect(await db.selectFrom('sample_names').selectAll().execute()).toEqual([]);
      expect(await db.selectFrom('sample_tags').selectAll().execute()).toEqual([]);
      expect(await db.selectFrom('relations').selectAll().execute()).toEqual([]);
    });

    it('rolls a failed transaction back', async () => {
      const db = await openDb();
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('samples').values(sample('aa')).execute();
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await db.selectFrom('samples').selectAll().execute()).toEqual([]);
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('samples').values(sample('aa')).execute();
      });
      expect(await db.selectFrom('samples').select('sha256').execute()).toEqual([{ sha256: 'aa' }]);
    });
  });
}

describe.skipIf(!postgres.available)('createDatabase (postgres specifics)', () => {
  it('prepares short parameterised statements once per connection, but neither star projections nor long lists', async () => {
    if (!postgres.available) return;
    const db = await createDatabase(postgres.url, { poolSize: 1 });
    open.push(db);
    await sql`truncate table ${sql.join(ALL_TABLES.map((t) => sql.table(t)))} restart identity cascade`.execute(db);
    await db.insertInto('samples').values(sample('aa')).execute();
    for (let i = 0; i < 3; i++) {
      expect(await db.selectFrom('samples').select('size').where('sha256', '=', 'aa').executeTakeFirst()).toEqual({ size: 5_000_000_000 });
      expect(await db.selectFrom('samples').selectAll().where('sha256', '=', 'aa').executeTakeFirst()).toMatchObject({ sha256: 'aa' });
      const many = Array.from({ length: 40 }, (_, n) => `h${n}`);
      expect(await db.selectFrom('samples').select('sha256').where('sha256', 'in', ['aa', ...many]).execute()).toEqual([{ sha256: 'aa' }]);
    }
    // One connection: the pool hands the same one back, so this sees what it prepared.
    const prepared = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(db);
    const onSamples = prepared.rows.map((r) => r.statement).filter((statement) => statement.includes('"samples"'));
    expect(onSamples.sort()).toEqual([expect.stringMatching(/^insert into "samples" /), 'select "size" from "samples" where "sha256" = $1']);
  });
});

describe('createDatabase (sqlite specifics)', () => {
  it('creates the folder, uses WAL and keeps data across reopening without re-running migrations', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'malpipe-db-'));
    dirs.push(dir);
    const file = join(dir, 'nested', 'deeper', 'malpipe.db');
    const first = await createDatabase(`sqlite:${file}`);
    await first.insertInto('samples').values(sample('aa')).execute();
    const pragmas = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(first);
    expect(pragmas.rows[0]?.journal_mode).toBe('wal');
    const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(first);
    expect(fk.rows[0]?.foreign_keys).toBe(1);
    const busy = await sql<{ timeout: number }>`pragma busy_timeout`.execute(first);
    expect(busy.rows[0]?.timeout).toBe(5000);
    await first.destroy();
    expect(existsSync(file)).toBe(true);

    const second = await createDatabase(`sqlite:${file}`);
    open.push(second);
    expect(await migrateToLatest(second)).toEqual([]);
    const row = await second.selectFrom('samples').selectAll().executeTakeFirstOrThrow();
    expect(row.size).toBe(5_000_000_000);
  });

  it('reports a failed migration as DATABASE_FAILED naming it, and closes the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'malpipe-db-'));
    dirs.push(dir);
    const file = join(dir, 'clash.db');
    const raw = await createDatabase(`sqlite:${file}`, { migrate: false });
    await sql`create table samples (unrelated text)`.execute(raw);
    await raw.destroy();
    const failure = await createDatabase(`sqlite:${file}`).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({ code: 'DATABASE_FAILED', message: expect.stringContaining('0001-initial-schema') });
  });

  it('refuses unknown schemes and empty paths with CONFIG_INVALID', async () => {
    await expect(createDatabase('mysql://localhost/x')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(createDatabase('sqlite:')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  async function memoryDb(): Promise<Database> {
    const db = await createDatabase('sqlite::memory:');
    open.push(db);
    return db;
  }

  it.each([
    ['samples', 'md5', 'samples_md5_idx'],
    ['samples', 'sha1', 'samples_sha1_idx'],
    ['samples', 'sha512', 'samples_sha512_idx'],
    ['sample_names', 'name', 'sample_names_name_idx'],
    ['sample_tags', 'tag', 'sample_tags_tag_idx'],
    ['yara_matches', 'rule', 'yara_matches_rule_idx'],
    ['indicators', 'value', 'indicators_value_idx'],
  ])('answers a %s lookup by %s from an index', async (table, column, index) => {
    const db = await memoryDb();
    const plan = await sql<{ detail: string }>`explain query plan select * from ${sql.table(table)} where ${sql.ref(column)} = ${'x'}`.execute(db);
    expect(plan.rows.map((r) => r.detail).join('\n')).toContain(index);
  });

  it('serves the job claim from an index', async () => {
    const db = await memoryDb();
    const due = await sql<{ detail: string }>`explain query plan
      select id from jobs where name = ${'analyze-sample'} and state in ('queued', 'failed') and run_at <= ${1}
      order by priority desc, run_at limit 1`.execute(db);
    const duePlan = due.rows.map((r) => r.detail).join('\n');
    expect(duePlan).toContain('jobs_due_by_name_idx');
    expect(duePlan).not.toContain('TEMP B-TREE'); // no sort of the whole backlog per claim
    const expired = await sql<{ detail: string }>`explain query plan
      select id from jobs where state = 'running' and lease_until < 1 order by lease_until limit 1`.execute(db);
    expect(expired.rows.map((r) => r.detail).join('\n')).toContain('jobs_lease_idx');
  });
});
