import { createHash } from 'node:crypto';
import type { Analyzer, AnalyzerLimits, AnalyzerOutput, ChildSample, SampleFacts } from '@malpipe/analyzers';
import type { Indicator } from '@malpipe/core';
import { AppError, INDICATOR_TYPES, isAppError } from '@malpipe/core';
import type { Database } from '../database/database.js';
import type { SandboxInput, SandboxOutcome } from '../sandbox/sandbox-protocol.js';
import { SANDBOX_CLOSED_CODE, type SandboxBatchRequest } from '../sandbox/analyzer-sandbox.js';
import { sampleKey, type ObjectStore } from '../storage/object-store.js';
import { recordCobaltStrikeResult, type EnqueueCsProbe } from '../cobaltstrike/record-cobaltstrike-result.js';
import { addSampleTags, findSampleRow, listSampleNames, rowFileType, setSampleFuzzyHashes } from '../samples/sample-repository.js';
import { MAX_TAGS, type SubmitSampleInput, type SubmitSampleResult } from '../samples/submit-sample.js';
import {
  findCachedResults,
  getAnalysis,
  markAnalysisFinished,
  startAnalysis,
  storeIndicatorSets,
  storeResults,
  storeYaraMatches,
  type Analysis,
  type CachedResult,
  type ResultKey,
  type StoredResult,
  type YaraMatchRecord,
} from './analysis-repository.js';

/** Where analysers run: the sandbox pool in production, anything with the same `runAll` in tests. */
export interface AnalyzerRunner {
  /** One outcome per analyser of the request, in order, each resolved when that analyser is done. */
  runAll(request: SandboxBatchRequest): readonly Promise<SandboxOutcome>[];
}

export interface RunAnalysisDeps {
  readonly db: Database;
  readonly store: ObjectStore;
  readonly runner: AnalyzerRunner;
  /** Used for `accepts`, `version` and `usesRuleset`; they run inside the runner. */
  readonly analyzers: readonly Analyzer[];
  /** Version of the active YARA ruleset, or null when none is loaded. */
  readonly rulesetVersion: string | null;
  /** The platform's default archive passwords; other passwords get their own cache key (see Analyzer). */
  readonly defaultArchivePasswords?: readonly string[];
  readonly limits: AnalyzerLimits;
  /** Stores a child sample and queues its analysis (submitSample with the platform's deps). */
  readonly submitChild: (input: SubmitSampleInput) => Promise<SubmitSampleResult>;
  /** Read cap when the store has no local path and the bytes travel to the sandbox. */
  readonly maxSampleBytes: number;
  /** Queues a Cobalt Strike probe of a stager URL in the result transaction; absent: stagers are not probed. */
  readonly enqueueCsProbe?: EnqueueCsProbe;
  readonly now?: () => Date;
}

export interface AnalyzerRunSummary {
  readonly analyzer: string;
  readonly status: 'ok' | 'error' | 'cached';
  readonly errorCode?: string;
}

export interface AnalysisOutcome {
  readonly analysisId: string;
  readonly sha256: string;
  readonly state: 'completed' | 'failed';
  readonly analyzers: readonly AnalyzerRunSummary[];
  /** Analysis ids of the children queued by this run. */
  readonly childAnalysisIds: readonly string[];
}

/**
 * The `analyze-sample` job handler. Idempotent under at-least-once delivery: a finished analysis is left
 * alone, good results already stored under their cache key are not recomputed (with `force`, only results
 * stored since this analysis was created count), children are deduplicated per parent analysis.
 */
