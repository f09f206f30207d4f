import type { AppError } from '@malpipe/core';

/**
 * The SampleSource seam: somewhere outside malpipe that can hand over a sample (VirusTotal, MalwareBazaar, an
 * HTTP(S) URL). A source only talks to its upstream; quotas, caching, retries and storing the bytes belong to
 * the fetcher (../fetcher), which tries the configured sources in order.
 *
 * Failures are thrown as AppErrors the fetcher can act on:
 * - `UPSTREAM_QUOTA_EXCEEDED` (retryable; `details.retryAt` in epoch ms when known): try again later, never drop;
 * - `UPSTREAM_AUTH_FAILED` (not retryable): the API key is wrong, skip this source;
 * - `UPSTREAM_FAILED` (retryable): a 5xx, a timeout, or an answer that does not parse.
 * "Not found" is an answer, not a failure.
 *
 * @example
 * const found = await source.lookup({ hash: 'e3b0c442...' }, signal);
 * if (found.status === 'found' && found.file !== null) await submit(found.file.bytes);
 */
export interface SampleSource {
  /** Recorded in sample_sources and as the analysis-result name of the source's report. */
  readonly name: string;
  accepts(ref: SampleRef): boolean;
  /**
   * `known.report`: this source's report from an earlier attempt (the download had to wait for quota); the
   * source may skip asking for it again and go straight to the download.
   */
  lookup(
    ref: SampleRef,
    signal: AbortSignal,
    known?: { readonly report?: SourceReport },
  ): Promise<SourceLookup>;
  /** A cheap authenticated request for `malpipe sources test`; resolves with a short description. */
  test(signal: AbortSignal): Promise<string>;
}

/** What to fetch: a sample by MD5/SHA-1/SHA-256 (lower-case hex), or the file behind a URL. */
export type SampleRef =
  { readonly hash: string; readonly url?: undefined } | { readonly url: string; readonly hash?: undefined };

export interface FetchedFile {
  readonly bytes: Uint8Array;
  readonly fileName: string | null;
  readonly tags: readonly string[];
}

export type SourceLookup =
  | { readonly status: 'not-found' }
  | {
      readonly status: 'found';
      /** SHA-256 as the source reports it (for URLs: of the bytes). */
      readonly sha256: string;
      /** The source's own report (VirusTotal detections, MalwareBazaar metadata); stored even without the file. */
      readonly report: SourceReport | null;
      readonly file: FetchedFile | null;
      /** Why `file` is null although the sample is known (premium-only download, no longer shared...). */
      readonly fileError: AppError | null;
    };

/** A source's account of a sample, in a shape common to every source plus the raw attributes. */
export interface SourceReport {
  readonly sha256: string;
  readonly md5: string | null;
  readonly sha1: string | null;
  readonly names: readonly string[];
  readonly tags: readonly string[];
  /** ISO-8601 UTC, when the source first saw the sample. */
  readonly firstSeen: string | null;
  /** Engines (or vendors) flagging the sample, and how many looked. */
  readonly detections: { readonly malicious: number; readonly total: number } | null;
  /** Per engine verdict names, e.g. `{ "ESET-NOD32": "Win32/Agent.XYZ" }`. */
  readonly verdicts: Readonly<Record<string, string>>;
  readonly signature: string | null;
  readonly raw: Readonly<Record<string, unknown>>;
}
