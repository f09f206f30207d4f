import type { FileType, RelationKind, Sample, SampleHashes, SampleRelation } from '@malpipe/core';
import { AppError, FILE_FORMATS, FILE_KINDS } from '@malpipe/core';
import type { Database } from '../database/database.js';
import type { SampleRow } from '../database/schema.js';

/**
 * Sample metadata over the Database seam: plain functions taking `db` or a transaction. Every write is
 * idempotent (insert-if-absent), because submissions and job handlers may run twice.
 */

export interface SampleRecord extends SampleHashes {
  readonly size: number;
  readonly fileType: FileType;
}

export const HASH_TYPES = ['md5', 'sha1', 'sha256', 'sha512'] as const;
export type HashType = (typeof HASH_TYPES)[number];

const HASH_LENGTHS: Readonly<Record<number, HashType>> = { 32: 'md5', 40: 'sha1', 64: 'sha256', 128: 'sha512' };

/** The hash type a hex digest's length implies, or null when it is not a digest. */
export function detectHashType(hash: string): HashType | null {
  if (!/^[0-9a-fA-F]+$/.test(hash)) return null;
  return HASH_LENGTHS[hash.length] ?? null;
}

/**
 * Inserts the sample or, when its SHA-256 is known, moves `last_seen` forward (first_seen never changes).
 * Returns whether the row is new.
 */
export async function upsertSample(db: Database, sample: SampleRecord, now: string): Promise<{ readonly isNew: boolean }> {
  const inserted = await db
    .insertInto('samples')
    .values({
      sha256: sample.sha256,
      md5: sample.md5,
      sha1: sample.sha1,
      sha512: sample.sha512,
      size: sample.size,
      file_kind: sample.fileType.kind,
      file_format: sample.fileType.format,
      mime: sample.fileType.mime,
      file_description: sample.fileType.description,
      file_traits: JSON.stringify(sample.fileType.traits),
      ssdeep: null,
      tlsh: null,
      imphash: null,
      first_seen: now,
      last_seen: now,
    })
    .onConflict((oc) => oc.column('sha256').doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) return { isNew: true };
  await db.updateTable('samples').set({ last_seen: now }).where('sha256', '=', sample.sha256).where('last_seen', '<', now).execute();
  return { isNew: false };
}

