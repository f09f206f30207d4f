import { sql } from 'kysely';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Indicator } from '@malpipe/core';
import { createDatabase } from '../database/create-database.js';
import type { Database } from '../database/database.js';
import { createPostgresTestDatabase } from '../database/postgres-test-database.js';
import { upsertSample } from '../samples/sample-repository.js';
import { findCachedResults, startAnalysis, storeIndicatorSets, storeIndicators, storeResult, storeYaraMatches, type ResultKey } from './analysis-repository.js';

const NOW = '2026-11-27T00:00:00.000Z';
const SHA = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

const postgres = await createPostgresTestDatabase();
afterAll(async () => {
  if (postgres.available) await postgres.drop();
});

const open: Database[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) await db.destroy();
});

/** The same assertions on both dialects: the batched statements are raw SQL in part. */
const BACKENDS = [
  { name: 'sqlite', skip: null, open: () => createDatabase('sqlite::memory:') },
  {
    name: 'postgres',
    skip: postgres.available ? null : postgres.reason,
    async open(): Promise<Database> {
      if (!postgres.available) throw new Error(postgres.reason);
      const db = await createDatabase(postgres.url, { poolSize: 4 });
      await sql`truncate table samples, analyses, analysis_results, indicators, sample_indicators, yara_matches restart identity cascade`.execute(db);
      return db;
    },
  },
] as const;

async function withSamples(open: () => Promise<Database>): Promise<Database> {
  const db = await open();
  for (const sha256 of [SHA, OTHER]) {
    await upsertSample(
      db,
      { sha256, md5: '0'.repeat(32), sha1: '0'.repeat(40), sha512: '0'.repeat(128), size: 1, fileType: { kind: 'text', format: 'text', mime: 'text/plain', description: 'text', traits: [] } },
      NOW,
    );
  }
  return db;
}