export async function runAnalysis(deps: RunAnalysisDeps, analysisId: string): Promise<AnalysisOutcome> {
  const now = (): string => (deps.now?.() ?? new Date()).toISOString();
  const analysis = await startAnalysis(deps.db, analysisId, now());
  if (analysis === null) {
    // Finished (a redelivered job), or unknown: getAnalysis throws NOT_FOUND.
    const current = await getAnalysis(deps.db, analysisId);
    if (current.state === 'completed' || current.state === 'failed') {
      return { analysisId, sha256: current.sha256, state: current.state, analyzers: [], childAnalysisIds: [] };
    }
    throw new AppError('CONFLICT', `analysis ${analysisId} was requeued while starting`, { retryable: true });
  }

  // Without an active ruleset a ruleset analyser has nothing to say, and caching that would be noise.
  const candidates = deps.analyzers
    .filter((a) => a.usesRuleset !== true || deps.rulesetVersion !== null)
    .map((analyzer) => ({ analyzer, key: resultKey(deps, analyzer, analysis.sha256, analysis.options.archivePasswords) }));
  // Independent reads at once rather than one after the other (each is a round trip to another service): the
  // sample row, its names, its bytes, and every candidate analyser's cached result in one query.
  const [row, fileNames, loaded, cachedResults] = await Promise.all([
    findSampleRow(deps.db, analysis.sha256),
    listSampleNames(deps.db, analysis.sha256),
    sampleInput(deps, analysis.sha256).then(
      (input) => ({ input }),
      (error: unknown) => ({ error }),
    ),
    findCachedResults(deps.db, candidates.map((c) => c.key)),
  ]);
  if (row === null) return fail(deps, analysis, new AppError('SAMPLE_NOT_FOUND', `sample ${analysis.sha256} is not in the database`), now());
  if ('error' in loaded) {
    if (isAppError(loaded.error) && !loaded.error.retryable) return fail(deps, analysis, loaded.error, now());
    throw loaded.error;
  }
  const input: SandboxInput = loaded.input;
  // The facts need the names only; sources and tags (loadSample) would be two more queries per analysis.
  const facts: SampleFacts = {
    sha256: row.sha256,
    size: Number(row.size),
    fileType: rowFileType(row),
    fileNames,
    depth: analysis.depth,
  };

  const planned = candidates.map((c, i) => ({ ...c, cached: cachedResults[i] ?? null })).filter((c) => safeAccepts(c.analyzer, facts));
  const runs = planned.map((p) => {
    const cached = p.cached;
    // Reused: a good result unless forced; anything this analysis already stored (a redelivered job). An error
    // from an earlier analysis (a timeout on a busy machine...) gets another chance.
    const reusable = cached !== null && ((cached.status === 'ok' && !analysis.force) || cached.createdAt >= analysis.createdAt);
    return { ...p, cached, reusable };
  });
  // One sandbox call for the sample (read once in the child); each result is stored as soon as it arrives.
  const toRun = runs.filter((r) => !r.reusable);
  const outcomes = deps.runner.runAll({
    analyzers: toRun.map((r) => r.analyzer.name),
    input,
    facts,
    archivePasswords: analysis.options.archivePasswords,
    limits: deps.limits,
  });
  const outcomeOf = new Map(toRun.map((r, i) => [r, outcomes[i]]));
  // Results are held until every analyser is done, then stored with the analysis' final state in one transaction:
  // one commit (one round trip per statement batch on PostgreSQL) per sample instead of one per analyser. A crash
  // before that commit costs only the recomputation (the job is redelivered and nothing was stored); children are
  // stored and queued durably as their analyser's output arrives, before the commit marks the parent done.
  const summaries = await Promise.all(
    runs.map((r): OneRun | Promise<OneRun> => {
      const outcome = outcomeOf.get(r);
      return outcome === undefined
        ? { summary: { analyzer: r.analyzer.name, status: 'cached' as const }, childAnalysisIds: [], write: null }
        : runOne(deps, analysis, r.analyzer, r.key, r.cached, outcome);
    }),
  );
  const childAnalysisIds = summaries.flatMap((s) => s.childAnalysisIds);

  const ran = summaries.filter((s) => s.summary.status !== 'cached');
  const firstError = ran.find((s) => s.summary.status === 'error')?.summary;
  // "Failed" means nothing useful came out: every analyser that ran ended in an error.
  const failedEntirely = ran.length > 0 && firstError !== undefined && ran.every((s) => s.summary.status === 'error') && !summaries.some((s) => s.summary.status === 'cached');
  const finalState = failedEntirely
    ? { state: 'failed' as const, errorCode: firstError.errorCode ?? 'ANALYZER_FAILED', errorMessage: 'every analyser failed' }
    : { state: 'completed' as const };
  const writes = summaries.flatMap((s) => (s.write === null ? [] : [s.write]));
  if (writes.length === 0) {
    await markAnalysisFinished(deps.db, analysisId, finalState, now());
  } else {
    await deps.db.transaction().execute(async (trx) => {
      const stamp = now();
      await storeResultWrites(deps, trx, analysis.sha256, writes, stamp);
      await markAnalysisFinished(trx, analysisId, finalState, stamp);
    });
  }
  return { analysisId, sha256: analysis.sha256, state: finalState.state, analyzers: summaries.map((s) => s.summary), childAnalysisIds };
}

/** Marks an analysis failed with the error's code (used for non-retryable failures and dead jobs). */
export async function failAnalysis(db: Database, analysisId: string, error: AppError, now = new Date()): Promise<void> {
  await markAnalysisFailed(db, analysisId, error, now.toISOString());
}

function markAnalysisFailed(db: Database, analysisId: string, error: AppError, now: string): Promise<void> {
  return markAnalysisFinished(db, analysisId, { state: 'failed', errorCode: error.code, errorMessage: error.message }, now);
}

