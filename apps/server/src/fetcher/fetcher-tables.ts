import type { ColumnType } from 'kysely';

/** The fetcher's tables (migration 0004-sample-fetching), merged into the database Schema. */
export interface FetcherTables {
  rate_limit_slots: RateLimitSlotsTable;
  source_not_found: SourceNotFoundTable;
  source_circuits: SourceCircuitsTable;
  source_reports: SourceReportsTable;
  hash_fetches: HashFetchesTable;
}

/**
 * A sliding-window budget: `limit` slots per (key, window); a request takes a slot last used more than a window
 * ago. Any window therefore holds at most `limit` requests, across every process sharing the database.
 */
export interface RateLimitSlotsTable {
  /** `<source>:<hash of the API key>:<window ms>`. */
  key: string;
  slot: number;
  /** Epoch ms the slot's last request completed (0: never), or until which `block` holds it. */
  used_at: number;
  /** While a request is in flight: when its lease runs out (a crashed process's slot frees after this). */
  leased_until: number | null;
}

/** "This source does not have this hash", remembered until `expires_at` (epoch ms). */
export interface SourceNotFoundTable {
  source: string;
  hash: string;
  expires_at: number;
}

/** A circuit breaker per source: open (skipped) until `open_until` after `failures` consecutive failures. */
export interface SourceCircuitsTable {
  source: string;
  failures: number;
  open_until: number;
}

/** A source's own report on a sample (VirusTotal detections...), kept even when the file was not downloadable. */
export interface SourceReportsTable {
  source: string;
  sha256: string;
  md5: string | null;
  sha1: string | null;
  /** JSON SourceReport. */
  report: string;
  fetched_at: string;
}

/**
 * Fetch bookkeeping per hash request: the fetch-hash job that owns it (any other job for it is stale and
 * does nothing), failed attempts (quota waits do not count) and the last reason.
 */
export interface HashFetchesTable {
  hash_request_id: string;
  job_id: string | null;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  updated_at: string;
}
