import type { Logger } from 'pino';
import { toAppError } from '@malpipe/core';
import type { SourcesConfig } from '../config.js';
import type { Database } from '../database/database.js';
import type { JobContext, TransactionalJobQueue } from '../queue/job-queue.js';
import { MalwareBazaarClient } from '../sources/malwarebazaar-client.js';
import { MalwareBazaarSource } from '../sources/malwarebazaar-source.js';
import type { SampleSource } from '../sources/sample-source.js';
import { VirusTotalClient } from '../sources/virustotal-client.js';
import { UrlSource } from '../sources/url-source.js';
import { VirusTotalSource } from '../sources/virustotal-source.js';
import type { HashFetcher } from './hash-fetcher.js';
import { DatabaseRateLimiter } from './rate-limiter.js';

/** fetch-hash jobs reschedule themselves for quota waits, so the queue's own retries only cover crashes. */
export const FETCH_JOB_OPTIONS = { maxAttempts: 5, timeoutMs: 10 * 60_000 } as const;

export interface CreateSourcesOptions {
  readonly maxDownloadBytes: number;
  /** Safety margin of the shared rate limiter (see DatabaseRateLimiter). */
  readonly rateMarginMs?: number;
}

/**
 * The hash sources of `config.order` that have an API key, each behind the per-key rate limit shared through
 * `db`. VirusTotal and MalwareBazaar both need a key; one without is left out (and `malpipe sources test`
 * says so).
 */
export function createHashSources(
  config: SourcesConfig,
  db: Database,
  options: CreateSourcesOptions,
): SampleSource[] {
  const limiter = new DatabaseRateLimiter(
    db,
    options.rateMarginMs === undefined ? {} : { marginMs: options.rateMarginMs },
  );
  const sources: SampleSource[] = [];
  for (const name of config.order) {
    switch (name) {
      case 'virustotal': {
        const { apiKey, baseUrl, rateLimits } = config.virustotal;
        if (apiKey === null) break;
        const budget = limiter.budget(name, apiKey, rateLimits);
        sources.push(
          new VirusTotalSource(
            new VirusTotalClient({ apiKey, baseUrl, budget, maxDownloadBytes: options.maxDownloadBytes }),
          ),
        );
        break;
      }
      case 'malwarebazaar': {
        const { apiKey, baseUrl, rateLimits } = config.malwarebazaar;
        if (apiKey === null) break;
        const budget = limiter.budget(name, apiKey, rateLimits);
        sources.push(
          new MalwareBazaarSource(
            new MalwareBazaarClient({ apiKey, baseUrl, budget, maxDownloadBytes: options.maxDownloadBytes }),
          ),
        );
        break;
      }
    }
  }
  return sources;
}

/** The HTTP(S) URL source with the configured SSRF policy (private ranges refused unless allowed). */
export function createUrlSource(config: SourcesConfig, maxBytes: number): UrlSource {
  return new UrlSource({ allowPrivate: config.url.allowPrivate, timeoutMs: config.url.timeoutMs, maxBytes });
}

/**
 * Enqueues the fetch of one hash request inside the caller's transaction (see submitHashes) and records the
 * job as the request's owner.
 */
export async function enqueueFetchHash(
  queue: TransactionalJobQueue,
  trx: Database,
  hashRequestId: string,
  delayMs = 0,
): Promise<string> {
  const jobId = await queue.enqueueInTransaction(
    trx,
    'fetch-hash',
    { hashRequestId },
    { ...FETCH_JOB_OPTIONS, delayMs },
  );
  const now = new Date().toISOString();
  await trx
    .insertInto('hash_fetches')
    .values({ hash_request_id: hashRequestId, job_id: jobId, attempts: 0, last_error: null, updated_at: now })
    .onConflict((oc) => oc.column('hash_request_id').doUpdateSet({ job_id: jobId, updated_at: now }))
    .execute();
  return jobId;
}

/** A new owning fetch-hash job for a request, after `delayMs`, committed before it returns. */
export async function rescheduleFetchHash(
  queue: TransactionalJobQueue,
  hashRequestId: string,
  delayMs: number,
): Promise<void> {
  await queue.transaction((trx) => enqueueFetchHash(queue, trx, hashRequestId, delayMs));
}

/**
 * Gives every open hash request (queued or fetching) whose owning job is gone (never enqueued, dead,
 * completed without a successor) a new fetch-hash job: run at start-up, so no submission is lost to a crash
 * or to a request made before sources were configured. Returns the ids re-queued.
 */
export async function recoverHashRequests(db: Database, queue: TransactionalJobQueue): Promise<string[]> {
  const open = await db
    .selectFrom('hash_requests')
    .leftJoin('hash_fetches', 'hash_fetches.hash_request_id', 'hash_requests.id')
    .select(['hash_requests.id as id', 'hash_fetches.job_id as jobId'])
    .where('hash_requests.state', 'in', ['queued', 'fetching'])
    .execute();
  const requeued: string[] = [];
  for (const { id, jobId } of open) {
    const job = jobId === null ? null : await queue.get(jobId);
    if (job !== null && (job.state === 'queued' || job.state === 'running' || job.state === 'failed'))
      continue;
    await rescheduleFetchHash(queue, id, 0);
    requeued.push(id);
  }
  return requeued;
}

/**
 * The `fetch-hash` job handler. Source failures are handled inside the fetcher; what escapes (the database
 * is down) is retried by the queue, and on the last attempt the request is marked `failed` rather than left
 * `fetching` forever.
 */
export function fetchHashHandler(
  fetcher: HashFetcher,
  db: Database,
  logger?: Pick<Logger, 'child'>,
): (job: JobContext<'fetch-hash'>) => Promise<void> {
  return async (job) => {
    const log = logger?.child({ jobId: job.id, hashRequestId: job.payload.hashRequestId });
    try {
      const outcome = await fetcher.fetch(job.payload.hashRequestId, job.signal, job.id);
      log?.debug({ outcome }, 'hash fetch finished');
    } catch (error) {
      const appError = toAppError(error);
      log?.warn({ err: appError, attempt: job.attempt }, 'hash fetch attempt failed');
      if (!appError.retryable || job.attempt >= FETCH_JOB_OPTIONS.maxAttempts) {
        await db
          .updateTable('hash_requests')
          .set({
            state: 'failed',
            error_message: `fetch failed: ${appError.message}`.slice(0, 2000),
            updated_at: new Date().toISOString(),
          })
          .where('id', '=', job.payload.hashRequestId)
          .where('state', 'in', ['queued', 'fetching'])
          .execute()
          // Best effort: the database may be what failed; the queue records the original error either way.
          .catch(() => undefined);
      }
      throw appError;
    }
  };
}