async function fail(deps: RunAnalysisDeps, analysis: Analysis, error: AppError, now: string): Promise<AnalysisOutcome> {
  await markAnalysisFailed(deps.db, analysis.id, error, now);
  return { analysisId: analysis.id, sha256: analysis.sha256, state: 'failed', analyzers: [], childAnalysisIds: [] };
}

function safeAccepts(analyzer: Analyzer, facts: SampleFacts): boolean {
  try {
    return analyzer.accepts(facts);
  } catch {
    // A filter that throws on odd facts is treated as "not for this sample" rather than failing the analysis.
    return false;
  }
}

async function sampleInput(deps: RunAnalysisDeps, sha256: string): Promise<SandboxInput> {
  const key = sampleKey(sha256);
  const path = deps.store.localPath(key);
  if (path !== null) {
    if (!(await deps.store.has(key))) throw new AppError('OBJECT_NOT_FOUND', `the bytes of sample ${sha256} are missing from the object store`);
    return { path };
  }
  return { bytes: await deps.store.getBytes(key, deps.maxSampleBytes) };
}

/**
 * The cache key of one analyser's result. Its last part (the `ruleset_version` column) is the YARA ruleset
 * version for ruleset analysers, and a digest of the passwords for archive analysers asked to try passwords
 * other than the defaults; '' otherwise.
 */
function resultKey(deps: RunAnalysisDeps, analyzer: Analyzer, sha256: string, archivePasswords: readonly string[]): ResultKey {
  return {
    sha256,
    analyzer: analyzer.name,
    analyzerVersion: analyzer.version,
    rulesetVersion:
      analyzer.usesRuleset === true
        ? (deps.rulesetVersion ?? '')
        : analyzer.usesArchivePasswords === true
          ? passwordsVariant(archivePasswords, deps.defaultArchivePasswords)
          : '',
  };
}

function passwordsVariant(passwords: readonly string[], defaults: readonly string[] | undefined): string {
  if (defaults === undefined || (passwords.length === defaults.length && passwords.every((p, i) => p === defaults[i]))) return '';
  return `passwords:${createHash('sha256').update(passwords.join('\n')).digest('hex').slice(0, 16)}`;
}

/** What one analyser's run leaves to store in the analysis' result transaction. */
interface ResultWrite {
  readonly analyzer: Analyzer;
  readonly key: ResultKey;
  readonly replace: boolean;
  readonly stored: StoredResult;
  /** Absent for an error result: nothing else is written. */
  readonly output?: AnalyzerOutput;
  readonly indicators: readonly Indicator[];
}

interface OneRun {
  readonly summary: AnalyzerRunSummary;
  readonly childAnalysisIds: readonly string[];
  readonly write: ResultWrite | null;
}

async function runOne(
  deps: RunAnalysisDeps,
  analysis: Analysis,
  analyzer: Analyzer,
  key: ResultKey,
  cached: CachedResult | null,
  pending: Promise<SandboxOutcome>,
): Promise<OneRun> {
  const replace = cached !== null;
  const outcome = await pending;

  if (outcome.status === 'error') {
    // Shutdown, not the sample: leave no cached error behind; the job runs again after the restart.
    if (outcome.code === SANDBOX_CLOSED_CODE) throw new AppError('INTERNAL', outcome.message, { retryable: true });
    const stored: StoredResult = { status: 'error', result: null, warnings: [], errorCode: outcome.code, errorMessage: outcome.message, durationMs: outcome.durationMs };
    return { summary: { analyzer: analyzer.name, status: 'error', errorCode: outcome.code }, childAnalysisIds: [], write: { analyzer, key, replace, stored, indicators: [] } };
  }

  const output = outcome.output;
  const warnings = [...(output.warnings ?? [])];
  const childAnalysisIds = await storeChildren(deps, analysis, analyzer.name, output.children ?? [], warnings);
  const indicators = validIndicators(output.indicators ?? [], deps.limits.maxIndicators, warnings);
  const stored: StoredResult = { status: 'ok', result: output.result, warnings, errorCode: null, errorMessage: null, durationMs: outcome.durationMs };
  return { summary: { analyzer: analyzer.name, status: 'ok' }, childAnalysisIds, write: { analyzer, key, replace, stored, output, indicators } };
}

