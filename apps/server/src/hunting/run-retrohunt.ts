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
  /** Batches of samples scanned at once (one engine call each); default min(4, cores). libyara shares one compiled ruleset across them. */
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
/** A batch is one engine call: big enough to amortise the call and its DB transaction, small enough to balance threads. */
const BATCH_BYTES = 8 * 1024 * 1024;
const BATCH_FILES = 256;
/** Batch-sizing guess for a sample whose size is not known (only its hash was given). */
const UNKNOWN_SIZE = 64 * 1024;

interface StoredSample {
  readonly sha256: string;
  /** Null when only the hash was given. */
  readonly size: number | null;
}

/** Pages rather than single samples: one await per page, not per sample. */
async function* storedPages(db: Database, only: readonly string[] | undefined): AsyncGenerator<readonly StoredSample[]> {
  if (only !== undefined) {
    for (let i = 0; i < only.length; i += PAGE) yield only.slice(i, i + PAGE).map((sha256) => ({ sha256, size: null }));
    return;
  }
  // Keyset pagination: constant memory however many samples are stored.
  let after = '';
  for (;;) {
    const rows = await db.selectFrom('samples').select(['sha256', 'size']).where('sha256', '>', after).orderBy('sha256').limit(PAGE).execute();
    if (rows.length > 0) yield rows.map((row) => ({ sha256: row.sha256, size: Number(row.size) }));
    const last = rows[rows.length - 1];
    if (last === undefined || rows.length < PAGE) return;
    after = last.sha256;
  }
}

type SampleOutcome = { readonly matches: readonly YaraRuleMatch[]; readonly size: number } | { readonly error: unknown };

/**
 * A local retrohunt: runs `ruleset` over every stored sample, compiled once, with bounded concurrency, and
 * writes each hit as `yara_matches` rows and a `retrohunt` analysis result under the ruleset's version, so
 * reports and search (`rule:NAME`) show it. Samples that cannot be scanned are counted, not fatal.
 * Samples go to the engine in batches (one `scanFiles` call each where the engine and store allow it), and a
 * batch's hits are written in one transaction: most samples match nothing, and a call or a transaction per
 * sample would cost more than scanning a small file.
 */