export async function addSampleNames(db: Database, sha256: string, names: readonly string[], now: string): Promise<void> {
  const unique = [...new Set(names)];
  if (unique.length === 0) return;
  // The (sha256, name) primary key makes this insert-if-absent in one statement; first_seen never moves.
  await db
    .insertInto('sample_names')
    .values(unique.map((name) => ({ sha256, name, first_seen: now })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function addSampleSources(db: Database, sha256: string, sources: readonly string[], now: string): Promise<void> {
  const unique = [...new Set(sources)];
  if (unique.length === 0) return;
  await db
    .insertInto('sample_sources')
    .values(unique.map((source) => ({ sha256, source, first_seen: now })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function addSampleTags(db: Database, sha256: string, tags: readonly string[]): Promise<void> {
  const unique = [...new Set(tags)];
  if (unique.length === 0) return;
  await db
    .insertInto('sample_tags')
    .values(unique.map((tag) => ({ sha256, tag })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** Records a parent -> child link once per (parent, child, analyser, detail). */
export async function addRelation(db: Database, relation: SampleRelation, now: string): Promise<void> {
  let query = db
    .selectFrom('relations')
    .select('kind')
    .where('parent_sha256', '=', relation.parentSha256)
    .where('child_sha256', '=', relation.childSha256)
    .where('analyzer', '=', relation.analyzer);
  query = relation.detail === null ? query.where('detail', 'is', null) : query.where('detail', '=', relation.detail);
  if ((await query.executeTakeFirst()) !== undefined) return;
  await db
    .insertInto('relations')
    .values({
      parent_sha256: relation.parentSha256,
      child_sha256: relation.childSha256,
      kind: relation.kind,
      analyzer: relation.analyzer,
      detail: relation.detail,
      created_at: now,
    })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function listParents(db: Database, sha256: string): Promise<readonly SampleRelation[]> {
  const rows = await db.selectFrom('relations').selectAll().where('child_sha256', '=', sha256).orderBy('created_at').execute();
  return rows.map(toRelation);
}

export async function listChildren(db: Database, sha256: string): Promise<readonly SampleRelation[]> {
  const rows = await db.selectFrom('relations').selectAll().where('parent_sha256', '=', sha256).orderBy('created_at').execute();
  return rows.map(toRelation);
}

export async function findSampleRow(db: Database, hash: string): Promise<SampleRow | null> {
  const type = detectHashType(hash);
  if (type === null) throw new AppError('VALIDATION_FAILED', 'not an MD5, SHA-1, SHA-256 or SHA-512 hex digest', { details: { hash } });
  const row = await db.selectFrom('samples').selectAll().where(type, '=', hash.toLowerCase()).executeTakeFirst();
  return row ?? null;
}

/** Finds a sample by any of its hashes (type from the digest length); null when unknown. */
export async function findSampleByHash(db: Database, hash: string): Promise<Sample | null> {
  const row = await findSampleRow(db, hash);
  return row === null ? null : loadSample(db, row);
}

/** Like findSampleByHash, but throws SAMPLE_NOT_FOUND. */
export async function getSample(db: Database, hash: string): Promise<Sample> {
  const sample = await findSampleByHash(db, hash);
  if (sample === null) throw new AppError('SAMPLE_NOT_FOUND', `no sample with hash ${hash}`);
  return sample;
}

export async function setSampleFuzzyHashes(
  db: Database,
  sha256: string,
  hashes: { readonly ssdeep?: string | null; readonly tlsh?: string | null; readonly imphash?: string | null },
): Promise<void> {
  const update: { ssdeep?: string; tlsh?: string; imphash?: string } = {};
  if (typeof hashes.ssdeep === 'string') update.ssdeep = hashes.ssdeep;
  if (typeof hashes.tlsh === 'string') update.tlsh = hashes.tlsh;
  if (typeof hashes.imphash === 'string') update.imphash = hashes.imphash;
  if (Object.keys(update).length === 0) return;
  await db.updateTable('samples').set(update).where('sha256', '=', sha256).execute();
}

/** The names a sample was submitted under, oldest first. */
export async function listSampleNames(db: Database, sha256: string): Promise<readonly string[]> {
  const rows = await db.selectFrom('sample_names').select('name').where('sha256', '=', sha256).orderBy('first_seen').execute();
  return rows.map((r) => r.name);
}

export async function loadSample(db: Database, row: SampleRow): Promise<Sample> {
  const [fileNames, sources, tags] = await Promise.all([
    listSampleNames(db, row.sha256),
    db.selectFrom('sample_sources').select('source').where('sha256', '=', row.sha256).orderBy('first_seen').execute(),
    db.selectFrom('sample_tags').select('tag').where('sha256', '=', row.sha256).orderBy('tag').execute(),
  ]);
  return {
    sha256: row.sha256,
    md5: row.md5,
    sha1: row.sha1,
    sha512: row.sha512,
    size: Number(row.size),
    fileType: rowFileType(row),
    fileNames,
    sources: sources.map((s) => s.source),
    tags: tags.map((t) => t.tag),
    ssdeep: row.ssdeep,
    tlsh: row.tlsh,
    imphash: row.imphash,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
  };
}

export function rowFileType(row: SampleRow): FileType {
  const kind = (FILE_KINDS as readonly string[]).includes(row.file_kind) ? (row.file_kind as FileType['kind']) : 'data';
  const format = (FILE_FORMATS as readonly string[]).includes(row.file_format) ? (row.file_format as FileType['format']) : 'unknown';
  return { kind, format, mime: row.mime, description: row.file_description, traits: parseStringArray(row.file_traits) };
}

function parseStringArray(json: string): readonly string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    // A corrupt traits column must not make the whole report unreadable.
    return [];
  }
}

function toRelation(row: {
  parent_sha256: string;
  child_sha256: string;
  kind: string;
  analyzer: string;
  detail: string | null;
}): SampleRelation {
  return {
    parentSha256: row.parent_sha256,
    childSha256: row.child_sha256,
    kind: row.kind as RelationKind,
    analyzer: row.analyzer,
    detail: row.detail,
  };
}
