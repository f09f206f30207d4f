import { resolve } from 'node:path';
import { z } from 'zod';
import { AppError } from '@malpipe/core';

/** An empty variable (common in compose files) means "not set". */
const optionalSecret = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/**
 * The only reader of the environment. Every setting has an embedded default, so `malpipe serve` on a laptop
 * needs none; a CERT points the three URLs at PostgreSQL, S3 and Redis. All problems are reported at once.
 */
const EnvSchema = z.object({
  MALPIPE_DATA_DIR: z.string().default('./malpipe-data'),
  MALPIPE_DATABASE_URL: z.string().optional(),
  MALPIPE_STORE_URL: z.string().optional(),
  MALPIPE_QUEUE_URL: z.string().optional(),
  MALPIPE_ROLES: z.string().default('api,worker'),
  MALPIPE_HOST: z.string().default('127.0.0.1'),
  MALPIPE_PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  MALPIPE_ADMIN_TOKEN: z.string().min(20).optional(),
  MALPIPE_UPLOAD_LIMIT_BYTES: z.coerce.number().int().positive().default(256 * 1024 * 1024),
  MALPIPE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  MALPIPE_WORKER_CONCURRENCY: z.coerce.number().int().positive().optional(),
  MALPIPE_SANDBOX_PROCESSES: z.coerce.number().int().positive().optional(),
  // Scale-out (queue/create-job-queue.ts): back-pressure bound, completed-job retention, worker health listener.
  MALPIPE_QUEUE_MAX_WAITING: z.coerce.number().int().positive().default(100_000),
  MALPIPE_QUEUE_RETRY_AFTER_SECONDS: z.coerce.number().int().positive().default(30),
  MALPIPE_QUEUE_KEEP_COMPLETED_SECONDS: z.coerce.number().int().positive().default(3600),
  MALPIPE_QUEUE_LEASE_MS: z.coerce.number().int().min(500).default(10_000),
  MALPIPE_WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  MALPIPE_ANALYZER_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
  MALPIPE_ANALYZER_MEMORY_MB: z.coerce.number().int().positive().default(1024),
  MALPIPE_RULES_DIR: z.string().optional(),
  MALPIPE_YARA_ENGINE: z.enum(['auto', 'libyara', 'yara-x']).default('auto'),
  MALPIPE_ARCHIVE_PASSWORDS: z.string().default('infected'),
  // Sample sources (sources/, fetcher/): keys, base URLs (overridable for local test servers), order, budgets.
  MALPIPE_SOURCES: z.string().default('virustotal,malwarebazaar'),
  MALPIPE_VT_API_KEY: optionalSecret,
  MALPIPE_VT_BASE_URL: z.url().default('https://www.virustotal.com/api/v3'),
  /** The public VirusTotal API allows 4 requests a minute and 500 a day per key. */
  MALPIPE_VT_REQUESTS_PER_MINUTE: z.coerce.number().int().positive().default(4),
  MALPIPE_VT_REQUESTS_PER_DAY: z.coerce.number().int().positive().default(500),
  MALPIPE_MB_API_KEY: optionalSecret,
  MALPIPE_MB_BASE_URL: z.url().default('https://mb-api.abuse.ch/api/v1/'),
  MALPIPE_MB_REQUESTS_PER_MINUTE: z.coerce.number().int().positive().default(30),
  MALPIPE_SOURCE_NOT_FOUND_TTL_SECONDS: z.coerce.number().int().nonnegative().default(24 * 3600),
  MALPIPE_URL_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
  MALPIPE_URL_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  // Cobalt Strike team-server probing (cobaltstrike/): re-probe schedule (0 = off), deny-list override, proxy.
  MALPIPE_CS_REPROBE_INTERVAL_MS: z.coerce.number().int().nonnegative().default(0),
  MALPIPE_CS_REPROBE_AFTER_MS: z.coerce.number().int().positive().default(24 * 3600_000),
  MALPIPE_CS_PROBE_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
  MALPIPE_CS_PROBE_PROXY: z.url().optional(),
  MALPIPE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Role = 'api' | 'worker';

export interface Config {
  readonly dataDir: string;
  readonly databaseUrl: string;
  readonly storeUrl: string;
  readonly queueUrl: string;
  readonly roles: readonly Role[];
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly uploadLimitBytes: number;
    readonly rateLimitPerMinute: number;
  };
  readonly adminToken: string | null;
  readonly worker: {
    /** Analyses in flight. */
    readonly concurrency: number;
    /**
     * Sandbox child processes (one sample's analysers each at a time); default `concurrency`. Fewer children than
     * analyses in flight keeps every child busy while the worker stores one sample's results and prepares the next.
     */
    readonly sandboxProcesses: number;
    readonly analyzerTimeoutMs: number;
    readonly analyzerMemoryMb: number;
    /** A worker-only process serves /health and /metrics on this port (MALPIPE_HOST); null: no listener. */
    readonly healthPort: number | null;
  };
  readonly yara: {
    readonly engine: 'auto' | 'libyara' | 'yara-x';
    /** null: the default ruleset shipped with malpipe. */
    readonly rulesDir: string | null;
  };
  readonly archivePasswords: readonly string[];
  readonly sources: SourcesConfig;
  readonly cobaltStrike: CobaltStrikeConfig;
  readonly queue: {
    /** Waiting jobs per type beyond which submissions get QUEUE_FULL (429). */
    readonly maxWaiting: number;
    readonly retryAfterMs: number;
    readonly keepCompletedMs: number;
    /** A running job's lease: a dead worker's jobs run again on other workers about one to two leases later. */
    readonly leaseMs: number;
  };
  readonly logLevel: z.infer<typeof EnvSchema>['MALPIPE_LOG_LEVEL'];
}

export interface CobaltStrikeConfig {
  /** How often the worker looks for team servers to re-probe; 0 disables it. */
  readonly reprobeIntervalMs: number;
  /** A server probed longer ago than this is probed again. */
  readonly reprobeAfterMs: number;
  /** Turns the prober's deny-list of private/reserved addresses off (lab setups only). */
  readonly allowPrivate: boolean;
  readonly proxy: string | null;
}

export const SOURCE_NAMES = ['virustotal', 'malwarebazaar'] as const;
/** A source that can fetch a sample by hash; URLs are fetched on request, not tried in this order. */
export type SourceName = (typeof SOURCE_NAMES)[number];

/** At most `limit` requests in any `windowMs` window. */
export interface RateLimit {
  readonly limit: number;
  readonly windowMs: number;
}

export interface SourcesConfig {
  /** Hash sources tried in this order; a source without an API key is skipped. */
  readonly order: readonly SourceName[];
  readonly virustotal: { readonly apiKey: string | null; readonly baseUrl: string; readonly rateLimits: readonly RateLimit[] };
  readonly malwarebazaar: { readonly apiKey: string | null; readonly baseUrl: string; readonly rateLimits: readonly RateLimit[] };
  readonly url: { readonly allowPrivate: boolean; readonly timeoutMs: number };
  readonly notFoundTtlMs: number;
}

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new AppError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, { details: { problems } });
  }
  const e = parsed.data;
  const dataDir = resolve(e.MALPIPE_DATA_DIR);
  const roles = e.MALPIPE_ROLES.split(',')
    .map((role) => role.trim())
    .filter((role) => role !== '');
  const badRole = roles.find((role) => role !== 'api' && role !== 'worker');
  if (badRole !== undefined || roles.length === 0) {
    throw new AppError('CONFIG_INVALID', `invalid configuration: MALPIPE_ROLES must list api and/or worker, got "${e.MALPIPE_ROLES}"`);
  }
  const order = e.MALPIPE_SOURCES.split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const badSource = order.find((name) => !(SOURCE_NAMES as readonly string[]).includes(name));
  if (badSource !== undefined) {
    throw new AppError('CONFIG_INVALID', `invalid configuration: MALPIPE_SOURCES: unknown source "${badSource}" (known: ${SOURCE_NAMES.join(', ')})`);
  }
  const config: Config = {
    dataDir,
    databaseUrl: e.MALPIPE_DATABASE_URL ?? `sqlite:${resolve(dataDir, 'malpipe.db')}`,
    storeUrl: e.MALPIPE_STORE_URL ?? `file:${resolve(dataDir, 'objects')}`,
    queueUrl: e.MALPIPE_QUEUE_URL ?? 'sqlite:',
    roles: roles as Role[],
    http: {
      host: e.MALPIPE_HOST,
      port: e.MALPIPE_PORT,
      uploadLimitBytes: e.MALPIPE_UPLOAD_LIMIT_BYTES,
      rateLimitPerMinute: e.MALPIPE_RATE_LIMIT_PER_MINUTE,
    },
    adminToken: e.MALPIPE_ADMIN_TOKEN ?? null,
    worker: {
      concurrency: e.MALPIPE_WORKER_CONCURRENCY ?? 2,
      sandboxProcesses: e.MALPIPE_SANDBOX_PROCESSES ?? e.MALPIPE_WORKER_CONCURRENCY ?? 2,
      analyzerTimeoutMs: e.MALPIPE_ANALYZER_TIMEOUT_MS,
      analyzerMemoryMb: e.MALPIPE_ANALYZER_MEMORY_MB,
      healthPort: e.MALPIPE_WORKER_HEALTH_PORT ?? null,
    },
    yara: { engine: e.MALPIPE_YARA_ENGINE, rulesDir: e.MALPIPE_RULES_DIR ?? null },
    archivePasswords: e.MALPIPE_ARCHIVE_PASSWORDS.split(',').filter((p) => p !== ''),
    sources: {
      order: [...new Set(order)] as SourceName[],
      virustotal: {
        apiKey: e.MALPIPE_VT_API_KEY ?? null,
        baseUrl: e.MALPIPE_VT_BASE_URL,
        rateLimits: [
          { limit: e.MALPIPE_VT_REQUESTS_PER_MINUTE, windowMs: 60_000 },
          { limit: e.MALPIPE_VT_REQUESTS_PER_DAY, windowMs: 24 * 3600_000 },
        ],
      },
      malwarebazaar: {
        apiKey: e.MALPIPE_MB_API_KEY ?? null,
        baseUrl: e.MALPIPE_MB_BASE_URL,
        rateLimits: [{ limit: e.MALPIPE_MB_REQUESTS_PER_MINUTE, windowMs: 60_000 }],
      },
      url: { allowPrivate: e.MALPIPE_URL_ALLOW_PRIVATE === 'true', timeoutMs: e.MALPIPE_URL_TIMEOUT_MS },
      notFoundTtlMs: e.MALPIPE_SOURCE_NOT_FOUND_TTL_SECONDS * 1000,
    },
    cobaltStrike: {
      reprobeIntervalMs: e.MALPIPE_CS_REPROBE_INTERVAL_MS,
      reprobeAfterMs: e.MALPIPE_CS_REPROBE_AFTER_MS,
      allowPrivate: e.MALPIPE_CS_PROBE_ALLOW_PRIVATE === 'true',
      proxy: e.MALPIPE_CS_PROBE_PROXY ?? null,
    },
    queue: {
      maxWaiting: e.MALPIPE_QUEUE_MAX_WAITING,
      retryAfterMs: e.MALPIPE_QUEUE_RETRY_AFTER_SECONDS * 1000,
      keepCompletedMs: e.MALPIPE_QUEUE_KEEP_COMPLETED_SECONDS * 1000,
      leaseMs: e.MALPIPE_QUEUE_LEASE_MS,
    },
    logLevel: e.MALPIPE_LOG_LEVEL,
    ...overrides,
  };
  return Object.freeze(config);
}
