import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, waitForIdle, type TestPlatform } from '../../test/pipeline-helpers.js';
import { createDatabase } from '../database/create-database.js';
import type { Database } from '../database/database.js';
import { createPostgresTestDatabase } from '../database/postgres-test-database.js';
import { importRuleset } from '../rulesets/ruleset-repository.js';
import { MemoryObjectStore } from '../storage/memory-object-store.js';
import { sampleKey } from '../storage/object-store.js';
import { S3ObjectStore } from '../storage/s3-object-store.js';
import { startS3TestServer, type S3TestServer } from '../storage/s3-test-server.js';
import {
  ARCHIVE_TABLES,
  MANIFEST_FILE,
  OBJECT_INDEX_FILE,
  type ArchiveManifest,
  type ArchiveTable,
  type ObjectEntry,
} from './archive-format.js';
import { exportData, type Backends } from './export-data.js';
import { importData } from './import-data.js';

const postgres = await createPostgresTestDatabase();
const TABLES = Object.keys(ARCHIVE_TABLES) as ArchiveTable[];

async function countRows(db: Database): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(
      db,
    );
    counts[table] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

async function objectEntries(dir: string): Promise<ObjectEntry[]> {
  const text = await readFile(join(dir, OBJECT_INDEX_FILE), 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ObjectEntry);
}

describe.skipIf(!postgres.available)(
  `export from embedded, import into PostgreSQL + S3${postgres.available ? '' : ` (skipped: ${postgres.reason})`}`,
  () => {
    let source: TestPlatform;
    let s3: S3TestServer;
    let target: Backends;
    const dirs: string[] = [];
    let archive = '';
    let sha256s: string[] = [];

    beforeAll(async () => {
      if (!postgres.available) throw new Error(postgres.reason);
      source = await startTestPlatform();
      const submitted = [];
      for (const text of ['first sample', 'second sample', 'third sample with more bytes']) {
        submitted.push(
          await source.platform.services.submitSample({
            content: new TextEncoder().encode(text),
            fileName: 'a.txt',
            source: 'test',
            tags: ['migration'],
          }),
        );
      }
      sha256s = submitted.map((s) => s.sha256);
      await waitForIdle(source.platform);
      const rules = await mkdtemp(join(tmpdir(), 'malpipe-transfer-rules-'));
      dirs.push(rules);
      await writeFile(join(rules, 'r.yar'), 'rule Transfer_Marker { strings: $m = "third" condition: $m }\n');
      await importRuleset({ db: source.platform.db, store: source.platform.store }, rules);

      archive = join(await mkdtemp(join(tmpdir(), 'malpipe-archive-')), 'archive');
      dirs.push(archive);
      s3 = await startS3TestServer();
      const bucket = await s3.createBucket();
      target = {
        db: await createDatabase(postgres.url),
        store: new S3ObjectStore({ client: s3.client(), bucket, prefix: 'malpipe/' }),
      };
    }, 30_000);

    afterAll(async () => {
      await target?.db.destroy();
      await s3?.stop();
      await source?.dispose();
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
      if (postgres.available) await postgres.drop();
    });

    it('exports every table and referenced object, and imports them with equal counts and bytes', async () => {
      const from = { db: source.platform.db, store: source.platform.store };
      const manifest = await exportData(from, archive, { batchSize: 2 }); // small pages exercise the keyset paging
      const sourceCounts = await countRows(from.db);
      expect(manifest.migration).toBe('0006-ruleset-versions');
      expect(Object.fromEntries(manifest.tables.map((t) => [t.table, t.count]))).toEqual(sourceCounts);
      expect(sourceCounts.samples).toBe(3);
      expect(sourceCounts.analysis_results).toBeGreaterThan(0);
      const entries = await objectEntries(archive);
      expect(entries.map((e) => e.key)).toEqual(expect.arrayContaining(sha256s.map(sampleKey)));
      expect(entries.some((e) => e.key.startsWith('rulesets/sources/'))).toBe(true);

      const report = await importData(target, archive, { batchSize: 2 });
      expect(await countRows(target.db)).toEqual(sourceCounts);
      expect(report.objects).toEqual({ count: entries.length, written: entries.length });
      for (const entry of entries) {
        expect(Buffer.from(await target.store.getBytes(entry.key))).toEqual(
          Buffer.from(await from.store.getBytes(entry.key)),
        );
      }
      // The bigserial sequences moved past the imported ids.
      await target.db
        .insertInto('indicators')
        .values({ type: 'domain', value: 'after-import.example', first_seen: new Date().toISOString() })
        .execute();
    });

    it('imports nothing the second time', async () => {
      const report = await importData(target, archive);
      expect(report.tables.every((t) => t.inserted === 0)).toBe(true);
      expect(report.objects.written).toBe(0);
    });

    it('refuses a tampered object and a manifest newer than the target schema', async () => {
      const empty: Backends = { db: await createDatabase('sqlite::memory:'), store: new MemoryObjectStore() };
      try {
        const tampered = `${archive}-tampered`;
        dirs.push(tampered);
        await cp(archive, tampered, { recursive: true });
        const key = sampleKey(sha256s[0] as string);
        await writeFile(join(tampered, 'objects', key), 'not the original bytes');
        await expect(importData(empty, tampered)).rejects.toMatchObject({
          code: 'MALFORMED_INPUT',
          message: expect.stringContaining(key),
        });
        expect(await empty.store.has(key)).toBe(false);
        expect(await countRows(empty.db)).toMatchObject({ samples: 0 });

        const future = `${archive}-future`;
        dirs.push(future);
        await cp(archive, future, { recursive: true });
        const manifest = JSON.parse(await readFile(join(future, MANIFEST_FILE), 'utf8')) as ArchiveManifest;
        await writeFile(
          join(future, MANIFEST_FILE),
          JSON.stringify({ ...manifest, migration: '9999-from-the-future' }),
        );
        await expect(importData(empty, future)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      } finally {
        await empty.db.destroy();
      }
    });
  },
);
