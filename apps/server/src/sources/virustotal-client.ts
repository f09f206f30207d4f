import { AppError, type ErrorCode } from '@malpipe/core';
import { z } from 'zod';
import {
  DEFAULT_QUOTA_BACKOFF_MS,
  UNLIMITED_BUDGET,
  deadline,
  parseJsonBody,
  readBounded,
  retryAfter,
  transportError,
  type RequestBudget,
} from './upstream-http.js';

/**
 * A client for the VirusTotal API v3 (docs.virustotal.com/reference): file reports and downloads,
 * Intelligence search, Livehunt notification files and Retrohunt jobs. Every request carries `x-apikey` and
 * passes the per-key budget first; every answer is parsed with zod. Errors keep VirusTotal's own code
 * (`NotFoundError`, `QuotaExceededError`, `WrongCredentialsError`...) in `vtCode` and map to an AppError code
 * the fetcher acts on.
 */
export interface VirusTotalClientOptions {
  readonly apiKey: string;
  /** Default `https://www.virustotal.com/api/v3`; tests point it at a local server. */
  readonly baseUrl?: string;
  readonly budget?: RequestBudget;
  readonly timeoutMs?: number;
  readonly maxDownloadBytes?: number;
  readonly fetch?: typeof fetch;
}

export const VIRUSTOTAL_BASE_URL = 'https://www.virustotal.com/api/v3';

/** VirusTotal's error codes (docs "Errors"); others may appear and are kept as strings. */
export type VirusTotalErrorCode =
  | 'BadRequestError'
  | 'InvalidArgumentError'
  | 'NotAvailableYet'
  | 'UnselectiveContentQueryError'
  | 'UnsupportedContentQueryError'
  | 'AuthenticationRequiredError'
  | 'UserNotActiveError'
  | 'WrongCredentialsError'
  | 'ForbiddenError'
  | 'NotFoundError'
  | 'AlreadyExistsError'
  | 'FailedDependencyError'
  | 'QuotaExceededError'
  | 'TooManyRequestsError'
  | 'TransientError'
  | 'DeadlineExceededError';

const CODE_MAP: Readonly<Record<VirusTotalErrorCode, ErrorCode>> = {
  BadRequestError: 'BAD_REQUEST',
  InvalidArgumentError: 'BAD_REQUEST',
  NotAvailableYet: 'UPSTREAM_FAILED',
  UnselectiveContentQueryError: 'BAD_REQUEST',
  UnsupportedContentQueryError: 'BAD_REQUEST',
  AuthenticationRequiredError: 'UPSTREAM_AUTH_FAILED',
  UserNotActiveError: 'UPSTREAM_AUTH_FAILED',
  WrongCredentialsError: 'UPSTREAM_AUTH_FAILED',
  ForbiddenError: 'FORBIDDEN',
  NotFoundError: 'NOT_FOUND',
  AlreadyExistsError: 'CONFLICT',
  FailedDependencyError: 'UPSTREAM_FAILED',
  QuotaExceededError: 'UPSTREAM_QUOTA_EXCEEDED',
  TooManyRequestsError: 'UPSTREAM_QUOTA_EXCEEDED',
  TransientError: 'UPSTREAM_FAILED',
  DeadlineExceededError: 'UPSTREAM_FAILED',
};

/** A VirusTotal error answer; `vtCode` is the `error.code` of the envelope. */
export class VirusTotalError extends AppError {
  readonly vtCode: VirusTotalErrorCode | (string & {});
  readonly httpStatus: number;

  constructor(vtCode: string, message: string, httpStatus: number, retryAt: number | null) {
    const code: ErrorCode = Object.hasOwn(CODE_MAP, vtCode)
      ? CODE_MAP[vtCode as VirusTotalErrorCode]
      : httpStatus === 429
        ? 'UPSTREAM_QUOTA_EXCEEDED'
        : 'UPSTREAM_FAILED';
    super(code, `virustotal: ${vtCode}: ${message}`, {
      details: { vtCode, httpStatus, ...(retryAt === null ? {} : { retryAt }) },
    });
    this.name = 'VirusTotalError';
    this.vtCode = vtCode;
    this.httpStatus = httpStatus;
  }
}

