import type { ErrorCode, Indicator, ResultStatus } from '@malpipe/core';
import { AppError } from '@malpipe/core';
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

export async function findCachedResult(db: Database, key: ResultKey): Promise<{ readonly status: string; readonly createdAt: string } | null> {
  const row = await db
    .selectFrom('analysis_results')
    .select(['status', 'created_at'])
    .where('sha256', '=', key.sha256)
    .where('analyzer', '=', key.analyzer)
    .where('analyzer_version', '=', key.analyzerVersion)
    .where('ruleset_version', '=', key.rulesetVersion)
    .executeTakeFirst();
  return row === undefined ? null : { status: row.status, createdAt: row.created_at };
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
  if (replace) {
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
    .values({
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
    })
    .onConflict((oc) => oc.columns(['sha256', 'analyzer', 'analyzer_version', 'ruleset_version']).doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Replaces the indicators one analyser found on one sample, deduplicating the indicator values themselves. */
export async function storeIndicators(db: Database, sha256: string, analyzer: string, indicators: readonly Indicator[], now: string): Promise<void> {
  await db.deleteFrom('sample_indicators').where('sha256', '=', sha256).where('analyzer', '=', analyzer).execute();
  const seen = new Set<string>();
  for (const indicator of indicators) {
    const dedupeKey = `${indicator.type}\u0000${indicator.value}`;
    if (seen.has(dedupeKey)) continue;
    seen.add(dedupeKey);
    await db
      .insertInto('indicators')
      .values({ type: indicator.type, value: indicator.value, first_seen: now })
      .onConflict((oc) => oc.columns(['type', 'value']).doNothing())
      .execute();
    const row = await db
      .selectFrom('indicators')
      .select('id')
      .where('type', '=', indicator.type)
      .where('value', '=', indicator.value)
      .executeTakeFirstOrThrow();
    await db
      .insertInto('sample_indicators')
      .values({ sha256, indicator_id: Number(row.id), analyzer, context: indicator.context ?? null })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

export async function storeYaraMatches(db: Database, sha256: string, rulesetVersion: string, matches: readonly YaraMatchRecord[]): Promise<void> {
  await db.deleteFrom('yara_matches').where('sha256', '=', sha256).where('ruleset_version', '=', rulesetVersion).execute();
  const seen = new Set<string>();
  for (const match of matches) {
    const dedupeKey = `${match.namespace}\u0000${match.rule}`;
    if (seen.has(dedupeKey)) continue;
    seen.add(dedupeKey);
    await db
      .insertInto('yara_matches')
      .values({ sha256, ruleset_version: rulesetVersion, rule: match.rule, namespace: match.namespace, tags: JSON.stringify(match.tags) })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}
