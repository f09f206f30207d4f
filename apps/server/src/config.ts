import { resolve } from 'node:path';
import { z } from 'zod';
import { AppError } from '@malpipe/core';

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
  MALPIPE_ANALYZER_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
  MALPIPE_ANALYZER_MEMORY_MB: z.coerce.number().int().positive().default(1024),
  MALPIPE_RULES_DIR: z.string().optional(),
  MALPIPE_YARA_ENGINE: z.enum(['auto', 'libyara', 'yara-x']).default('auto'),
  MALPIPE_ARCHIVE_PASSWORDS: z.string().default('infected'),
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
    readonly concurrency: number;
    readonly analyzerTimeoutMs: number;
    readonly analyzerMemoryMb: number;
  };
  readonly yara: {
    readonly engine: 'auto' | 'libyara' | 'yara-x';
    /** null: the default ruleset shipped with malpipe. */
    readonly rulesDir: string | null;
  };
  readonly archivePasswords: readonly string[];
  readonly logLevel: z.infer<typeof EnvSchema>['MALPIPE_LOG_LEVEL'];
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
      analyzerTimeoutMs: e.MALPIPE_ANALYZER_TIMEOUT_MS,
      analyzerMemoryMb: e.MALPIPE_ANALYZER_MEMORY_MB,
    },
    yara: { engine: e.MALPIPE_YARA_ENGINE, rulesDir: e.MALPIPE_RULES_DIR ?? null },
    archivePasswords: e.MALPIPE_ARCHIVE_PASSWORDS.split(',').filter((p) => p !== ''),
    logLevel: e.MALPIPE_LOG_LEVEL,
    ...overrides,
  };
  return Object.freeze(config);
}
