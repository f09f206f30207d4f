import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { CobaltStrikeTables } from '../cobaltstrike/cobaltstrike-tables.js';
import type { FetcherTables } from '../fetcher/fetcher-tables.js';
import type { RulesetTables } from '../rulesets/ruleset-tables.js';

/**
 * The metadata schema, portable between SQLite and PostgreSQL: timestamps are ISO-8601 UTC text, JSON is
 * text, sizes are integers (bigint on Postgres). Migrations in ./migrations create exactly these tables.
 */
export interface Schema extends CobaltStrikeTables, FetcherTables, RulesetTables {
  samples: SamplesTable;
  sample_names: SampleNamesTable;
  sample_sources: SampleSourcesTable;
  sample_tags: SampleTagsTable;
  relations: RelationsTable;
  analyses: AnalysesTable;
  analysis_results: AnalysisResultsTable;
  indicators: IndicatorsTable;
  sample_indicators: SampleIndicatorsTable;
  yara_matches: YaraMatchesTable;
  hash_requests: HashRequestsTable;
  jobs: JobsTable;
  api_tokens: ApiTokensTable;
}

type Timestamp = string;
type Json = string;

export interface SamplesTable {
  sha256: string;
  md5: string;
  sha1: string;
  sha512: string;
  size: ColumnType<number, number, number>;
  file_kind: string;
  file_format: string;
  mime: string;
  file_description: string;
  /** JSON array of strings. */
  file_traits: Json;
  ssdeep: string | null;
  tlsh: string | null;
  imphash: string | null;
  first_seen: Timestamp;
  last_seen: Timestamp;
}

export interface SampleNamesTable {
  sha256: string;
  name: string;
  first_seen: Timestamp;
}

export interface SampleSourcesTable {
  sha256: string;
  /** `upload`, `cli`, `api`, `virustotal`, `malwarebazaar`, `url`, `extracted`... */
  source: string;
  first_seen: Timestamp;
}

export interface SampleTagsTable {
  sha256: string;
  tag: string;
}

export interface RelationsTable {
  parent_sha256: string;
  child_sha256: string;
  kind: string;
  analyzer: string;
  detail: string | null;
  created_at: Timestamp;
}

/** One request to analyse one sample (a submission, a child, a resubmission with --force). */
export interface AnalysesTable {
  id: string;
  sha256: string;
  /** The analysis of the submitted sample this one descends from (itself for a root). */
  root_id: string;
  parent_id: string | null;
  depth: number;
  /** queued | running | completed | failed */
  state: string;
  force: ColumnType<number, number | undefined, number>;
  /** JSON: archive passwords, requested analysers... */
  options: Json;
  error_code: string | null;
  error_message: string | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

/** One analyser's result for one sample. Unique on the cache key. */
export interface AnalysisResultsTable {
  id: Generated<number>;
  sha256: string;
  analyzer: string;
  analyzer_version: string;
  /** '' when the analyser does not use a ruleset. */
  ruleset_version: string;
  /** ok | error | skipped */
  status: string;
  result: Json | null;
  warnings: Json;
  error_code: string | null;
  error_message: string | null;
  duration_ms: number;
  created_at: Timestamp;
}

export interface IndicatorsTable {
  id: Generated<number>;
  type: string;
  value: string;
  first_seen: Timestamp;
}

export interface SampleIndicatorsTable {
  sha256: string;
  indicator_id: number;
  analyzer: string;
  context: string | null;
}

export interface YaraMatchesTable {
  sha256: string;
  ruleset_version: string;
  rule: string;
  namespace: string;
  tags: Json;
}

/** A hash submitted without its file; sources (VirusTotal, MalwareBazaar) fetch it later. */
export interface HashRequestsTable {
  id: string;
  hash: string;
  hash_type: string;
  /** queued | fetching | not-found | fetched | analysed | failed */
  state: string;
  sample_sha256: string | null;
  error_message: string | null;
  requested_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** The embedded durable queue (see queue/sqlite-job-queue.ts). */
export interface JobsTable {
  id: string;
  name: string;
  payload: Json;
  /** queued | running | completed | failed | dead */
  state: string;
  priority: number;
  attempts: number;
  max_attempts: number;
  timeout_ms: number;
  /** Earliest time the job may run (back-off and delays); epoch milliseconds. */
  run_at: number;
  /** When a running job's lease expires; epoch milliseconds. */
  lease_until: number | null;
  lease_owner: string | null;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  /** admin | analyst | submitter | reader */
  role: string;
  /** SHA-256 of the secret; the secret itself is never stored. */
  token_hash: string;
  rate_limit_per_minute: number | null;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export type SampleRow = Selectable<SamplesTable>;
export type NewSample = Insertable<SamplesTable>;
export type AnalysisRow = Selectable<AnalysesTable>;
export type ResultRow = Selectable<AnalysisResultsTable>;
export type JobRow = Selectable<JobsTable>;
export type JobUpdate = Updateable<JobsTable>;
export type TokenRow = Selectable<ApiTokensTable>;
