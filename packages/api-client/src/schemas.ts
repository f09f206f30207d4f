import { z } from 'zod';

/**
 * The HTTP API's wire format, one source of truth: the server validates and serialises with these schemas
 * (through fastify-type-provider-zod, which also derives the OpenAPI document) and the client parses every
 * response with them. Timestamps are ISO-8601 UTC strings; hashes are lower-case hex.
 */

export const ROLES = ['admin', 'analyst', 'submitter', 'reader'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

/** What a route may require; the server's role table (apps/server/src/auth/permissions.ts) grants them. */
export const PERMISSIONS = ['read', 'submit', 'download', 'tokens:manage', 'jobs:manage'] as const;
export const PermissionSchema = z.enum(PERMISSIONS);
export type Permission = z.infer<typeof PermissionSchema>;

export const HEX_HASH_LENGTHS = { md5: 32, sha1: 40, sha256: 64, sha512: 128 } as const;

export const Sha256Schema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'expected a SHA-256 (64 hex digits)')
  .transform((value) => value.toLowerCase());
/** MD5, SHA-1, SHA-256 or SHA-512. */
export const AnyHashSchema = z
  .string()
  .regex(
    /^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128})$/,
    'expected an MD5, SHA-1, SHA-256 or SHA-512',
  )
  .transform((value) => value.toLowerCase());

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const HealthSchema = z.object({ status: z.literal('ok'), version: z.string() });
export type Health = z.infer<typeof HealthSchema>;

// Samples -------------------------------------------------------------------------------------------------

export const SubmittedSampleSchema = z.object({
  sha256: z.string(),
  analysisId: z.string(),
  isNewSample: z.boolean(),
  fileName: z.string(),
});
export const SubmitSamplesResponseSchema = z.object({ samples: z.array(SubmittedSampleSchema) });
export type SubmittedSample = z.infer<typeof SubmittedSampleSchema>;
export type SubmitSamplesResponse = z.infer<typeof SubmitSamplesResponseSchema>;

export const FileTypeSchema = z.object({
  kind: z.string(),
  format: z.string(),
  mime: z.string(),
  description: z.string(),
  traits: z.array(z.string()),
});

export const SampleSchema = z.object({
  sha256: z.string(),
  md5: z.string(),
  sha1: z.string(),
  sha512: z.string(),
  size: z.number().int(),
  fileType: FileTypeSchema,
  ssdeep: z.string().nullable(),
  tlsh: z.string().nullable(),
  imphash: z.string().nullable(),
  firstSeen: z.string(),
  lastSeen: z.string(),
});
export type ApiSample = z.infer<typeof SampleSchema>;

export const AnalyzerResultSchema = z.object({
  analyzer: z.string(),
  analyzerVersion: z.string(),
  rulesetVersion: z.string(),
  status: z.enum(['ok', 'error', 'skipped']),
  /** The analyser's own output; its shape belongs to the analyser (see @malpipe/analyzers). */
  result: z.unknown(),
  warnings: z.array(z.string()),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  durationMs: z.number(),
  createdAt: z.string(),
});
export type AnalyzerResult = z.infer<typeof AnalyzerResultSchema>;

export const RelatedSampleSchema = z.object({
  sha256: z.string(),
  kind: z.string(),
  analyzer: z.string(),
  detail: z.string().nullable(),
});

export const SampleIndicatorSchema = z.object({
  type: z.string(),
  value: z.string(),
  analyzer: z.string(),
  context: z.string().nullable(),
});

export const YaraMatchSchema = z.object({
  rule: z.string(),
  namespace: z.string(),
  tags: z.array(z.string()),
  rulesetVersion: z.string(),
});

