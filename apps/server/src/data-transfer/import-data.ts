import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { sql, type Kysely } from 'kysely';
import { AppError } from '@malpipe/core';
import { dialectOf } from '../database/create-database.js';
import { validateObjectKey } from '../storage/validate-object-key.js';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_TABLES,
  ARCHIVE_VERSION,
  GENERATED_ID_TABLES,
  MANIFEST_FILE,
  OBJECTS_DIR,
  latestMigration,
  type ArchiveManifest,
  type ArchiveTable,
  type ObjectEntry,
  type Row,
} from './archive-format.js';
import type { Backends } from './export-data.js';

export interface ImportOptions {
  /** Rows per insert (default 500). */
  readonly batchSize?: number;
  readonly onProgress?: (event: {
    readonly table: ArchiveTable;
    readonly rows: number;
    readonly inserted: number;
  }) => void;
}

export interface ImportReport {
  readonly migration: string;
  /** Rows read and rows actually inserted (the rest were already there), per table. */
  readonly tables: readonly {
    readonly table: ArchiveTable;
    readonly rows: number;
    readonly inserted: number;
  }[];
  /** Objects read and objects written (the rest were already in the store). */
  readonly objects: { readonly count: number; readonly written: number };
}

/** An object key ending in a SHA-256 names its content (`samples/ab/<sha256>`, `cs-responses/...`, `rulesets/sources/...`). */
const CONTENT_ADDRESS = /(?:^|\/)([0-9a-f]{64})$/;

/**
 * Loads an archive written by exportData into `to`. Every file is checked against the manifest first, and
 * every object against its SHA-256 (and its key, when the key is a content address) before it is stored.
 * Objects go in before rows, so no row ever points at missing bytes. Rows are inserted with
 * `on conflict do nothing`, so a re-run after a crash finishes the job and a second run inserts nothing.
 * Queue state is not in the archive: analyses left queued or running are re-queued by the start-up sweep
 * of the next `malpipe serve`/`worker` (recoverPlatform).
 */
export async function importData(
  to: Backends,
  dir: string,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const batchSize = options.batchSize ?? 500;
  const manifest = await readManifest(dir);
  const target = await latestMigration(to.db);
  if (manifest.migration > target) {
    throw new AppError(
      'VALIDATION_FAILED',
      `the archive's schema (${manifest.migration}) is newer than the target database's (${target || 'none'}): upgrade malpipe and run \`malpipe migrate\` first`,
    );
  }
  for (const file of [...manifest.tables, manifest.objects]) await verifyFile(dir, file.file, file.sha256);

  let written = 0;
  let count = 0;
  for await (const entry of readLines<ObjectEntry>(join(dir, manifest.objects.file))) {
    count++;
    if (await importObject(to, dir, entry)) written++;
  }

  const db = to.db as unknown as Kysely<Record<string, Row>>;
  const tables: ImportReport['tables'][number][] = [];
  for (const { table, file } of manifest.tables) {
    if (!(table in ARCHIVE_TABLES))
      throw new AppError('MALFORMED_INPUT', `unknown table ${table} in the archive`);
    let rows = 0;
    let inserted = 0;
    let batch: Row[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const result = await db
        .insertInto(table)
        .values(batch)
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
      batch = [];
    };
    for await (const row of readLines<Row>(join(dir, file))) {
      rows++;
      batch.push(row);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    tables.push({ table, rows, inserted });
    options.onProgress?.({ table, rows, inserted });
  }
  if (dialectOf(to.db) === 'postgres') {
    // Explicit ids do not advance a bigserial's sequence; without this the next insert would collide.
    for (const table of GENERATED_ID_TABLES) {
      await sql`select setval(pg_get_serial_sequence(${table}, 'id'), coalesce(max(id), 0) + 1, false) from ${sql.table(table)}`.execute(
        to.db,
      );
    }
  }
  return { migration: manifest.migration, tables, objects: { count, written } };
}

async function readManifest(dir: string): Promise<ArchiveManifest> {
  let manifest: ArchiveManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as ArchiveManifest;
  } catch (error) {
    throw new AppError(
      'MALFORMED_INPUT',
      `${dir} has no readable ${MANIFEST_FILE} (not an archive, or its export did not finish)`,
      { cause: error },
    );
  }
  if (manifest.format !== ARCHIVE_FORMAT || manifest.version !== ARCHIVE_VERSION) {
    throw new AppError(
      'MALFORMED_INPUT',
      `${dir} is not a ${ARCHIVE_FORMAT} version ${ARCHIVE_VERSION} archive`,
    );
  }
  return manifest;
}

async function verifyFile(dir: string, file: string, sha256: string): Promise<void> {
  if (!/^[a-z0-9_]+\.ndjson$/.test(file))
    throw new AppError('MALFORMED_INPUT', `invalid archive file name ${JSON.stringify(file)}`);
  const actual = await hashFile(join(dir, file));
  if (actual !== sha256)
    throw new AppError(
      'MALFORMED_INPUT',
      `${file} does not match the manifest's SHA-256 (damaged or edited archive)`,
    );
}

/** Verifies and stores one object; false when the store already had it. */
async function importObject(to: Backends, dir: string, entry: ObjectEntry): Promise<boolean> {
  const key = validateObjectKey(entry.key);
  const path = join(dir, OBJECTS_DIR, key);
  const actual = await hashFile(path);
  const addressed = CONTENT_ADDRESS.exec(key)?.[1];
  if (actual !== entry.sha256 || (addressed !== undefined && actual !== addressed)) {
    throw new AppError(
      'MALFORMED_INPUT',
      `object ${key} does not match its SHA-256 (damaged or tampered archive); nothing after it was imported`,
    );
  }
  if (await to.store.has(key)) return false;
  await to.store.put(key, createReadStream(path));
  return true;
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    throw new AppError('MALFORMED_INPUT', `cannot read ${path} from the archive`, { cause: error });
  }
  return hash.digest('hex');
}

async function* readLines<T>(path: string): AsyncGenerator<T> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line !== '') yield JSON.parse(line) as T;
  }
}
