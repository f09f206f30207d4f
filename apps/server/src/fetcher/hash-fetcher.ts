import { createHash } from 'node:crypto';
import { toAppError, type AppError } from '@malpipe/core';
import type { Database } from '../database/database.js';
import type { SubmitSampleInput, SubmitSampleResult } from '../samples/submit-sample.js';
import type { SampleSource, SourceReport } from '../sources/sample-source.js';
import {
  cacheNotFound,
  circuitOpenUntil,
  DEFAULT_CIRCUIT,
  isCachedNotFound,
  recordSourceFailure,
  recordSourceSuccess,
  type CircuitOptions,
} from './source-state.js';

export interface HashFetcherDeps {
  readonly db: Database;
  /** Tried in this order. */
  readonly sources: readonly SampleSource[];
  readonly submitSample: (input: SubmitSampleInput) => Promise<SubmitSampleResult>;
  /** Runs the fetch of this request again after `delayMs` (a new `fetch-hash` job, recorded as its owner). */
  readonly reschedule: (hashRequestId: string, delayMs: number) => Promise<void>;
  readonly notFoundTtlMs: number;
  /** Failed attempts (errors, not quota waits) before a request is `failed`. Default 6. */
  readonly maxAttempts?: number;
  /** First retry delay after an error, doubled each attempt up to 1 h. Default 30 s. */
  readonly retryBaseMs?: number;
  readonly circuit?: CircuitOptions;
  readonly now?: () => number;
}

/** What one fetch-hash run did with its request. */
export type FetchHashOutcome =
  | { readonly state: 'fetched'; readonly sha256: string; readonly source: string }
  | { readonly state: 'known' | 'analysed'; readonly sha256: string }
  | { readonly state: 'not-found'; readonly reports: readonly string[] }
  | { readonly state: 'waiting'; readonly retryAt: number; readonly reason: string }
  | { readonly state: 'retrying'; readonly retryAt: number; readonly reason: string }
  | { readonly state: 'failed'; readonly reason: string }
  | { readonly state: 'skipped' };

type Attempt =
  | { readonly kind: 'fetched'; readonly sha256: string; readonly source: string }
  | { readonly kind: 'not-found'; readonly reports: readonly string[] }
  | { readonly kind: 'wait'; readonly retryAt: number; readonly reason: string }
  | { readonly kind: 'error'; readonly reason: string };

const OPEN_STATES: ReadonlySet<string> = new Set(['queued', 'fetching']);
const MAX_RETRY_DELAY_MS = 3600_000;
const REPORT_REUSE_MS = 3600_000;
/** Analyser name and version under which a source's report is stored as an analysis result. */
export const SOURCE_REPORT_VERSION = '1';

/**
 * The fetch-hash flow. For one hash request: link it at once when the sample is already stored; otherwise
 * try each source (skipping open circuits and cached "not found" answers), store every source report it
 * gets, verify downloaded bytes really have the requested hash, and hand them to submitSample. Quota answers
 * (the upstream's or our own per-key budget) reschedule the request without counting an attempt, so a
 * submission is never dropped for want of quota; errors retry with back-off up to `maxAttempts`. Concurrent
 * fetches of one hash in this process share a single upstream lookup.
 */
export class HashFetcher {
  readonly #deps: HashFetcherDeps;
  readonly #inflight = new Map<string, Promise<Attempt>>();

  constructor(deps: HashFetcherDeps) {
    this.#deps = deps;
  }