export async function runRetrohunt(platform: RetrohuntPlatform, ruleset: Ruleset, options: RetrohuntOptions = {}): Promise<RetrohuntSummary> {
  const started = performance.now();
  const engine = typeof options.engine === 'object' ? options.engine : await createYaraEngine(options.engine ?? 'auto');
  const rules = await engine.compile(ruleset.sources);
  const total =
    options.sha256s?.length ??
    Number((await platform.db.selectFrom('samples').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const concurrency = Math.max(1, options.concurrency ?? Math.min(4, availableParallelism()));
  const timeoutMs = options.timeoutMs ?? 60_000;
  let scanned = 0;
  let matched = 0;
  let bytes = 0;
  const hits: RetrohuntHit[] = [];
  const errors: { sha256: string; code: string; message: string }[] = [];
  const pages = storedPages(platform.db, options.sha256s);
  let buffered: readonly StoredSample[] = [];
  let position = 0;
  let exhausted = false;

  /** Workers call this concurrently; each sample lands in exactly one batch. */
  const nextBatch = async (): Promise<StoredSample[] | undefined> => {
    const batch: StoredSample[] = [];
    let batchBytes = 0;
    while (batch.length < BATCH_FILES && batchBytes < BATCH_BYTES) {
      if (position >= buffered.length) {
        if (exhausted) break;
        const page = await pages.next();
        if (page.done === true) {
          exhausted = true;
          break;
        }
        buffered = page.value;
        position = 0;
        continue;
      }
      const sample = buffered[position++]!;
      batch.push(sample);
      batchBytes += sample.size ?? UNKNOWN_SIZE;
    }
    return batch.length > 0 ? batch : undefined;
  };

  const record = async (batch: readonly StoredSample[], outcomes: readonly SampleOutcome[]): Promise<void> => {
    const found: { sha256: string; matches: readonly YaraRuleMatch[] }[] = [];
    for (const [i, sample] of batch.entries()) {
      const outcome = outcomes[i]!;
      if ('error' in outcome) {
        const appError = toAppError(outcome.error);
        if (errors.length < MAX_ERRORS) errors.push({ sha256: sample.sha256, code: appError.code, message: appError.message });
        platform.logger?.warn({ sha256: sample.sha256, err: appError }, 'retrohunt scan failed');
      } else if (outcome.matches.length > 0) {
        found.push({ sha256: sample.sha256, matches: outcome.matches });
      }
    }
    if (found.length > 0) {
      try {
        await recordHits(platform.db, found, ruleset.version, engine.name);
      } catch (error) {
        // A failed write counts the batch's matching samples as errors (still as matched), not the whole hunt.
        const appError = toAppError(error);
        for (const f of found) if (errors.length < MAX_ERRORS) errors.push({ sha256: f.sha256, code: appError.code, message: appError.message });
        platform.logger?.warn({ err: appError }, 'retrohunt could not store hits');
      }
    }
    for (const [i, sample] of batch.entries()) {
      const outcome = outcomes[i]!;
      if (!('error' in outcome)) bytes += outcome.size;
      if (!('error' in outcome) && outcome.matches.length > 0) {
        matched++;
        if (hits.length < MAX_HITS) hits.push({ sha256: sample.sha256, rules: outcome.matches.map((m) => `${m.namespace}:${m.rule}`) });
      }
      scanned++;
      options.onProgress?.({ scanned, total, matched, bytes });
    }
  };

  const take = async (): Promise<StoredSample[] | undefined> => (options.signal?.aborted === true ? undefined : nextBatch());
  const worker = async (): Promise<void> => {
    let batch = await take();
    let pending = batch !== undefined ? scanBatch(platform.store, rules, batch, timeoutMs) : undefined;
    // The next batch is picked (DB page reads included) while this one scans, and queued before this one's
    // hits are written: the scan thread waits on neither.
    let following = batch !== undefined ? await take() : undefined;
    while (batch !== undefined && pending !== undefined) {
      const outcomes = await pending;
      pending = following !== undefined ? scanBatch(platform.store, rules, following, timeoutMs) : undefined;
      const done = batch;
      batch = following;
      following = batch !== undefined ? await take() : undefined;
      await record(done, outcomes);
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

/**
 * Local stores are scanned in place (libyara maps each file), the whole batch in one engine call where the
 * engine has `scanFiles`; otherwise sample by sample, read into memory when the store is not local.
 * Never rejects: each sample gets its outcome.
 */
async function scanBatch(store: ObjectStore, rules: CompiledRules, batch: readonly StoredSample[], timeoutMs: number): Promise<SampleOutcome[]> {
  // A key the store refuses (a malformed hash given in `sha256s`) sends the batch down the per-sample path,
  // where it becomes that sample's error.
  const paths = batch.map((sample) => {
    try {
      return store.localPath(sampleKey(sample.sha256));
    } catch {
      return null;
    }
  });
  if (rules.scanFiles !== undefined && paths.every((p): p is string => p !== null)) {
    let results: Awaited<ReturnType<NonNullable<CompiledRules['scanFiles']>>>;
    try {
      results = await rules.scanFiles(paths, { timeoutMs });
    } catch (error) {
      return batch.map(() => ({ error }));
    }
    const outcomes: SampleOutcome[] = [];
    for (const [i, sample] of batch.entries()) {
      const result = results[i];
      if (result === undefined) outcomes.push({ error: new Error('the engine returned no result for this sample') });
      else if ('error' in result) outcomes.push({ error: result.error });
      else if (sample.size !== null) outcomes.push({ matches: result.matches, size: sample.size });
      else {
        try {
          outcomes.push({ matches: result.matches, size: (await store.stat(sampleKey(sample.sha256)))?.size ?? 0 });
        } catch (error) {
          outcomes.push({ error });
        }
      }
    }
    return outcomes;
  }
  const outcomes: SampleOutcome[] = [];
  for (const sample of batch) {
    try {
      outcomes.push(await scanSample(store, rules, sample, timeoutMs));
    } catch (error) {
      outcomes.push({ error });
    }
  }
  return outcomes;
}

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

/** One transaction for a whole batch's hits. */
async function recordHits(db: Database, found: readonly { readonly sha256: string; readonly matches: readonly YaraRuleMatch[] }[], rulesetVersion: string, engine: string): Promise<void> {
  const now = new Date().toISOString();
  await db.transaction().execute(async (trx) => {
    for (const { sha256, matches } of found) {
      await storeYaraMatches(trx, sha256, rulesetVersion, matches.map((m) => ({ rule: m.rule, namespace: m.namespace, tags: m.tags })));
      const result = {
        engine,
        rulesetVersion,
        matches: matches.map((m) => ({ rule: m.rule, namespace: m.namespace, tags: m.tags, meta: m.meta, strings: m.strings.slice(0, MAX_STRINGS_STORED) })),
      };
      const key = { sha256, analyzer: RETROHUNT_ANALYZER, analyzerVersion: RETROHUNT_ANALYZER_VERSION, rulesetVersion };
      await storeResult(trx, key, { status: 'ok', result, warnings: [], errorCode: null, errorMessage: null, durationMs: 0 }, now, true);
    }
  });
}