/** Every analyser's result of one sample and what follows from it (indicators, YARA matches, tags, hashes). */
async function storeResultWrites(deps: RunAnalysisDeps, trx: Database, sha256: string, writes: readonly ResultWrite[], stamp: string): Promise<void> {
  await storeResults(trx, writes, stamp);
  const ok = writes.filter((w): w is ResultWrite & { readonly output: AnalyzerOutput } => w.output !== undefined);
  // All analysers' indicators in one sorted pass: separate passes would take unique-index entries out of order
  // across concurrent transactions and could deadlock on PostgreSQL.
  await storeIndicatorSets(
    trx,
    sha256,
    ok.map((w) => ({ analyzer: w.analyzer.name, indicators: w.indicators })),
    stamp,
  );
  const tags = new Set<string>();
  let hashes: { ssdeep?: string | null; tlsh?: string | null; imphash?: string | null } = {};
  for (const { analyzer, output } of ok) {
    if (analyzer.usesRuleset === true && deps.rulesetVersion !== null) {
      await storeYaraMatches(trx, sha256, deps.rulesetVersion, extractYaraMatches(output.result));
    }
    for (const tag of (output.tags ?? []).slice(0, MAX_TAGS)) tags.add(tag.toLowerCase());
    const found = fuzzyHashesOf(output);
    hashes = {
      ssdeep: found.ssdeep ?? hashes.ssdeep ?? null,
      tlsh: found.tlsh ?? hashes.tlsh ?? null,
      imphash: found.imphash ?? hashes.imphash ?? null,
    };
    // Cobalt Strike: configs into the cs_* tables, stager URLs queued for a probe (no-op for other analysers).
    await recordCobaltStrikeResult(trx, sha256, analyzer.name, output.result, deps.enqueueCsProbe);
  }
  if (tags.size > 0) await addSampleTags(trx, sha256, [...tags]);
  await setSampleFuzzyHashes(trx, sha256, hashes);
}

async function storeChildren(
  deps: RunAnalysisDeps,
  analysis: Analysis,
  analyzerName: string,
  children: readonly ChildSample[],
  warnings: string[],
): Promise<readonly string[]> {
  if (children.length === 0) return [];
  if (analysis.depth + 1 > deps.limits.maxDepth) {
    warnings.push(`${children.length} child sample(s) not analysed: depth ${analysis.depth + 1} exceeds the limit of ${deps.limits.maxDepth}`);
    return [];
  }
  if (children.length > deps.limits.maxChildren) {
    warnings.push(`only the first ${deps.limits.maxChildren} of ${children.length} child samples were kept`);
  }
  const ids: string[] = [];
  for (const child of children.slice(0, deps.limits.maxChildren)) {
    try {
      const submitted = await deps.submitChild({
        content: child.bytes,
        fileName: child.name,
        source: 'extracted',
        archivePasswords: analysis.options.archivePasswords,
        force: analysis.force,
        requestedBy: analysis.options.requestedBy,
        parent: { analysisId: analysis.id, sha256: analysis.sha256, relation: child.relation, analyzer: analyzerName, detail: child.detail },
      });
      ids.push(submitted.analysisId);
    } catch (error) {
      // An empty or oversized member is a fact about the archive, not a failure of the analysis.
      if (!isAppError(error) || error.retryable) throw error;
      warnings.push(`child ${child.detail ?? child.name ?? '?'} not stored: ${error.code}: ${error.message}`);
    }
  }
  return ids;
}

function validIndicators(indicators: readonly Indicator[], max: number, warnings: string[]): readonly Indicator[] {
  const valid = indicators.filter(
    (i) => (INDICATOR_TYPES as readonly string[]).includes(i.type) && typeof i.value === 'string' && i.value !== '' && i.value.length <= 2048,
  );
  if (valid.length > max) warnings.push(`only the first ${max} of ${valid.length} indicators were stored`);
  return valid.slice(0, max);
}

function fuzzyHashesOf(output: AnalyzerOutput): { ssdeep?: string | null; tlsh?: string | null; imphash?: string | null } {
  const result = output.result;
  if (typeof result !== 'object' || result === null) return {};
  const record = result as Record<string, unknown>;
  const pick = (name: string): string | null => (typeof record[name] === 'string' ? record[name] : null);
  return { ssdeep: pick('ssdeep'), tlsh: pick('tlsh'), imphash: pick('imphash') };
}

/** Reads `{ matches: [{ rule, namespace, tags }] }` (or a bare array) from a ruleset analyser's result. */
function extractYaraMatches(result: unknown): readonly YaraMatchRecord[] {
  const list: unknown = Array.isArray(result) ? result : typeof result === 'object' && result !== null ? (result as { matches?: unknown }).matches : null;
  if (!Array.isArray(list)) return [];
  const matches: YaraMatchRecord[] = [];
  for (const item of list as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const { rule, namespace, tags } = item as { rule?: unknown; namespace?: unknown; tags?: unknown };
    if (typeof rule !== 'string') continue;
    matches.push({
      rule,
      namespace: typeof namespace === 'string' ? namespace : 'default',
      tags: Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [],
    });
  }
  return matches;
}
