import type { SourcesConfig } from '../config.js';
import type { Database } from '../database/database.js';
import type { JobContext, TransactionalJobQueue } from '../queue/job-queue.js';
import { MalwareBazaarClient } from '../sources/malwarebazaar-client.js';
import { MalwareBazaarSource } from '../sources/malwarebazaar-source.js';
import type { SampleSource } from '../sources/sample-source.js';
import { VirusTotalClient } from '../sources/virustotal-client.js';
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
export function createHashSources(config: SourcesConfig, db: Database, options: CreateSourcesOptions): SampleSource[] {
  const limiter = new DatabaseRateLimiter(db, options.rateMarginMs === undefined ? {} : { marginMs: options.rateMarginMs });
  const sources: SampleSource[] = [];
  for (const name of config.order) {
    switch (name) {
      case 'virustotal': {
        const { apiKey, baseUrl, rateLimits } = config.virustotal;
        if (apiKey === null) break;
        const budget = limiter.budget(name, apiKey, rateLimits);
        sources.push(new VirusTotalSource(new VirusTotalClient({ apiKey, baseUrl, budget, maxDownloadBytes: options.maxDownloadBytes })));
        break;
      }
      case 'malwarebazaar': {
        const { apiKey, baseUrl, rateLimits } = config.malwarebazaar;
        if (apiKey === null) break;
        const budget = limiter.budget(name, apiKey, rateLimits);
        sources.push(new MalwareBazaarSource(new MalwareBazaarClient({ apiKey, baseUrl, budget, maxDownloadBytes: options.maxDownloadBytes })));
        break;
      }
    }
  }
  return sources;
}

/** Enqueues the fetch of one hash request inside the caller's transaction (see submitHashes). */
export function enqueueFetchHash(queue: TransactionalJobQueue, trx: Database, hashRequestId: string, delayMs = 0): Promise<string> {
  return queue.enqueueInTransaction(trx, 'fetch-hash', { hashRequestId }, { ...FETCH_JOB_OPTIONS, delayMs });
}

/** The `fetch-hash` job handler. */
export function fetchHashHandler(fetcher: HashFetcher): (job: JobContext<'fetch-hash'>) => Promise<void> {
  return async (job) => {
    await fetcher.fetch(job.payload.hashRequestId, job.signal);
  };
}
