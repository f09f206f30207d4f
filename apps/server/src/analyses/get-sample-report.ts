import type { AnalysisStatus, AnalysisSummary, AnalyzerResult, SampleReport } from '@malpipe/api-client';
import type { Database } from '../database/database.js';
import type { ResultRow } from '../database/schema.js';
import { findSampleRow, listChildren, listParents, loadSample } from '../samples/sample-repository.js';
import { findAnalysis, listAnalysesOfSample, toAnalysis, type Analysis } from './analysis-repository.js';

/**
 * Read models of the pipeline's output, in the API's wire shapes (@malpipe/api-client), so the HTTP routes,
 * `malpipe analyze --json` and the dashboard show the same thing.
 */

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Stored by the pipeline from JSON.stringify, so this only happens on a hand-edited database.
    return null;
  }
}

function stringArray(text: string): string[] {
  const value = parseJson(text);
  return Array.isArray(value) ? value.map(String) : [];
}

type ResultHead = Omit<ResultRow, 'result'> & { readonly result?: string | null };

function toResultView(r: ResultHead): AnalyzerResult {
  return {
    analyzer: r.analyzer,
    analyzerVersion: r.analyzer_version,
    rulesetVersion: r.ruleset_version,
    status: r.status === 'ok' || r.status === 'error' ? r.status : 'skipped',
    result: parseJson(r.result ?? null),
    warnings: stringArray(r.warnings),
    errorCode: r.error_code,
    errorMessage: r.error_message,
    durationMs: r.duration_ms,
    createdAt: r.created_at,
  };
}

/**
 * The newest result of each analyser for a sample, by analyser name. Without `bodies` the `result` documents
 * (the bulk of the data: a strings analyser's output is megabytes) are neither read nor parsed and come back null.
 */
async function latestResults(db: Database, sha256: string, bodies = true): Promise<AnalyzerResult[]> {
  const query = db.selectFrom('analysis_results').where('sha256', '=', sha256).orderBy('created_at', 'desc').orderBy('id', 'desc');
  const rows: readonly ResultHead[] = bodies
    ? await query.selectAll().execute()
    : await query
        .select(['id', 'sha256', 'analyzer', 'analyzer_version', 'ruleset_version', 'status', 'warnings', 'error_code', 'error_message', 'duration_ms', 'created_at'])
        .execute();
  const latest = new Map<string, AnalyzerResult>();
  for (const row of rows) if (!latest.has(row.analyzer)) latest.set(row.analyzer, toResultView(row));
  return [...latest.values()].sort((a, b) => a.analyzer.localeCompare(b.analyzer));
}

export function toAnalysisSummary(a: Analysis): AnalysisSummary {
  return {
    id: a.id,
    sha256: a.sha256,
    rootId: a.rootId,
    parentId: a.parentId,
    depth: a.depth,
    state: a.state,
    errorCode: a.errorCode,
    errorMessage: a.errorMessage,
    createdAt: a.createdAt,
    startedAt: a.startedAt,
    finishedAt: a.finishedAt,
  };
}

export interface SampleReportOptions {
  /** False: every result's `result` is null (a summary that needs statuses and warnings only). Default true. */
  readonly resultBodies?: boolean;
}

/** Everything known about the sample with this MD5, SHA-1, SHA-256 or SHA-512; null when unknown. */
export async function getSampleReport(db: Database, hash: string, options: SampleReportOptions = {}): Promise<SampleReport | null> {
  const row = await findSampleRow(db, hash);
  if (row === null) return null;
  const sha256 = row.sha256;
  const [sample, results, parents, children, indicators, yaraRows, analyses] = await Promise.all([
    loadSample(db, row),
    latestResults(db, sha256, options.resultBodies ?? true),
    listParents(db, sha256),
    listChildren(db, sha256),
    db
      .selectFrom('sample_indicators')
      .innerJoin('indicators', 'indicators.id', 'sample_indicators.indicator_id')
      .select(['indicators.type', 'indicators.value', 'sample_indicators.analyzer', 'sample_indicators.context'])
      .where('sample_indicators.sha256', '=', sha256)
      .orderBy('indicators.type')
      .orderBy('indicators.value')
      .execute(),
    db.selectFrom('yara_matches').selectAll().where('sha256', '=', sha256).orderBy('namespace').orderBy('rule').execute(),
    listAnalysesOfSample(db, sha256),
  ]);
  return {
    sample: {
      sha256: sample.sha256,
      md5: sample.md5,
      sha1: sample.sha1,
      sha512: sample.sha512,
      size: sample.size,
      fileType: { ...sample.fileType, traits: [...sample.fileType.traits] },
      ssdeep: sample.ssdeep,
      tlsh: sample.tlsh,
      imphash: sample.imphash,
      firstSeen: sample.firstSeen,
      lastSeen: sample.lastSeen,
    },
    names: [...sample.fileNames],
    tags: [...sample.tags],
    sources: [...sample.sources],
    results,
    relations: {
      parents: parents.map((r) => ({ sha256: r.parentSha256, kind: r.kind, analyzer: r.analyzer, detail: r.detail })),
      children: children.map((r) => ({ sha256: r.childSha256, kind: r.kind, analyzer: r.analyzer, detail: r.detail })),
    },
    indicators: indicators.map((i) => ({ type: i.type, value: i.value, analyzer: i.analyzer, context: i.context })),
    yaraMatches: yaraRows.map((m) => ({ rule: m.rule, namespace: m.namespace, tags: stringArray(m.tags), rulesetVersion: m.ruleset_version })),
    analyses: analyses.map(toAnalysisSummary),
  };
}

/** An analysis with its sample's current results and its direct children; null when unknown. */
export async function getAnalysisStatus(db: Database, id: string): Promise<AnalysisStatus | null> {
  const analysis = await findAnalysis(db, id);
  if (analysis === null) return null;
  const [results, childRows] = await Promise.all([
    latestResults(db, analysis.sha256),
    db.selectFrom('analyses').selectAll().where('parent_id', '=', id).orderBy('created_at').execute(),
  ]);
  return { ...toAnalysisSummary(analysis), results, children: childRows.map((row) => toAnalysisSummary(toAnalysis(row))) };
}
