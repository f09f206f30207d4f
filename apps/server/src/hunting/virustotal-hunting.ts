import type { HashEntry } from '@malpipe/api-client';
import { AppError } from '@malpipe/core';
import type { Database } from '../database/database.js';
import { submitHashes, type HashFetchQueue } from '../hashes/submit-hashes.js';
import type { CreateRetrohuntJob, RetrohuntJob, VirusTotalClient, VtObject } from '../sources/virustotal-client.js';

/**
 * Closing the hunting loop with VirusTotal: Livehunt notification files and Retrohunt matches become hash
 * submissions, which the fetcher downloads (VirusTotal source) and the pipeline analyses like any sample.
 */

/** The part of the VirusTotal client hunting uses. */
export type VirusTotalHuntingClient = Pick<VirusTotalClient, 'huntingNotificationFiles' | 'createRetrohuntJob' | 'getRetrohuntJob' | 'retrohuntMatchingFiles'>;

export interface HuntingDeps {
  readonly db: Database;
  /** Queues a fetch per new hash (compose's `httpServices.fetchQueue`); without it hashes wait as `queued`. */
  readonly fetchQueue?: HashFetchQueue;
}

export interface HuntSubmission {
  /** SHA-256 of every remote hit, in order, deduplicated. */
  readonly sha256s: readonly string[];
  /** One hash request per hit (new, reused, or linked to a stored sample). */
  readonly entries: readonly HashEntry[];
}

const SHA256 = /^[0-9a-f]{64}$/;
const SUBMIT_CHUNK = 1_000;

async function collect(pages: (cursor: string | undefined) => Promise<{ data: readonly VtObject[]; cursor: string | null }>, max: number): Promise<string[]> {
  const found = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await pages(cursor);
    for (const object of page.data) {
      const id = object.id.toLowerCase();
      if (object.type === 'file' && SHA256.test(id)) found.add(id);
      if (found.size >= max) return [...found];
    }
    cursor = page.cursor ?? undefined;
  } while (cursor !== undefined);
  return [...found];
}

async function submit(deps: HuntingDeps, sha256s: readonly string[], requestedBy: string): Promise<HashEntry[]> {
  const entries: HashEntry[] = [];
  for (let i = 0; i < sha256s.length; i += SUBMIT_CHUNK) {
    entries.push(...(await submitHashes(deps.db, { hashes: sha256s.slice(i, i + SUBMIT_CHUNK), requestedBy, fetchQueue: deps.fetchQueue })));
  }
  return entries;
}

export interface SyncLivehuntOptions {
  /** VirusTotal filter keywords (rule name, ruleset, date...). */
  readonly filter?: string;
  /** Default 1,000 files per sync. */
  readonly max?: number;
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

/**
 * Reads Livehunt notification files and submits their hashes. Safe to repeat: hashes already requested or
 * stored are reused by `submitHashes`, never duplicated.
 */
export async function syncLivehunt(vt: VirusTotalHuntingClient, deps: HuntingDeps, options: SyncLivehuntOptions = {}): Promise<HuntSubmission> {
  const sha256s = await collect(
    (cursor) =>
      vt.huntingNotificationFiles(
        { limit: options.pageSize ?? 40, ...(cursor === undefined ? {} : { cursor }), ...(options.filter === undefined ? {} : { filter: options.filter }) },
        options.signal,
      ),
    options.max ?? 1_000,
  );
  return { sha256s, entries: sha256s.length === 0 ? [] : await submit(deps, sha256s, 'virustotal-livehunt') };
}

export interface RunRetrohuntJobOptions extends Omit<CreateRetrohuntJob, 'rules'> {
  /** Poll interval while the job runs; default 30 s. */
  readonly pollMs?: number;
  /** Give up waiting after this long (the job keeps running on VirusTotal); default 6 h. */
  readonly timeoutMs?: number;
  /** Default 10,000 matching files. */
  readonly max?: number;
  readonly signal?: AbortSignal;
  /** Progress callback for each poll. */
  readonly onPoll?: (job: RetrohuntJob) => void;
}

export interface RetrohuntJobResult extends HuntSubmission {
  readonly job: RetrohuntJob;
}

/**
 * Starts a VirusTotal Retrohunt job with `rules`, waits for it to finish, and submits the matching files'
 * hashes. An aborted job submits nothing and fails with UPSTREAM_FAILED.
 */
export async function runRetrohuntJob(vt: VirusTotalHuntingClient, deps: HuntingDeps, rules: string, options: RunRetrohuntJobOptions = {}): Promise<RetrohuntJobResult> {
  const { pollMs = 30_000, timeoutMs = 6 * 60 * 60_000, max = 10_000, signal, onPoll, ...create } = options;
  let job = await vt.createRetrohuntJob({ ...create, rules }, signal);
  const deadline = Date.now() + timeoutMs;
  while (job.attributes.status !== 'finished') {
    if (job.attributes.status === 'aborted' || job.attributes.status === 'aborting') {
      throw new AppError('UPSTREAM_FAILED', `virustotal retrohunt job ${job.id} was aborted`, { retryable: false });
    }
    if (Date.now() > deadline) throw new AppError('UPSTREAM_FAILED', `virustotal retrohunt job ${job.id} still ${job.attributes.status} after ${timeoutMs} ms`);
    await sleep(pollMs, signal);
    job = await vt.getRetrohuntJob(job.id, signal);
    onPoll?.(job);
  }
  const sha256s = await collect((cursor) => vt.retrohuntMatchingFiles(job.id, { limit: 100, ...(cursor === undefined ? {} : { cursor }) }, signal), max);
  return { job, sha256s, entries: sha256s.length === 0 ? [] : await submit(deps, sha256s, `virustotal-retrohunt:${job.id}`) };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(new AppError('UPSTREAM_FAILED', 'retrohunt wait aborted', { cause: signal.reason }));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new AppError('UPSTREAM_FAILED', 'retrohunt wait aborted', { cause: signal.reason }));
    }, { once: true });
  });
}