export function isVirusTotalError(error: unknown, vtCode?: VirusTotalErrorCode): error is VirusTotalError {
  return error instanceof VirusTotalError && (vtCode === undefined || error.vtCode === vtCode);
}

const ErrorEnvelopeSchema = z.object({
  error: z.object({ code: z.string(), message: z.string().default('') }),
});

const AttributesSchema = z.record(z.string(), z.unknown());

export const VtObjectSchema = z.object({
  type: z.string(),
  id: z.string(),
  attributes: AttributesSchema.default({}),
  links: z.object({ self: z.string().optional() }).loose().optional(),
  /** Livehunt notification files and Retrohunt matches carry the match context here. */
  context_attributes: AttributesSchema.optional(),
});
export type VtObject = z.infer<typeof VtObjectSchema>;

const SingleSchema = z.object({ data: VtObjectSchema });
const CollectionSchema = z.object({
  data: z.array(VtObjectSchema),
  meta: z.object({ cursor: z.string().optional() }).loose().optional(),
  links: z.object({ self: z.string().optional(), next: z.string().optional() }).loose().optional(),
});

const HEX64 = /^[0-9a-f]{64}$/;

/** The file attributes malpipe reads (docs "Files" object); anything else stays in `attributes`. */
export const VtFileAttributesSchema = z
  .object({
    sha256: z.string().regex(HEX64),
    md5: z.string().optional(),
    sha1: z.string().optional(),
    size: z.number().optional(),
    names: z.array(z.string()).default([]),
    meaningful_name: z.string().optional(),
    type_description: z.string().optional(),
    tags: z.array(z.string()).default([]),
    first_submission_date: z.number().optional(),
    last_analysis_date: z.number().optional(),
    last_analysis_stats: z.record(z.string(), z.number()).optional(),
    last_analysis_results: z
      .record(
        z.string(),
        z.object({ category: z.string().optional(), result: z.string().nullable().optional() }).loose(),
      )
      .default({}),
    popular_threat_classification: z
      .object({ suggested_threat_label: z.string().optional() })
      .loose()
      .optional(),
  })
  .loose();
export type VtFileAttributes = z.infer<typeof VtFileAttributesSchema>;

export interface VtFile {
  readonly id: string;
  readonly attributes: VtFileAttributes;
}

export interface VtPage {
  readonly data: readonly VtObject[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly cursor: string | null;
}

export interface VtPageOptions {
  readonly limit?: number;
  readonly cursor?: string;
}

export const RETROHUNT_STATUSES = [
  'queued',
  'starting',
  'running',
  'aborting',
  'aborted',
  'finished',
] as const;

export const RetrohuntJobAttributesSchema = z
  .object({
    status: z.string(),
    progress: z.number().optional(),
    eta_seconds: z.number().nullable().optional(),
    num_matches: z.number().optional(),
    corpus: z.string().optional(),
    rules: z.string().optional(),
    creation_date: z.number().optional(),
    start_date: z.number().nullable().optional(),
    finish_date: z.number().nullable().optional(),
  })
  .loose();
export interface RetrohuntJob {
  readonly id: string;
  readonly attributes: z.infer<typeof RetrohuntJobAttributesSchema>;
}

export interface CreateRetrohuntJob {
  readonly rules: string;
  readonly corpus?: 'main' | 'goodware';
  readonly notificationEmail?: string;
  /** Unix seconds. */
  readonly timeRange?: { readonly start?: number; readonly end?: number };
}

const MAX_JSON_BYTES = 32 * 1024 * 1024;

export class VirusTotalClient {
  readonly #apiKey: string;
  readonly #base: string;
  readonly #origin: string;
  readonly #budget: RequestBudget;
  readonly #timeoutMs: number;
  readonly #maxDownloadBytes: number;
  readonly #fetch: typeof fetch;

  constructor(options: VirusTotalClientOptions) {
    this.#apiKey = options.apiKey;
    this.#base = (options.baseUrl ?? VIRUSTOTAL_BASE_URL).replace(/\/+$/, '');
    this.#origin = new URL(this.#base).origin;
    this.#budget = options.budget ?? UNLIMITED_BUDGET;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#maxDownloadBytes = options.maxDownloadBytes ?? 256 * 1024 * 1024;
    this.#fetch = options.fetch ?? fetch;
  }

