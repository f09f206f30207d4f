import type { z } from 'zod';
import {
  AnalysisStatusSchema,
  CreatedTokenSchema,
  ErrorBodySchema,
  HashRequestSchema,
  HealthSchema,
  JobListSchema,
  JobSchema,
  MeSchema,
  SampleReportSchema,
  SearchResponseSchema,
  SubmitHashesResponseSchema,
  SubmitSamplesResponseSchema,
  TokenListSchema,
  TokenSchema,
  type AnalysisStatus,
  type CreateTokenRequest,
  type CreatedToken,
  type HashEntry,
  type HashRequest,
  type Health,
  type Job,
  type JobListQuery,
  type Me,
  type SampleReport,
  type SearchQuery,
  type SearchResponse,
  type SubmitHashesRequest,
  type SubmittedSample,
  type Token,
} from './schemas.js';
import {
  RuleHistorySchema,
  RulesetDetailSchema,
  RulesetListSchema,
  RulesetVersionSchema,
  type RuleHistory,
  type RulesetDetail,
  type RulesetList,
  type RulesetVersionSummary,
} from './ruleset-schemas.js';
import {
  ConfigDetailSchema,
  ConfigSearchResponseSchema,
  ProbeHistorySchema,
  ProbeQueuedSchema,
  ServerListResponseSchema,
  type ConfigDetail,
  type ConfigQuery,
  type ConfigSearchResponse,
  type ProbeQueued,
  type ProbeRecord,
  type ServerListQuery,
  type TeamServerSummary,
} from './cobaltstrike-schemas.js';

/**
 * A failed API call. `code` is the server's stable error code (`SAMPLE_NOT_FOUND`, `RATE_LIMITED`...), or
 * `NETWORK_FAILED` / `BAD_RESPONSE` when the server could not be reached or answered something unexpected.
 */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.details = options.details;
  }
}

export interface ApiClientOptions {
  /** Server origin, e.g. `http://127.0.0.1:8787` (the `/api/v1` prefix is added here). */
  readonly baseUrl: string;
  readonly token?: string | undefined;
  /** Defaults to the global fetch (browsers, Node 20). */
  readonly fetch?: typeof fetch;
}

/** A file to upload; `Uint8Array` covers Node Buffers. */
export interface UploadFile {
  readonly name: string;
  readonly data: Blob | Uint8Array;
}

export interface SubmitSamplesOptions {
  /** Archive passwords to try, in order. */
  readonly passwords?: readonly string[];
  readonly tags?: readonly string[];
  /** Analyse again even when a report exists. */
  readonly force?: boolean;
}

export interface ApiClient {
  health(): Promise<Health>;
  submitSamples(files: readonly UploadFile[], options?: SubmitSamplesOptions): Promise<SubmittedSample[]>;
  submitHashes(request: SubmitHashesRequest): Promise<HashEntry[]>;
  getHashRequest(id: string): Promise<HashRequest>;
  getSample(hash: string): Promise<SampleReport>;
  /** The sample inside a ZIP encrypted with ZipCrypto, password `infected`. */
  downloadSample(sha256: string): Promise<Uint8Array>;
  search(query: SearchQuery): Promise<SearchResponse>;
  getAnalysis(id: string): Promise<AnalysisStatus>;
  getJob(id: string): Promise<Job>;
  listJobs(query?: JobListQuery): Promise<Job[]>;
  retryJob(id: string): Promise<Job>;
  createToken(request: CreateTokenRequest): Promise<CreatedToken>;
  listTokens(): Promise<Token[]>;
  revokeToken(id: string): Promise<Token>;
  /** The calling token: id, name, role and its role's permissions (any role). */
  me(): Promise<Me>;
  listRulesets(): Promise<RulesetList>;
  /** One version with its diff against its parent and its quality-gate report. */
  getRuleset(version: string): Promise<RulesetDetail>;
  /** Admin: make `version` the active ruleset. */
  deployRuleset(version: string): Promise<RulesetVersionSummary>;
  /** Admin: return to the version deployed before the active one. */
  rollbackRuleset(): Promise<RulesetVersionSummary>;
  getRuleHistory(name: string): Promise<RuleHistory>;
  /** Beacon configs, newest first; filters combine with AND; pass `nextCursor` back as `cursor`. */
  searchCobaltStrikeConfigs(query?: ConfigQuery): Promise<ConfigSearchResponse>;
  /** One beacon config (id: 64 hex digits) with the samples and team servers it was seen in. */
  getCobaltStrikeConfig(id: string): Promise<ConfigDetail>;
  listTeamServers(query?: ServerListQuery): Promise<TeamServerSummary[]>;
  /** A team server's probes (id `host:port`), newest first. */
  listTeamServerProbes(id: string): Promise<ProbeRecord[]>;
  /** Analyst/admin: queue a probe of `host:port`, `[v6]:port` or an http(s) URL. */
  probeTeamServer(target: string): Promise<ProbeQueued>;
}

type QueryValue = string | number | boolean | undefined;