async function links(db: Database, sha256: string, analyzer: string): Promise<string[]> {
  const rows = await db
    .selectFrom('sample_indicators')
    .innerJoin('indicators', 'indicators.id', 'sample_indicators.indicator_id')
    .select(['indicators.type', 'indicators.value', 'sample_indicators.context'])
    .where('sample_indicators.sha256', '=', sha256)
    .where('sample_indicators.analyzer', '=', analyzer)
    .execute();
  return rows.map((r) => `${r.type}:${r.value}:${r.context ?? '-'}`).sort();
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== null)(`analysis repository (${backend.name})`, () => {
    const openDb = async (): Promise<Database> => {
      const db = await withSamples(backend.open);
      open.push(db);
      return db;
    };

    it('stores indicators deduplicated, reuses known ones and replaces only the same analyser links', async () => {
      const db = await openDb();
      await storeIndicators(db, OTHER, 'strings', [{ type: 'domain', value: 'known.example' }], NOW);
      const knownId = (await db.selectFrom('indicators').select('id').where('value', '=', 'known.example').executeTakeFirstOrThrow()).id;
      const found: Indicator[] = [
        { type: 'url', value: 'http://x.example/a', context: 'offset 10' },
        { type: 'domain', value: 'known.example' },
        { type: 'url', value: 'http://x.example/a', context: 'offset 99' }, // duplicate: the first one's context stays
        { type: 'ipv4', value: '10.1.2.3' },
      ];
      await storeIndicators(db, SHA, 'ioc', found, NOW);
      await storeIndicators(db, SHA, 'strings', [{ type: 'ipv4', value: '10.1.2.3', context: 's' }], NOW);
      expect(await links(db, SHA, 'ioc')).toEqual(['domain:known.example:-', 'ipv4:10.1.2.3:-', 'url:http://x.example/a:offset 10']);
      expect((await db.selectFrom('indicators').select('id').where('value', '=', 'known.example').executeTakeFirstOrThrow()).id).toBe(knownId);
      expect(await db.selectFrom('indicators').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 3 });

      // A rerun replaces this analyser's links and leaves the other analyser's alone.
      await storeIndicators(db, SHA, 'ioc', [{ type: 'domain', value: 'new.example' }], NOW);
      expect(await links(db, SHA, 'ioc')).toEqual(['domain:new.example:-']);
      expect(await links(db, SHA, 'strings')).toEqual(['ipv4:10.1.2.3:s']);
      await storeIndicators(db, SHA, 'ioc', [], NOW);
      expect(await links(db, SHA, 'ioc')).toEqual([]);
    });

    it('stores several analysers\' indicator sets at once, each linked to its analyser, replacing only those analysers', async () => {
      const db = await openDb();
      await storeIndicators(db, SHA, 'strings', [{ type: 'domain', value: 'old.example' }], NOW);
      await storeIndicators(db, SHA, 'elf', [{ type: 'domain', value: 'kept.example' }], NOW);
      await storeIndicatorSets(
        db,
        SHA,
        [
          { analyzer: 'ioc', indicators: [{ type: 'url', value: 'http://b.example/' }, { type: 'domain', value: 'a.example', context: 'ioc' }] },
          { analyzer: 'strings', indicators: [{ type: 'domain', value: 'a.example', context: 'strings' }] },
        ],
        NOW,
      );
      expect(await links(db, SHA, 'ioc')).toEqual(['domain:a.example:ioc', 'url:http://b.example/:-']);
      expect(await links(db, SHA, 'strings')).toEqual(['domain:a.example:strings']);
      expect(await links(db, SHA, 'elf')).toEqual(['domain:kept.example:-']);
      // One indicators row per value, shared by both analysers' links.
      expect(await db.selectFrom('indicators').select((eb) => eb.fn.countAll<number>().as('n')).where('value', '=', 'a.example').executeTakeFirstOrThrow()).toEqual({
        n: 1,
      });
    });

    it('stores more indicators and YARA matches than one statement takes', async () => {
      const db = await openDb();
      const many: Indicator[] = Array.from({ length: 1_234 }, (_, i) => ({ type: 'domain' as const, value: `host-${i}.example`, ...(i % 2 === 0 ? {} : { context: `c${i}` }) }));
      await storeIndicators(db, SHA, 'ioc', [...many, ...many.slice(0, 100)], NOW);
      expect((await links(db, SHA, 'ioc')).length).toBe(1_234);
      const matches = Array.from({ length: 1_100 }, (_, i) => ({ rule: `rule_${i}`, namespace: i % 2 === 0 ? 'a' : 'b', tags: [`t${i}`] }));
      await storeYaraMatches(db, SHA, 'v1', [...matches, matches[0]!]);
      const rows = await db.selectFrom('yara_matches').select(['rule', 'tags']).where('sha256', '=', SHA).where('ruleset_version', '=', 'v1').execute();
      expect(rows.length).toBe(1_100);
      expect(rows.find((r) => r.rule === 'rule_1099')?.tags).toBe('["t1099"]');
      await storeYaraMatches(db, SHA, 'v1', matches.slice(0, 3));
      expect((await db.selectFrom('yara_matches').select('rule').where('sha256', '=', SHA).execute()).length).toBe(3);
    });

    it('lets concurrent transactions store overlapping indicators in any order', async () => {
      const db = await openDb();
      const set: Indicator[] = Array.from({ length: 50 }, (_, i) => ({ type: 'domain', value: `shared-${i}.example` }));
      await Promise.all(
        [SHA, OTHER].map((sha256, n) =>
          db.transaction().execute((trx) => storeIndicators(trx, sha256, 'ioc', n === 0 ? set : [...set].reverse(), NOW)),
        ),
      );
      expect((await links(db, SHA, 'ioc')).length).toBe(50);
      expect((await links(db, OTHER, 'ioc')).length).toBe(50);
      expect(await db.selectFrom('indicators').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 50 });
    });

    it('finds the cached results of several analysers in one call, in the order asked', async () => {
      const db = await openDb();
      const key = (analyzer: string, analyzerVersion = '1', rulesetVersion = ''): ResultKey => ({ sha256: SHA, analyzer, analyzerVersion, rulesetVersion });
      const stored = { result: {}, warnings: [], errorCode: null, errorMessage: null, durationMs: 1 };
      await storeResult(db, key('hashes'), { ...stored, status: 'ok' }, NOW, false);
      await storeResult(db, key('yara', '1', 'r1'), { ...stored, status: 'error' }, '2026-11-28T00:00:00.000Z', false);
      await storeResult(db, { ...key('hashes'), sha256: OTHER }, { ...stored, status: 'ok' }, NOW, false);
      const found = await findCachedResults(db, [key('yara', '1', 'r2'), key('yara', '1', 'r1'), key('strings'), key('hashes'), key('hashes', '2')]);
      expect(found).toEqual([null, { status: 'error', createdAt: '2026-11-28T00:00:00.000Z' }, null, { status: 'ok', createdAt: NOW }, null]);
      expect(await findCachedResults(db, [])).toEqual([]);
    });

    it('starts a queued or running analysis and leaves a finished one alone', async () => {
      const db = await openDb();
      const analysis = (id: string, state: string) => ({
        id, sha256: SHA, root_id: id, parent_id: null, depth: 0, state, force: 0, options: '{}', error_code: null, error_message: null,
        created_at: NOW, started_at: null, finished_at: null,
      });
      await db.insertInto('analyses').values([analysis('q', 'queued'), analysis('r', 'running'), analysis('c', 'completed')]).execute();
      expect(await startAnalysis(db, 'q', '2026-11-28T00:00:00.000Z')).toMatchObject({ id: 'q', state: 'running', startedAt: '2026-11-28T00:00:00.000Z' });
      expect(await startAnalysis(db, 'r', '2026-11-29T00:00:00.000Z')).toMatchObject({ id: 'r', state: 'running' });
      expect(await startAnalysis(db, 'c', '2026-11-28T00:00:00.000Z')).toBeNull();
      expect(await startAnalysis(db, 'missing', '2026-11-28T00:00:00.000Z')).toBeNull();
      expect(await db.selectFrom('analyses').select(['state', 'started_at']).where('id', '=', 'c').executeTakeFirst()).toEqual({ state: 'completed', started_at: null });
    });
  });
}