  /** `GET /files/{id}` by SHA-256, SHA-1 or MD5. Throws a VirusTotalError `NotFoundError` for unknown files. */
  async getFile(id: string, signal?: AbortSignal): Promise<VtFile> {
    const { data } = await this.#json('GET', `/files/${encodeURIComponent(id)}`, SingleSchema, signal);
    const attributes = VtFileAttributesSchema.safeParse(data.attributes);
    if (!attributes.success)
      throw new AppError('UPSTREAM_FAILED', `virustotal: file object ${data.id} lacks usable attributes`);
    return { id: data.id, attributes: attributes.data };
  }

  /**
   * `GET /files/{id}/download` (premium). VirusTotal may answer with the bytes or redirect to a storage URL;
   * redirects are followed by hand so the API key is only ever sent to the API's own origin.
   */
  async downloadFile(id: string, signal?: AbortSignal): Promise<Uint8Array> {
    let url = new URL(`${this.#base}/files/${encodeURIComponent(id)}/download`);
    const requestSignal = deadline(signal, this.#timeoutMs);
    for (let hop = 0; hop <= 5; hop++) {
      const init: RequestInit = { method: 'GET', redirect: 'manual', signal: requestSignal };
      const target = url;
      // Only the API request spends quota; following the redirect to storage does not.
      const response =
        hop === 0
          ? await this.#budget.run(() => this.#send(target, init, `download ${id}`))
          : await this.#send(target, init, `download ${id}`);
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        const location = response.headers.get('location');
        if (location === null)
          throw new AppError('UPSTREAM_FAILED', `virustotal: redirect without Location for ${id}`);
        url = new URL(location, url);
        if (url.protocol !== 'https:' && url.protocol !== 'http:')
          throw new AppError('UPSTREAM_FAILED', `virustotal: redirect to ${url.protocol} refused`);
        continue;
      }
      if (!response.ok) await this.#throwError(response);
      return await readBounded(response, this.#maxDownloadBytes, `virustotal file ${id}`).catch(
        (error: unknown) => {
          throw transportError(error, `virustotal download ${id}`);
        },
      );
    }
    throw new AppError('UPSTREAM_FAILED', `virustotal: too many redirects downloading ${id}`);
  }

  /** `GET /intelligence/search` (premium): one page of results. */
  async search(
    query: string,
    options: VtPageOptions & { readonly order?: string; readonly descriptorsOnly?: boolean } = {},
    signal?: AbortSignal,
  ): Promise<VtPage> {
    const params = pageParams(options);
    params.set('query', query);
    if (options.order !== undefined) params.set('order', options.order);
    if (options.descriptorsOnly === true) params.set('descriptors_only', 'true');
    return this.#page(`/intelligence/search?${params.toString()}`, signal);
  }

  /** Every result of an Intelligence search, following `meta.cursor`, up to `max` objects. */
  async *searchAll(
    query: string,
    options: { readonly max?: number; readonly pageSize?: number } = {},
    signal?: AbortSignal,
  ): AsyncGenerator<VtObject> {
    let cursor: string | undefined;
    let seen = 0;
    const max = options.max ?? Number.POSITIVE_INFINITY;
    do {
      const page = await this.search(
        query,
        { limit: options.pageSize ?? 100, ...(cursor === undefined ? {} : { cursor }) },
        signal,
      );
      for (const object of page.data) {
        if (seen++ >= max) return;
        yield object;
      }
      cursor = page.cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** `GET /intelligence/hunting_notification_files`: Livehunt matches as file objects with `context_attributes`. */
  huntingNotificationFiles(
    options: VtPageOptions & { readonly filter?: string } = {},
    signal?: AbortSignal,
  ): Promise<VtPage> {
    const params = pageParams(options);
    if (options.filter !== undefined) params.set('filter', options.filter);
    return this.#page(`/intelligence/hunting_notification_files?${params.toString()}`, signal);
  }

  /** `POST /intelligence/retrohunt_jobs`. */
  async createRetrohuntJob(job: CreateRetrohuntJob, signal?: AbortSignal): Promise<RetrohuntJob> {
    const attributes: Record<string, unknown> = { rules: job.rules };
    if (job.corpus !== undefined) attributes['corpus'] = job.corpus;
    if (job.notificationEmail !== undefined) attributes['notification_email'] = job.notificationEmail;
    if (job.timeRange !== undefined) attributes['time_range'] = job.timeRange;
    const { data } = await this.#json('POST', '/intelligence/retrohunt_jobs', SingleSchema, signal, {
      data: { type: 'retrohunt_job', attributes },
    });
    return toRetrohuntJob(data);
  }

