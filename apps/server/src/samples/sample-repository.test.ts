import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../database/create-database.js';
import type { Database } from '../database/database.js';
import {
  addRelation,
  addSampleNames,
  addSampleTags,
  detectHashType,
  findSampleByHash,
  listChildren,
  listParents,
  upsertSample,
  type SampleRecord,
} from './sample-repository.js';

function record(n: number): SampleRecord {
  const hex = (len: number) => n.toString(16).padStart(2, '0').repeat(len / 2);
  return {
    md5: hex(32),
    sha1: hex(40),
    sha256: hex(64),
    sha512: hex(128),
    size: 10 + n,
    fileType: { kind: 'text', format: 'text', mime: 'text/plain', description: 'ASCII text', traits: ['ascii'] },
  };
}

describe('sample repository', () => {
  let db: Database;
  beforeAll(async () => {
    db = await createDatabase('sqlite::memory:');
  });
  afterAll(() => db.destroy());

  it('keeps first_seen and moves last_seen forward on upsert', async () => {
    expect(await upsertSample(db, record(1), '2026-01-01T00:00:00.000Z')).toEqual({ isNew: true });
    expect(await upsertSample(db, record(1), '2026-02-01T00:00:00.000Z')).toEqual({ isNew: false });
    expect(await upsertSample(db, record(1), '2026-01-15T00:00:00.000Z')).toEqual({ isNew: false });
    const sample = await findSampleByHash(db, record(1).sha256);
    expect(sample).toMatchObject({ firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-02-01T00:00:00.000Z', size: 11 });
    expect(sample?.fileType).toEqual(record(1).fileType);
  });

  it('finds a sample by any of its hashes, in any case, and rejects non-digests', async () => {
    const r = record(1);
    for (const hash of [r.md5, r.sha1, r.sha256, r.sha512, r.sha256.toUpperCase()]) {
      expect((await findSampleByHash(db, hash))?.sha256).toBe(r.sha256);
    }
    expect(await findSampleByHash(db, record(9).md5)).toBeNull();
    await expect(findSampleByHash(db, 'not-a-hash')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(detectHashType('ab'.repeat(20))).toBe('sha1');
    expect(detectHashType('zz'.repeat(16))).toBeNull();
  });

  it('adds names and tags once, and lists relations in both directions', async () => {
    await upsertSample(db, record(2), '2026-01-01T00:00:00.000Z');
    await addSampleNames(db, record(1).sha256, ['a.exe', 'a.exe', 'b.exe'], '2026-01-01T00:00:00.000Z');
    await addSampleNames(db, record(1).sha256, ['a.exe'], '2026-01-02T00:00:00.000Z');
    await addSampleTags(db, record(1).sha256, ['apt', 'apt']);
    const relation = { parentSha256: record(1).sha256, childSha256: record(2).sha256, kind: 'extracted' as const, analyzer: 'archive', detail: 'x/y.txt' };
    await addRelation(db, relation, '2026-01-01T00:00:00.000Z');
    await addRelation(db, relation, '2026-01-01T00:00:01.000Z');
    const sample = await findSampleByHash(db, record(1).sha256);
    expect(sample?.fileNames).toEqual(['a.exe', 'b.exe']);
    expect(sample?.tags).toEqual(['apt']);
    expect(await listChildren(db, record(1).sha256)).toEqual([relation]);
    expect(await listParents(db, record(2).sha256)).toEqual([relation]);
    expect(await listParents(db, record(1).sha256)).toEqual([]);
  });
});