/**
 * A typed client for the malpipe HTTP API. Uses only web-platform APIs (fetch, FormData, Blob, URL), so it
 * runs in browsers, extensions and Node 20 alike.
 *
 * @example
 * const api = createApiClient({ baseUrl: 'http://127.0.0.1:8787', token: process.env.MALPIPE_TOKEN });
 * const [submitted] = await api.submitSamples([{ name: 'a.exe', data: bytes }], { tags: ['phishing'] });
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const apiBase = `${options.baseUrl.replace(/\/+$/, '')}/api/v1`;

  function url(path: string, query?: Readonly<Record<string, QueryValue>>): string {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) search.set(key, String(value));
    }
    const encoded = search.toString();
    const suffix = encoded === '' ? '' : `?${encoded}`;
    return `${apiBase}${path}${suffix}`;
  }

  async function send(
    method: string,
    target: string,
    body?: string | FormData,
    contentType?: string,
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (contentType !== undefined) headers['content-type'] = contentType;
    let response: Response;
    try {
      response = await fetchImpl(target, { method, headers, ...(body === undefined ? {} : { body }) });
    } catch (error) {
      throw new ApiError(
        'NETWORK_FAILED',
        0,
        `cannot reach ${target}: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
    if (!response.ok) throw await toApiError(response);
    return response;
  }

  async function json<S extends z.ZodType>(
    schema: S,
    method: string,
    target: string,
    body?: unknown,
  ): Promise<z.output<S>> {
    const response =
      body === undefined
        ? await send(method, target)
        : await send(method, target, JSON.stringify(body), 'application/json');
    const parsed = schema.safeParse(await readJson(response));
    if (!parsed.success) {
      throw new ApiError(
        'BAD_RESPONSE',
        response.status,
        `unexpected response from ${method} ${target}: ${parsed.error.message}`,
      );
    }
    return parsed.data;
  }

  const path = (segment: string): string => encodeURIComponent(segment);

  return {
    health: () => json(HealthSchema, 'GET', url('/health')),

    async submitSamples(files, submitOptions = {}) {
      const form = new FormData();
      for (const password of submitOptions.passwords ?? []) form.append('password', password);
      if (submitOptions.tags !== undefined && submitOptions.tags.length > 0)
        form.append('tags', submitOptions.tags.join(','));
      if (submitOptions.force === true) form.append('force', 'true');
      for (const file of files) {
        // Copy Uint8Array views into a plain ArrayBuffer-backed Blob (SharedArrayBuffer views are not BlobParts).
        const blob = file.data instanceof Blob ? file.data : new Blob([new Uint8Array(file.data)]);
        form.append('file', blob, file.name);
      }
      const response = await send('POST', url('/samples'), form);
      const parsed = SubmitSamplesResponseSchema.safeParse(await readJson(response));
      if (!parsed.success)
        throw new ApiError(
          'BAD_RESPONSE',
          response.status,
          `unexpected upload response: ${parsed.error.message}`,
        );
      return parsed.data.samples;
    },

    async submitHashes(request) {
      return (await json(SubmitHashesResponseSchema, 'POST', url('/hashes'), request)).hashes;
    },
    getHashRequest: (id) => json(HashRequestSchema, 'GET', url(`/hashes/${path(id)}`)),
    getSample: (hash) => json(SampleReportSchema, 'GET', url(`/samples/${path(hash)}`)),

    async downloadSample(sha256) {
      const response = await send('GET', url(`/samples/${path(sha256)}/download`));
      return new Uint8Array(await response.arrayBuffer());
    },

    search: (query) => json(SearchResponseSchema, 'GET', url('/search', { ...query })),
    getAnalysis: (id) => json(AnalysisStatusSchema, 'GET', url(`/analyses/${path(id)}`)),
    getJob: (id) => json(JobSchema, 'GET', url(`/jobs/${path(id)}`)),
    async listJobs(query = {}) {
      return (await json(JobListSchema, 'GET', url('/jobs', { ...query }))).jobs;
    },
    retryJob: (id) => json(JobSchema, 'POST', url(`/jobs/${path(id)}/retry`)),
    createToken: (request) => json(CreatedTokenSchema, 'POST', url('/tokens'), request),
    async listTokens() {
      return (await json(TokenListSchema, 'GET', url('/tokens'))).tokens;
    },
    revokeToken: (id) => json(TokenSchema, 'DELETE', url(`/tokens/${path(id)}`)),
    me: () => json(MeSchema, 'GET', url('/me')),
    listRulesets: () => json(RulesetListSchema, 'GET', url('/rulesets')),
    getRuleset: (version) => json(RulesetDetailSchema, 'GET', url(`/rulesets/${path(version)}`)),
    deployRuleset: (version) => json(RulesetVersionSchema, 'POST', url(`/rulesets/${path(version)}/deploy`)),
    rollbackRuleset: () => json(RulesetVersionSchema, 'POST', url('/rulesets/rollback')),
    getRuleHistory: (name) => json(RuleHistorySchema, 'GET', url(`/rules/${path(name)}/history`)),
    searchCobaltStrikeConfigs: (query = {}) => json(ConfigSearchResponseSchema, 'GET', url('/cobaltstrike/configs', { ...query })),
    getCobaltStrikeConfig: (id) => json(ConfigDetailSchema, 'GET', url(`/cobaltstrike/configs/${path(id)}`)),
    async listTeamServers(query = {}) {
      return (await json(ServerListResponseSchema, 'GET', url('/cobaltstrike/servers', { ...query }))).servers;
    },
    async listTeamServerProbes(id) {
      return (await json(ProbeHistorySchema, 'GET', url(`/cobaltstrike/servers/${path(id)}/probes`))).probes;
    },
    probeTeamServer: (target) => json(ProbeQueuedSchema, 'POST', url('/cobaltstrike/probe'), { target }),
  };
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApiError(
      'BAD_RESPONSE',
      response.status,
      `expected JSON, got ${JSON.stringify(text.slice(0, 200))}`,
      { cause: error },
    );
  }
}

async function toApiError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Not our JSON error shape (a proxy's HTML page...): keep the status and the start of the text.
    return new ApiError('HTTP_ERROR', response.status, `HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
  const parsed = ErrorBodySchema.safeParse(body);
  if (!parsed.success)
    return new ApiError('HTTP_ERROR', response.status, `HTTP ${response.status}: ${text.slice(0, 200)}`);
  const { code, message, details } = parsed.data.error;
  return new ApiError(code, response.status, message, details === undefined ? {} : { details });
}