  /** `GET /intelligence/retrohunt_jobs/{id}`. */
  async getRetrohuntJob(id: string, signal?: AbortSignal): Promise<RetrohuntJob> {
    const { data } = await this.#json(
      'GET',
      `/intelligence/retrohunt_jobs/${encodeURIComponent(id)}`,
      SingleSchema,
      signal,
    );
    return toRetrohuntJob(data);
  }

  /** `GET /intelligence/retrohunt_jobs/{id}/matching_files`: one page of matching file objects. */
  retrohuntMatchingFiles(id: string, options: VtPageOptions = {}, signal?: AbortSignal): Promise<VtPage> {
    return this.#page(
      `/intelligence/retrohunt_jobs/${encodeURIComponent(id)}/matching_files?${pageParams(options).toString()}`,
      signal,
    );
  }

  async #page(path: string, signal: AbortSignal | undefined): Promise<VtPage> {
    const body = await this.#json('GET', path, CollectionSchema, signal);
    return {
      data: body.data,
      cursor: body.meta?.cursor !== undefined && body.meta.cursor !== '' ? body.meta.cursor : null,
    };
  }

  async #json<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    signal: AbortSignal | undefined,
    body?: unknown,
  ): Promise<z.infer<S>> {
    const what = `virustotal ${method} ${path.split('?')[0] ?? path}`;
    const init: RequestInit = { method, redirect: 'error', signal: deadline(signal, this.#timeoutMs) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const response = await this.#budget.run(() => this.#send(new URL(`${this.#base}${path}`), init, what));
    if (!response.ok) await this.#throwError(response);
    let bytes: Uint8Array;
    try {
      bytes = await readBounded(response, MAX_JSON_BYTES, what);
    } catch (error) {
      throw transportError(error, what);
    }
    return parseJsonBody(bytes, schema, what);
  }

  async #send(url: URL, init: RequestInit, what: string): Promise<Response> {
    const headers = new Headers(init.headers);
    // The key goes only to the API's origin, never to a redirect target elsewhere.
    if (url.origin === this.#origin) headers.set('x-apikey', this.#apiKey);
    headers.set('accept', 'application/json');
    try {
      return await this.#fetch(url, { ...init, headers });
    } catch (error) {
      throw transportError(error, what);
    }
  }

  async #throwError(response: Response): Promise<never> {
    const bytes = await readBounded(response, 64 * 1024, 'virustotal error').catch(() => new Uint8Array());
    let code = `HTTP${response.status}`;
    let message = response.statusText;
    try {
      const parsed = ErrorEnvelopeSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
      if (parsed.success) ({ code, message } = parsed.data.error);
    } catch {
      // Not the documented envelope (a proxy's HTML page): keep the HTTP status as the code.
    }
    const isQuota =
      response.status === 429 || code === 'QuotaExceededError' || code === 'TooManyRequestsError';
    const retryAt = isQuota ? (retryAfter(response.headers) ?? Date.now() + DEFAULT_QUOTA_BACKOFF_MS) : null;
    if (isQuota && retryAt !== null) await this.#budget.exhausted(retryAt);
    throw new VirusTotalError(code, message, response.status, retryAt);
  }
}

function pageParams(options: VtPageOptions): URLSearchParams {
  const params = new URLSearchParams();
  if (options.limit !== undefined) params.set('limit', String(options.limit));
  if (options.cursor !== undefined) params.set('cursor', options.cursor);
  return params;
}

function toRetrohuntJob(data: VtObject): RetrohuntJob {
  const attributes = RetrohuntJobAttributesSchema.safeParse(data.attributes);
  if (data.type !== 'retrohunt_job' || !attributes.success)
    throw new AppError('UPSTREAM_FAILED', `virustotal: ${data.id} is not a retrohunt job`);
  return { id: data.id, attributes: attributes.data };
}
