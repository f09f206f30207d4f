import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { YaraRuleMatch } from '@malpipe/analyzers';
import { toAppError } from '@malpipe/core';
import { createYaraEngine, type CompiledRules, type Ruleset, type YaraEngine, type YaraEnginePreference } from '@malpipe/yara-engine';
import { storeResult, storeYaraMatches } from '../analyses/analysis-repository.js';
import type { Database } from '../database/database.js';
import { sampleKey, type ObjectStore } from '../storage/object-store.js';

/** Analyser name and version under which retrohunt hits are stored as analysis results. */
export const RETROHUNT_ANALYZER = 'retrohunt';
export const RETROHUNT_ANALYZER_VERSION = '1';

/** The slice of the platform a retrohunt needs (a `Platform` fits). */
export interface RetrohuntPlatform {
  readonly db: Database;
  readonly store: ObjectStore;
  readonly logger?: Logger;
}

export interface RetrohuntProgress {
  readonly scanned: number;
  readonly total: number;
  readonly matched: number;
  readonly bytes: number;
}

export interface RetrohuntOptions {
  readonly onProgress?: (progress: RetrohuntProgress) => void;
  /** Samples scanned at once; default min(4, cores). libyara shares one compiled ruleset across them. */
  readonly concurrency?: number;
  /** An engine, or a preference; default `auto` (libyara when built). */
  readonly engine?: YaraEngine | YaraEnginePreference;
  /** Per-sample scan budget; default 60 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Scan only these samples (default: every stored sample). */
  readonly sha256s?: readonly string[];
}

export interface RetrohuntHit {
  readonly sha256: string;
  readonly rules: readonly string[];
}

export interface RetrohuntSummary {
  readonly rulesetVersion: string;
  readonly engine: string;
  readonly total: number;
  readonly scanned: number;
  readonly matched: number;
  readonly bytes: number;
  readonly durationMs: number;
  /** At most 1,000 hits; `matched` has the full count. */
  readonly hits: readonly RetrohuntHit[];
  /** Samples that could not be scanned (missing object, scan timeout), at most 100. */
  readonly errors: readonly { readonly sha256: string; readonly code: string; readonly message: string }[];
}

const PAGE = 500;
const MAX_HITS = 1_000;
const MAX_ERRORS = 100;
const MAX_STRINGS_STORED = 20;

interface StoredSample {
  readonly sha256: string;
  /** Null when only the hash was given. */
  readonly size: number | null;
}

async function* storedSamples(db: Database, only: readonly string[] | undefined): AsyncGenerator<StoredSample> {
  if (only !== undefined) {
    for (const sha256 of only) yield { sha256, size: null };
    return;
  }
  // Keyset pagination: constant memory however many samples are stored.
  let after = '';
  for (;;) {
    const rows = await db.selectFrom('samples').select(['sha256', 'size']).where('sha256', '>', after).orderBy('sha256').limit(PAGE).execute();
    for (const row of rows) yield { sha256: row.sha256, size: Number(row.size) };
    const last = rows[rows.length - 1];
    if (last === undefined || rows.length < PAGE) return;
    after = last.sha256;
  }
}

/**
 * A local retrohunt: runs `ruleset` over every stored sample, compiled once, with bounded concurrency, and
 * writes each hit as `yara_matches` rows and a `retrohunt` analysis result under the ruleset's version, so
 * reports and search (`rule:NAME`) show it. Samples that cannot be scanned are counted, not fatal.
 */
export async function runRetrohunt(platform: RetrohuntPlatform, ruleset: Ruleset, options: RetrohuntOptions = {}): Promise<RetrohuntSummary> {
  const started = performance.now();
  const engine = typeof options.engine === 'object' ? options.engine : await createYaraEngine(options.engine ?? 'auto');
  const rules = await engine.compile(ruleset.sources);
  const total =
    options.sha256s?.length ??
    Number((await platform.db.selectFrom('samples').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const concurrency = Math.max(1, options.concurrency ?? Math.min(4, availableParallelism()));
  let scanned = 0;
  let matched = 0;
  let bytes = 0;
  const hits: RetrohuntHit[] = [];
  const errors: { sha256: string; code: string; message: string }[] = [];
  const samples = storedSamples(platform.db, options.sha256s);
  const next = async (): Promise<StoredSample | undefined> => (await samples.next()).value ?? undefined;

  const worker = async (): Promise<void> => {
    for (let sample = await next(); sample !== undefined; sample = await next()) {
      if (options.signal?.aborted === true) return;
      const { sha256 } = sample;
      try {
        const { matches, size } = await scanSample(platform.store, rules, sample, options.timeoutMs ?? 60_000);
        bytes += size;
        if (matches.length > 0) {
          matched++;
          if (hits.length < MAX_HITS) hits.push({ sha256, rules: matches.map((m) => `${m.namespace}:${m.rule}`) });
          await recordHits(platform.db, sha256, ruleset.version, engine.name, matches);
        }
      } catch (error) {
        const appError = toAppError(error);
        if (errors.length < MAX_ERRORS) errors.push({ sha256, code: appError.code, message: appError.message });
        platform.logger?.warn({ sha256, err: appError }, 'retrohunt scan failed');
      }
      scanned++;
      options.onProgress?.({ scanned, total, matched, bytes });
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    rules.dispose();
  }
  const summary: RetrohuntSummary = {
    rulesetVersion: ruleset.version,
    engine: engine.name,
    total,
    scanned,
    matched,
    bytes,
    durationMs: Math.round(performance.now() - started),
    hits,
    errors,
  };
  platform.logger?.info({ rulesetVersion: ruleset.version, scanned, matched, errors: errors.length, durationMs: summary.durationMs }, 'retrohunt finished');
  return summary;
}

/** Local stores are scanned in place (libyara maps the file); others are read into memory first. */
async function scanSample(store: ObjectStore, rules: CompiledRules, sample: StoredSample, timeoutMs: number): Promise<{ matches: readonly YaraRuleMatch[]; size: number }> {
  const key = sampleKey(sample.sha256);
  const path = store.localPath(key);
  if (path !== null) {
    const matches = await rules.scanFile(path, { timeoutMs });
    return { matches, size: sample.size ?? (await store.stat(key))?.size ?? 0 };
  }
  const bytes = await store.getBytes(key);
  return { matches: await rules.scan(bytes, { timeoutMs }), size: bytes.byteLength };
}

async function recordHits(db: Database, sha256: string, rulesetVersion: string, engine: string, matches: readonly YaraRuleMatch[]): Promise<void> {
  const now = new Date().toISOString();
  await db.transaction().execute(async (trx) => {
    await storeYaraMatches(trx, sha256, rulesetVersion, matches.map((m) => ({ rule: m.rule, namespace: m.namespace, tags: m.tags })));
    const result = {
      engine,
      rulesetVersion,
      matches: matches.map((m) => ({ rule: m.rule, namespace: m.namespace, tags: m.tags, meta: m.meta, strings: m.strings.slice(0, MAX_STRINGS_STORED) })),
    };
    const key = { sha256, analyzer: RETROHUNT_ANALYZER, analyzerVersion: RETROHUNT_ANALYZER_VERSION, rulesetVersion };
    await storeResult(trx, key, { status: 'ok', result, warnings: [], errorCode: null, errorMessage: null, durationMs: 0 }, now, true);
  });
}