  /** Runs one fetch of a request; `jobId` (the running fetch-hash job) must own it, or nothing happens. */
  async fetch(hashRequestId: string, signal: AbortSignal, jobId?: string): Promise<FetchHashOutcome> {
    const { db } = this.#deps;
    const request = await db
      .selectFrom('hash_requests')
      .select(['id', 'hash', 'state'])
      .where('id', '=', hashRequestId)
      .executeTakeFirst();
    if (request === undefined || !OPEN_STATES.has(request.state)) return { state: 'skipped' };
    if (jobId !== undefined) {
      const owner = await db
        .selectFrom('hash_fetches')
        .select('job_id')
        .where('hash_request_id', '=', request.id)
        .executeTakeFirst();
      // A duplicate (a redelivered or superseded job): the owner will do the work, so do not double the quota.
      if (owner?.job_id !== undefined && owner.job_id !== null && owner.job_id !== jobId)
        return { state: 'skipped' };
    }
    const known = await linkKnownSample(db, request.id, request.hash, this.#now());
    if (known !== null) return known;

    await this.#setState(request.id, 'fetching', null);
    let attempt = this.#inflight.get(request.hash);
    if (attempt === undefined) {
      attempt = this.#tryAll(request.hash, signal).finally(() => this.#inflight.delete(request.hash));
      this.#inflight.set(request.hash, attempt);
    }
    const result = await attempt;
    switch (result.kind) {
      case 'fetched':
        await db
          .updateTable('hash_requests')
          .set({
            state: 'fetched',
            sample_sha256: result.sha256,
            error_message: null,
            updated_at: this.#iso(),
          })
          .where('id', '=', request.id)
          .execute();
        return { state: 'fetched', sha256: result.sha256, source: result.source };
      case 'not-found': {
        const message =
          result.reports.length === 0
            ? 'no source has this hash'
            : `report(s) stored from ${result.reports.join(', ')}, but no source could provide the file`;
        await this.#setState(request.id, 'not-found', message);
        return { state: 'not-found', reports: result.reports };
      }
      case 'wait': {
        await this.#setState(request.id, 'queued', `waiting: ${result.reason}`);
        await this.#deps.reschedule(request.id, Math.max(1_000, result.retryAt - this.#now() + 250));
        return { state: 'waiting', retryAt: result.retryAt, reason: result.reason };
      }
      case 'error':
        return this.#failedAttempt(request.id, result.reason);
    }
  }

  async #failedAttempt(id: string, reason: string): Promise<FetchHashOutcome> {
    const { db } = this.#deps;
    const now = this.#iso();
    const row = await db
      .selectFrom('hash_fetches')
      .select('attempts')
      .where('hash_request_id', '=', id)
      .executeTakeFirst();
    const attempts = (row?.attempts ?? 0) + 1;
    await db
      .insertInto('hash_fetches')
      .values({ hash_request_id: id, job_id: null, attempts, last_error: reason, updated_at: now })
      .onConflict((oc) =>
        oc.column('hash_request_id').doUpdateSet({ attempts, last_error: reason, updated_at: now }),
      )
      .execute();
    if (attempts >= (this.#deps.maxAttempts ?? 6)) {
      await this.#setState(id, 'failed', `gave up after ${attempts} attempts: ${reason}`);
      return { state: 'failed', reason };
    }
    const delay = Math.min(MAX_RETRY_DELAY_MS, (this.#deps.retryBaseMs ?? 30_000) * 2 ** (attempts - 1));
    await this.#setState(id, 'queued', `attempt ${attempts} failed, retrying: ${reason}`);
    await this.#deps.reschedule(id, delay);
    return { state: 'retrying', retryAt: this.#now() + delay, reason };
  }

  async #tryAll(hash: string, signal: AbortSignal): Promise<Attempt> {
    const { db } = this.#deps;
    const reports: string[] = [];
    const collected: { source: string; report: SourceReport }[] = [];
    const waits: { retryAt: number; reason: string }[] = [];
    const errors: string[] = [];
    for (const source of this.#deps.sources) {
      if (!source.accepts({ hash })) continue;
      const now = this.#now();
      const openUntil = await circuitOpenUntil(db, source.name, now);
      if (openUntil !== null) {
        waits.push({
          retryAt: openUntil,
          reason: `${source.name} circuit open until ${new Date(openUntil).toISOString()}`,
        });
        continue;
      }
      if (await isCachedNotFound(db, source.name, hash, now)) continue;
      try {
        // A report fetched on an earlier attempt (whose download then had to wait) is not asked for again.
        const earlier = await findRecentReport(
          db,
          source.name,
          hash,
          new Date(now - REPORT_REUSE_MS).toISOString(),
        );
        const found = await source.lookup({ hash }, signal, earlier === null ? {} : { report: earlier });
        await recordSourceSuccess(db, source.name);
        if (found.status === 'not-found') {
          await cacheNotFound(db, source.name, hash, this.#now() + this.#deps.notFoundTtlMs, this.#now());
          continue;
        }
        if (found.report !== null) {
          await storeSourceReport(db, source.name, found.report, this.#iso());
          reports.push(source.name);
          collected.push({ source: source.name, report: found.report });
        }
        if (found.file === null) {
          const fileError = found.fileError;
          if (fileError?.code === 'UPSTREAM_QUOTA_EXCEEDED')
            waits.push({ retryAt: retryAtOf(fileError, this.#now()), reason: fileError.message });
          else if (fileError !== null && fileError.retryable) errors.push(fileError.message);
          continue;
        }
        if (!hashesOf(found.file.bytes).includes(hash)) {
          errors.push(`${source.name} returned a file whose digests do not match ${hash}`);
          await recordSourceFailure(db, source.name, this.#now(), this.#deps.circuit ?? DEFAULT_CIRCUIT);
          continue;
        }
        const submitted = await this.#deps.submitSample({
          content: found.file.bytes,
          fileName: found.file.fileName,
          source: source.name,
          tags: found.file.tags.slice(0, 32),
          requestedBy: null,
        });
        // Every report gathered on the way (VirusTotal's, even when MalwareBazaar had the file) joins the sample.
        for (const { source: name, report } of collected)
          await storeReportResult(db, name, submitted.sha256, report, this.#iso());
        return { kind: 'fetched', sha256: submitted.sha256, source: source.name };
      } catch (error) {
        const appError = toAppError(error, 'UPSTREAM_FAILED');
        if (signal.aborted) throw appError;
        if (appError.code === 'UPSTREAM_QUOTA_EXCEEDED') {
          waits.push({ retryAt: retryAtOf(appError, this.#now()), reason: appError.message });
        } else if (appError.code === 'VALIDATION_FAILED') {
          // The source refuses this hash (MalwareBazaar's illegal_hash): for it, the hash does not exist.
          continue;
        } else {
          errors.push(appError.message);
          await recordSourceFailure(db, source.name, this.#now(), this.#deps.circuit ?? DEFAULT_CIRCUIT);
        }
      }
    }
    const soonest = waits.sort((a, b) => a.retryAt - b.retryAt)[0];
    if (soonest !== undefined) return { kind: 'wait', ...soonest };
    if (errors.length > 0) return { kind: 'error', reason: errors.join('; ').slice(0, 2000) };
    return { kind: 'not-found', reports };
  }

  async #setState(id: string, state: string, message: string | null): Promise<void> {
    await this.#deps.db
      .updateTable('hash_requests')
      .set({ state, error_message: message, updated_at: this.#iso() })
      .where('id', '=', id)
      .execute();
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }
}

function retryAtOf(error: AppError, now: number): number {
  const retryAt = error.details?.['retryAt'];
  return typeof retryAt === 'number' && Number.isFinite(retryAt) ? retryAt : now + 60_000;
}

function hashesOf(bytes: Uint8Array): string[] {
  return ['md5', 'sha1', 'sha256'].map((algorithm) => createHash(algorithm).update(bytes).digest('hex'));
}

/** Links a request to a stored sample with this hash; null when no sample has it. */
async function linkKnownSample(
  db: Database,
  id: string,
  hash: string,
  now: number,
): Promise<FetchHashOutcome | null> {
  const column = hash.length === 32 ? 'md5' : hash.length === 40 ? 'sha1' : 'sha256';
  const sample = await db.selectFrom('samples').select('sha256').where(column, '=', hash).executeTakeFirst();
  if (sample === undefined) return null;
  const analysed = await db
    .selectFrom('analyses')
    .select('id')
    .where('sha256', '=', sample.sha256)
    .where('state', '=', 'completed')
    .executeTakeFirst();
  const state = analysed === undefined ? 'known' : 'analysed';
  await db
    .updateTable('hash_requests')
    .set({
      state,
      sample_sha256: sample.sha256,
      error_message: null,
      updated_at: new Date(now).toISOString(),
    })
    .where('id', '=', id)
    .execute();
  return { state, sha256: sample.sha256 };
}

/** Moves requests linked to `sha256` on to `analysed` once its analysis completed. */
export async function markHashRequestsAnalysed(
  db: Database,
  sha256: string,
  now = new Date(),
): Promise<void> {
  await db
    .updateTable('hash_requests')
    .set({ state: 'analysed', updated_at: now.toISOString() })
    .where('sample_sha256', '=', sha256)
    .where('state', 'in', ['fetched', 'known'])
    .execute();
}

/** Every source's report on a sample, by MD5, SHA-1 or SHA-256 (also when the file itself was never fetched). */
export async function listSourceReports(
  db: Database,
  hash: string,
): Promise<{ readonly source: string; readonly fetchedAt: string; readonly report: SourceReport }[]> {
  const column = hash.length === 32 ? 'md5' : hash.length === 40 ? 'sha1' : 'sha256';
  const rows = await db
    .selectFrom('source_reports')
    .select(['source', 'report', 'fetched_at'])
    .where(column, '=', hash.toLowerCase())
    .orderBy('source')
    .execute();
  return rows.map((row) => ({
    source: row.source,
    fetchedAt: row.fetched_at,
    report: JSON.parse(row.report) as SourceReport,
  }));
}

async function findRecentReport(
  db: Database,
  source: string,
  hash: string,
  since: string,
): Promise<SourceReport | null> {
  const column = hash.length === 32 ? 'md5' : hash.length === 40 ? 'sha1' : 'sha256';
  const row = await db
    .selectFrom('source_reports')
    .select('report')
    .where('source', '=', source)
    .where(column, '=', hash)
    .where('fetched_at', '>=', since)
    .executeTakeFirst();
  return row === undefined ? null : (JSON.parse(row.report) as SourceReport);
}

async function storeSourceReport(
  db: Database,
  source: string,
  report: SourceReport,
  now: string,
): Promise<void> {
  const json = JSON.stringify(report);
  await db
    .insertInto('source_reports')
    .values({
      source,
      sha256: report.sha256,
      md5: report.md5,
      sha1: report.sha1,
      report: json,
      fetched_at: now,
    })
    .onConflict((oc) => oc.columns(['source', 'sha256']).doUpdateSet({ report: json, fetched_at: now }))
    .execute();
}

/** The report as an analysis result of its own (analyser = the source's name) once the sample row exists. */
async function storeReportResult(
  db: Database,
  source: string,
  sha256: string,
  report: SourceReport,
  now: string,
): Promise<void> {
  const result = JSON.stringify(report);
  await db
    .insertInto('analysis_results')
    .values({
      sha256,
      analyzer: source,
      analyzer_version: SOURCE_REPORT_VERSION,
      ruleset_version: '',
      status: 'ok',
      result,
      warnings: '[]',
      error_code: null,
      error_message: null,
      duration_ms: 0,
      created_at: now,
    })
    .onConflict((oc) =>
      oc
        .columns(['sha256', 'analyzer', 'analyzer_version', 'ruleset_version'])
        .doUpdateSet({ result, created_at: now }),
    )
    .execute();
}
