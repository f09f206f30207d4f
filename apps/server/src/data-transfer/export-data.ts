import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { access, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '@malpipe/core';
import type { Database } from '../database/database.js';
import { sampleKey, type ObjectStore } from '../storage/object-store.js';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_TABLES,
  ARCHIVE_VERSION,
  MANIFEST_FILE,
  OBJECT_INDEX_FILE,
  OBJECTS_DIR,
  keyOf,
  latestMigration,
  readPage,
  type ArchiveFile,
  type ArchiveManifest,
  type ArchiveTable,
  type ObjectEntry,
  type Row,
} from './archive-format.js';

export interface Backends {
  readonly db: Database;
  readonly store: ObjectStore;
}

export interface ExportOptions {
  /** Rows per keyset page (default 500): memory stays bounded by one page whatever the table size. */
  readonly batchSize?: number;
  readonly onProgress?: (event: { readonly table: ArchiveTable; readonly rows: number }) => void;
}

/**
 * Writes every table (one NDJSON file each, in dependency order) and every object the rows reference into
 * `dir`, which must be empty or absent, then `manifest.json` with counts and SHA-256s. Stop the server and
 * workers first: rows written while the export runs may or may not be in the archive.
 */
export async function exportData(
  from: Backends,
  dir: string,
  options: ExportOptions = {},
): Promise<ArchiveManifest> {
  const batchSize = options.batchSize ?? 500;
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0)
    throw new AppError('VALIDATION_FAILED', `export directory ${dir} is not empty`);
  const migration = await latestMigration(from.db);

  const objects = new LineFile(join(dir, OBJECT_INDEX_FILE));
  let objectBytes = 0;
  const copyObject = async (key: string): Promise<void> => {
    const path = join(dir, OBJECTS_DIR, key);
    if (await exists(path)) return; // content-addressed keys repeat (a probe response served by many servers)
    const entry = await copyToFile(from.store, key, path);
    objectBytes += entry.size;
    await objects.write(entry);
  };

  const tables: (ArchiveFile & { table: ArchiveTable })[] = [];
  for (const table of Object.keys(ARCHIVE_TABLES) as ArchiveTable[]) {
    const file = `${table}.ndjson`;
    const out = new LineFile(join(dir, file));
    let after: unknown[] | null = null;
    for (;;) {
      const rows = await readPage(from.db, table, after, batchSize);
      for (const row of rows) {
        await out.write(row);
        for (const key of objectKeysOf(table, row)) await copyObject(key);
      }
      if (rows.length < batchSize) break;
      after = keyOf(table, rows[rows.length - 1] as Row);
    }
    tables.push({ table, file, count: out.count, sha256: await out.close() });
    options.onProgress?.({ table, rows: out.count });
  }
  const objectsFile = {
    file: OBJECT_INDEX_FILE,
    count: objects.count,
    bytes: objectBytes,
    sha256: await objects.close(),
  };
  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    createdAt: new Date().toISOString(),
    migration,
    tables,
    objects: objectsFile,
  };
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** The object keys a row refers to: the sample bytes, a probe's raw response, a ruleset version's sources. */
function objectKeysOf(table: ArchiveTable, row: Row): string[] {
  switch (table) {
    case 'samples':
      return [sampleKey(String(row.sha256))];
    case 'cs_probes':
      return typeof row.response_key === 'string' ? [row.response_key] : [];
    case 'ruleset_versions': {
      const files = JSON.parse(String(row.files)) as readonly { readonly key?: unknown }[];
      return files.flatMap((file) => (typeof file.key === 'string' ? [file.key] : []));
    }
    default:
      return [];
  }
}

/** Streams one object into `path` (through a temp name, so a present file is always whole), hashing it. */
async function copyToFile(store: ObjectStore, key: string, path: string): Promise<ObjectEntry> {
  await mkdir(dirname(path), { recursive: true });
  const hash = createHash('sha256');
  let size = 0;
  const tmp = `${path}.partial`;
  await pipeline(
    await store.get(key),
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.byteLength;
        done(null, chunk);
      },
    }),
    createWriteStream(tmp),
  );
  await rename(tmp, path);
  return { key, size, sha256: hash.digest('hex') };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** An NDJSON file written with back-pressure, hashed as it goes. */
class LineFile {
  readonly #stream: WriteStream;
  readonly #hash: Hash = createHash('sha256');
  #error: Error | null = null;
  count = 0;

  constructor(path: string) {
    this.#stream = createWriteStream(path);
    // Kept and rethrown by the next write or close (a full disk), rather than crashing the process.
    this.#stream.on('error', (error) => {
      this.#error = error;
    });
  }

  async write(value: unknown): Promise<void> {
    if (this.#error !== null)
      throw new AppError('STORAGE_FAILED', `cannot write the archive: ${this.#error.message}`, {
        cause: this.#error,
      });
    const line = `${JSON.stringify(value)}\n`;
    this.#hash.update(line);
    this.count++;
    if (!this.#stream.write(line)) await new Promise<void>((resolve) => this.#stream.once('drain', resolve));
  }

  /** Flushes and returns the file's SHA-256. */
  async close(): Promise<string> {
    if (this.#error === null) {
      await new Promise<void>((resolve, reject) => {
        this.#stream.once('error', reject);
        this.#stream.end(resolve);
      });
    }
    if (this.#error !== null)
      throw new AppError('STORAGE_FAILED', `cannot write the archive: ${this.#error.message}`, {
        cause: this.#error,
      });
    return this.#hash.digest('hex');
  }
}
