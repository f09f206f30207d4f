import type { ErrorCode, Indicator, ResultStatus } from '@malpipe/core';
import { AppError } from '@malpipe/core';
import { sql } from 'kysely';
import type { Database } from '../database/database.js';
import type { AnalysisRow } from '../database/schema.js';
import type { AnalysisOptions } from '../samples/submit-sample.js';

/** One YARA rule that matched, as stored in `yara_matches`. */
export interface YaraMatchRecord {
  readonly rule: string;
  readonly namespace: string;
  readonly tags: readonly string[];
}

/** An analysis as callers see it (API, CLI, reports). */
export interface Analysis {
  readonly id: string;
  readonly sha256: string;
  readonly rootId: string;
  readonly parentId: string | null;
  readonly depth: number;
  readonly state: 'queued' | 'running' | 'completed' | 'failed';
  readonly force: boolean;
  readonly options: AnalysisOptions;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export const ANALYSIS_STATES = ['queued', 'running', 'completed', 'failed'] as const;

export function toAnalysis(row: AnalysisRow): Analysis {
  return {
    id: row.id,
    sha256: row.sha256,
    rootId: row.root_id,
    parentId: row.parent_id,
    depth: row.depth,
    state: (ANALYSIS_STATES as readonly string[]).includes(row.state) ? (row.state as Analysis['state']) : 'failed',
    force: Number(row.force) === 1,
    options: parseOptions(row.options),
    errorCode: row.error_code,
    errorMessage: row.error_message,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function parseOptions(json: string): AnalysisOptions {
  const fallback: AnalysisOptions = { archivePasswords: [], requestedBy: null, fileName: null };
  try {
    const value = JSON.parse(json) as Partial<AnalysisOptions> | null;
    if (typeof value !== 'object' || value === null) return fallback;
    return {
      archivePasswords: Array.isArray(value.archivePasswords) ? value.archivePasswords.filter((p) => typeof p === 'string') : [],
      requestedBy: typeof value.requestedBy === 'string' ? value.requestedBy : null,
      fileName: typeof value.fileName === 'string' ? value.fileName : null,
    };
  } catch {
    // Written by submitSample only; a corrupt value degrades to defaults rather than failing the job.
    return fallback;
  }
}

export async function findAnalysis(db: Database, id: string): Promise<Analysis | null> {
  const row = await db.selectFrom('analyses').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toAnalysis(row);
}

/** Throws NOT_FOUND for an unknown id. */
export async function getAnalysis(db: Database, id: string): Promise<Analysis> {
  const analysis = await findAnalysis(db, id);
  if (analysis === null) throw new AppError('NOT_FOUND', `no analysis ${id}`);
  return analysis;
}

export async function listAnalysesOfSample(db: Database, sha256: string): Promise<readonly Analysis[]> {
  const rows = await db.selectFrom('analyses').selectAll().where('sha256', '=', sha256).orderBy('created_at').execute();
  return rows.map(toAnalysis);
}

/** Every analysis descending from a root (the root included). */
export async function listAnalysesOfRoot(db: Database, rootId: string): Promise<readonly Analysis[]> {
  const rows = await db.selectFrom('analyses').selectAll().where('root_id', '=', rootId).orderBy('depth').orderBy('created_at').execute();
  return rows.map(toAnalysis);
}

export async function markAnalysisRunning(db: Database, id: string, now: string): Promise<void> {
  await db.updateTable('analyses').set({ state: 'running', started_at: now }).where('id', '=', id).where('state', 'in', ['queued', 'running']).execute();
}

/**
 * Marks a queued or running analysis `running` and returns it, in one statement (a job's first query); null when
 * the analysis is finished or unknown, which `findAnalysis` then tells apart.
 */
export async function startAnalysis(db: Database, id: string, now: string): Promise<Analysis | null> {
  const row = await db
    .updateTable('analyses')
    .set({ state: 'running', started_at: now })
    .where('id', '=', id)
    .where('state', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
  return row === undefined ? null : toAnalysis(row);
}

export async function markAnalysisFinished(
  db: Database,
  id: string,
  outcome: { readonly state: 'completed' | 'failed'; readonly errorCode?: ErrorCode | string | null; readonly errorMessage?: string | null },
  now: string,
): Promise<void> {
  await db
    .updateTable('analyses')
    .set({ state: outcome.state, error_code: outcome.errorCode ?? null, error_message: outcome.errorMessage ?? null, finished_at: now })
    .where('id', '=', id)
    .execute();
}

export interface ResultKey {
  readonly sha256: string;
  readonly analyzer: string;
  readonly analyzerVersion: string;
  /** '' when the analyser does not use a ruleset. */
  readonly rulesetVersion: string;
}

export interface CachedResult {
  readonly status: string;
  readonly createdAt: string;
}

export async function findCachedResult(db: Database, key: ResultKey): Promise<CachedResult | null> {
  return (await findCachedResults(db, [key]))[0] ?? null;
}

/**
 * The stored results under each key (null where there is none), in the order of `keys`: one query for all the
 * analysers of a sample rather than one each.
 */
export async function findCachedResults(db: Database, keys: readonly ResultKey[]): Promise<readonly (CachedResult | null)[]> {
  if (keys.length === 0) return [];
  const rows = await db
    .selectFrom('analysis_results')
    .select(['sha256', 'analyzer', 'analyzer_version', 'ruleset_version', 'status', 'created_at'])
    .where('sha256', 'in', [...new Set(keys.map((k) => k.sha256))])
    .where('analyzer', 'in', [...new Set(keys.map((k) => k.analyzer))])
    .execute();
  const found = new Map(rows.map((r) => [cacheKeyId(r.sha256, r.analyzer, r.analyzer_version, r.ruleset_version), r]));
  return keys.map((k) => {
    const row = found.get(cacheKeyId(k.sha256, k.analyzer, k.analyzerVersion, k.rulesetVersion));
    return row === undefined ? null : { status: row.status, createdAt: row.created_at };
  });
}

function cacheKeyId(...parts: readonly string[]): string {
  return parts.join('\u0000');
}

export interface StoredResult {
  readonly status: ResultStatus;
  readonly result: unknown;
  readonly warnings: readonly string[];
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly durationMs: number;
}

/**
 * Stores one analyser's result under its cache key. `replace` (force) deletes the previous row first; without
 * it a row already there (another worker won the race) is kept and `false` returned.
 */
export async function storeResult(db: Database, key: ResultKey, stored: StoredResult, now: string, replace: boolean): Promise<boolean> {
  return (await storeResults(db, [{ key, stored, replace }], now)) > 0;
}

/**
 * `storeResult` for the analysers of one sample in one multi-row insert (one round trip rather than one each);
 * returns how many rows were inserted. The keys must differ from each other.
 */
export async function storeResults(
  db: Database,
  entries: readonly { readonly key: ResultKey; readonly stored: StoredResult; readonly replace: boolean }[],
  now: string,
): Promise<number> {
  if (entries.length === 0) return 0;
  for (const { key } of entries.filter((e) => e.replace)) {
    await db
      .deleteFrom('analysis_results')
      .where('sha256', '=', key.sha256)
      .where('analyzer', '=', key.analyzer)
      .where('analyzer_version', '=', key.analyzerVersion)
      .where('ruleset_version', '=', key.rulesetVersion)
      .execute();
  }
  const inserted = await db
    .insertInto('analysis_results')
    .values(
      entries.map(({ key, stored }) => ({
        sha256: key.sha256,
        analyzer: key.analyzer,
        analyzer_version: key.analyzerVersion,
        ruleset_version: key.rulesetVersion,
        status: stored.status,
        result: stored.result === undefined ? null : JSON.stringify(stored.result),
        warnings: JSON.stringify(stored.warnings),
        error_code: stored.errorCode,
        error_message: stored.errorMessage,
        duration_ms: Math.round(stored.durationMs),
        created_at: now,
      })),
    )
    .onConflict((oc) => oc.columns(['sha256', 'analyzer', 'analyzer_version', 'ruleset_version']).doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n);
}

/**
 * Rows per multi-row statement: at most 4 parameters a row keeps a chunk far below PostgreSQL's 65,535 and
 * SQLite's 32,766 bound parameters.
 */
const ROWS_PER_STATEMENT = 500;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Replaces the indicators one analyser found on one sample, deduplicating the indicator values themselves. Two
 * statements per 500 indicators (plus the delete) rather than three per indicator.
 */
export async function storeIndicators(db: Database, sha256: string, analyzer: string, indicators: readonly Indicator[], now: string): Promise<void> {
  await storeIndicatorSets(db, sha256, [{ analyzer, indicators }], now);
}

/**
 * `storeIndicators` for several analysers of one sample at once (one result transaction per sample). The
 * indicator values of every set are inserted in one (type, value) order, so concurrent transactions wait on each
 * other's unique-index entries in one order and never deadlock; then each set is linked to its analyser.
 */
export async function storeIndicatorSets(
  db: Database,
  sha256: string,
  sets: readonly { readonly analyzer: string; readonly indicators: readonly Indicator[] }[],
  now: string,
): Promise<void> {
  if (sets.length === 0) return;
  await db
    .deleteFrom('sample_indicators')
    .where('sha256', '=', sha256)
    .where('analyzer', 'in', sets.map((s) => s.analyzer))
    .execute();
  const values = new Map<string, Indicator>();
  const perSet = sets.map(({ analyzer, indicators }) => {
    const unique = new Map<string, Indicator>();
    for (const indicator of indicators) {
      const dedupeKey = `${indicator.type}\u0000${indicator.value}`;
      if (!unique.has(dedupeKey)) unique.set(dedupeKey, indicator);
      if (!values.has(dedupeKey)) values.set(dedupeKey, indicator);
    }
    return { analyzer, indicators: sortIndicators(unique.values()) };
  });
  for (const chunk of chunks(sortIndicators(values.values()), ROWS_PER_STATEMENT)) {
    await db
      .insertInto('indicators')
      .values(chunk.map((i) => ({ type: i.type, value: i.value, first_seen: now })))
      .onConflict((oc) => oc.columns(['type', 'value']).doNothing())
      .execute();
  }
  for (const { analyzer, indicators } of perSet) {
    for (const chunk of chunks(indicators, ROWS_PER_STATEMENT)) {
      // Links new and already known indicators alike by joining the chunk's values to their rows. SQLite needs
      // the `where true` to parse ON CONFLICT after a join.
      const found = sql.join(chunk.map((i) => sql`(${i.type}, ${i.value}, ${i.context ?? null})`));
      await sql`with found (type, value, context) as (values ${found})
        insert into sample_indicators (sha256, indicator_id, analyzer, context)
        select ${sha256}, indicators.id, ${analyzer}, found.context
        from found join indicators on indicators.type = found.type and indicators.value = found.value
        where true
        on conflict do nothing`.execute(db);
    }
  }
}

function sortIndicators(indicators: Iterable<Indicator>): Indicator[] {
  return [...indicators].sort((a, b) => compareText(a.type, b.type) || compareText(a.value, b.value));
}

/** Code-unit order, the same in every locale (localeCompare is not). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function storeYaraMatches(db: Database, sha256: string, rulesetVersion: string, matches: readonly YaraMatchRecord[]): Promise<void> {
  await db.deleteFrom('yara_matches').where('sha256', '=', sha256).where('ruleset_version', '=', rulesetVersion).execute();
  const unique = new Map<string, YaraMatchRecord>();
  for (const match of matches) {
    const dedupeKey = `${match.namespace}\u0000${match.rule}`;
    if (!unique.has(dedupeKey)) unique.set(dedupeKey, match);
  }
  for (const chunk of chunks([...unique.values()], ROWS_PER_STATEMENT)) {
    await db
      .insertInto('yara_matches')
      .values(chunk.map((m) => ({ sha256, ruleset_version: rulesetVersion, rule: m.rule, namespace: m.namespace, tags: JSON.stringify(m.tags) })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}