export const AnalysisSummarySchema = z.object({
  id: z.string(),
  sha256: z.string(),
  rootId: z.string(),
  parentId: z.string().nullable(),
  depth: z.number().int(),
  state: z.string(),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type AnalysisSummary = z.infer<typeof AnalysisSummarySchema>;

export const SampleReportSchema = z.object({
  sample: SampleSchema,
  names: z.array(z.string()),
  tags: z.array(z.string()),
  sources: z.array(z.string()),
  results: z.array(AnalyzerResultSchema),
  relations: z.object({ parents: z.array(RelatedSampleSchema), children: z.array(RelatedSampleSchema) }),
  indicators: z.array(SampleIndicatorSchema),
  yaraMatches: z.array(YaraMatchSchema),
  analyses: z.array(AnalysisSummarySchema),
});
export type SampleReport = z.infer<typeof SampleReportSchema>;

// Analyses and jobs ---------------------------------------------------------------------------------------

export const AnalysisStatusSchema = AnalysisSummarySchema.extend({
  results: z.array(AnalyzerResultSchema),
  children: z.array(AnalysisSummarySchema),
});
export type AnalysisStatus = z.infer<typeof AnalysisStatusSchema>;

export const JOB_STATES = ['queued', 'running', 'completed', 'failed', 'dead'] as const;
export const JobSchema = z.object({
  id: z.string(),
  name: z.string(),
  payload: z.unknown(),
  state: z.enum(JOB_STATES),
  priority: z.number().int(),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Job = z.infer<typeof JobSchema>;
export const JobListQuerySchema = z.object({
  state: z.enum(JOB_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type JobListQuery = Omit<z.input<typeof JobListQuerySchema>, 'limit'> & { limit?: number };
export const JobListSchema = z.object({ jobs: z.array(JobSchema) });

// Hashes --------------------------------------------------------------------------------------------------

export const MAX_HASHES_PER_REQUEST = 10_000;
export const SUBMITTABLE_HASH_TYPES = ['md5', 'sha1', 'sha256'] as const;
export type SubmittableHashType = (typeof SUBMITTABLE_HASH_TYPES)[number];
/** `known`: the sample is stored but no analysis has completed yet; `analysed`: a report exists. */
export const HASH_REQUEST_STATES = [
  'queued',
  'fetching',
  'not-found',
  'fetched',
  'known',
  'analysed',
  'failed',
] as const;

export const SubmitHashesRequestSchema = z
  .object({
    hashes: z.array(z.string().max(256)).min(1).optional(),
    text: z.string().min(1).optional(),
  })
  .refine((body) => (body.hashes === undefined) !== (body.text === undefined), {
    message: 'give exactly one of "hashes" or "text"',
  });
export type SubmitHashesRequest = z.infer<typeof SubmitHashesRequestSchema>;

export const HashEntrySchema = z.object({
  hash: z.string(),
  type: z.enum(SUBMITTABLE_HASH_TYPES),
  id: z.string(),
  state: z.enum(HASH_REQUEST_STATES),
  sha256: z.string().optional(),
});
export type HashEntry = z.infer<typeof HashEntrySchema>;
export const SubmitHashesResponseSchema = z.object({ hashes: z.array(HashEntrySchema) });

export const HashRequestSchema = z.object({
  id: z.string(),
  hash: z.string(),
  type: z.enum(SUBMITTABLE_HASH_TYPES),
  state: z.enum(HASH_REQUEST_STATES),
  sha256: z.string().nullable(),
  errorMessage: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type HashRequest = z.infer<typeof HashRequestSchema>;

// Search --------------------------------------------------------------------------------------------------

export const MAX_SEARCH_LIMIT = 200;
export const SearchQuerySchema = z.object({
  /** Free text: a hash, an IoC (URL, domain, IP, e-mail) or a word matched against names, tags, types, rules. */
  q: z.string().min(1).max(2048).optional(),
  hash: AnyHashSchema.optional(),
  name: z.string().min(1).max(1024).optional(),
  /** A file format (`pe32`) or kind (`executable`). */
  type: z.string().min(1).max(64).optional(),
  tag: z.string().min(1).max(128).optional(),
  yara: z.string().min(1).max(256).optional(),
  ioc: z.string().min(1).max(2048).optional(),
  /** Bounds on last_seen, inclusive. */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_SEARCH_LIMIT).default(50),
  cursor: z.string().max(512).optional(),
});
export type SearchQuery = Omit<z.input<typeof SearchQuerySchema>, 'limit'> & { limit?: number };

export const SampleSummarySchema = z.object({
  sha256: z.string(),
  md5: z.string(),
  sha1: z.string(),
  size: z.number().int(),
  fileType: z.object({ kind: z.string(), format: z.string(), description: z.string() }),
  names: z.array(z.string()),
  tags: z.array(z.string()),
  firstSeen: z.string(),
  lastSeen: z.string(),
});
export type SampleSummary = z.infer<typeof SampleSummarySchema>;
export const SearchResponseSchema = z.object({
  items: z.array(SampleSummarySchema),
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type SearchResponse = z.infer<typeof SearchResponseSchema>;

// Tokens --------------------------------------------------------------------------------------------------

export const CreateTokenRequestSchema = z.object({
  name: z.string().trim().min(1).max(100),
  role: RoleSchema,
  rateLimitPerMinute: z.number().int().min(1).max(1_000_000).optional(),
});
export type CreateTokenRequest = z.infer<typeof CreateTokenRequestSchema>;

export const TokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: RoleSchema,
  rateLimitPerMinute: z.number().int().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type Token = z.infer<typeof TokenSchema>;
/** The only response carrying the secret; the server keeps only its SHA-256. */
export const CreatedTokenSchema = TokenSchema.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof CreatedTokenSchema>;
export const TokenListSchema = z.object({ tokens: z.array(TokenSchema) });

/** GET /me: the calling token (any role) and what its role may do, in PERMISSIONS order. */
export const MeSchema = z.object({
  tokenId: z.string(),
  name: z.string(),
  role: RoleSchema,
  permissions: z.array(PermissionSchema),
});
export type Me = z.infer<typeof MeSchema>;

export const IdParamsSchema = z.object({ id: z.string().min(1).max(128) });
export const HashParamsSchema = z.object({ hash: AnyHashSchema });
export const Sha256ParamsSchema = z.object({ sha256: Sha256Schema });
