import type { AnalysisStatus, SampleReport } from '@malpipe/api-client';
import type { Database } from '../database/database.js';
import type { JobQueue } from '../queue/job-queue.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { HashFetchQueue } from '../hashes/submit-hashes.js';
import type { CobaltStrikeHttpServices } from '../cobaltstrike/cobaltstrike-wiring.js';
import type { SubmitSampleInput, SubmitSampleResult } from '../samples/submit-sample.js';

/** One uploaded file, as the samples route hands it to the pipeline. */
export interface UploadedSample {
  /** A private temp file holding the upload; removed once submitSample returns. */
  readonly content: { readonly path: string };
  /** Base name only (no directories), as the client sent it. */
  readonly fileName: string;
  readonly tags: readonly string[];
  /** Archive passwords to try, in order. */
  readonly passwords: readonly string[];
  /** Analyse again even when a report exists. */
  readonly force: boolean;
  /** `upload`: how the sample arrived, recorded in sample_sources. */
  readonly source: string;
  /** Token id of the submitter. */
  readonly submittedBy: string;
}

/** The pipeline's submission for an upload; an upload without passwords gets `defaultPasswords` (the config's). */
export function submissionOf(upload: UploadedSample, defaultPasswords: readonly string[]): SubmitSampleInput {
  return {
    content: upload.content,
    fileName: upload.fileName,
    source: upload.source,
    tags: upload.tags,
    archivePasswords: upload.passwords.length > 0 ? upload.passwords : defaultPasswords,
    force: upload.force,
    requestedBy: upload.submittedBy,
  };
}

/**
 * Exactly what the HTTP layer needs from the platform; `compose.ts` builds it from the real services. The
 * report and analysis readers return the API's wire shapes (see @malpipe/api-client) so the routes stay thin.
 */
export interface HttpServices {
  readonly db: Database;
  readonly store: Pick<ObjectStore, 'getBytes' | 'stat'>;
  readonly queue: Pick<JobQueue, 'get' | 'list' | 'retry'>;
  submitSample(input: UploadedSample): Promise<SubmitSampleResult>;
  /** By MD5, SHA-1, SHA-256 or SHA-512 (lower-case hex); null when unknown. */
  getSampleReport(hash: string): Promise<SampleReport | null>;
  getAnalysis(id: string): Promise<AnalysisStatus | null>;
  /** Queues fetch-hash jobs for submitted hashes; absent: hashes wait as `queued` (no sources wired). */
  readonly fetchQueue?: HashFetchQueue;
  /** Prometheus text for GET /metrics (queue depth, job counters and durations); absent: no /metrics route. */
  readonly metrics?: () => Promise<string>;
  /** Queues Cobalt Strike probes; absent: POST /cobaltstrike/probe answers that probing is not enabled. */
  readonly cobaltStrike?: CobaltStrikeHttpServices;
  /** Runs inside a deploy's transaction (queues the retrohunt of the store); absent: a deploy only switches. */
  readonly onRulesetDeployed?: (trx: Database, version: string) => Promise<unknown>;
  /** Called after a deploy commits (wakes local workers). */
  readonly afterRulesetDeployed?: () => void;
}
