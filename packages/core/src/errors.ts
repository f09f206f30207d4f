/**
 * The error catalogue. Every failure that crosses a module boundary is an AppError with a stable
 * SCREAMING_SNAKE code; transports (HTTP, CLI, job queue) map codes to their own vocabulary in one place.
 * `retryable: false` tells the job queue to fail a job at once (a corrupt upload will not improve on retry).
 */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, retryable: false },
  VALIDATION_FAILED: { status: 400, retryable: false },
  UNAUTHORIZED: { status: 401, retryable: false },
  FORBIDDEN: { status: 403, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  SAMPLE_NOT_FOUND: { status: 404, retryable: false },
  OBJECT_NOT_FOUND: { status: 404, retryable: false },
  JOB_NOT_FOUND: { status: 404, retryable: false },
  CONFLICT: { status: 409, retryable: false },
  SAMPLE_TOO_LARGE: { status: 413, retryable: false },
  /** A request body (not a sample upload) over the server's limit. */
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  EMPTY_SAMPLE: { status: 400, retryable: false },
  UNSUPPORTED_INPUT: { status: 415, retryable: false },
  MALFORMED_INPUT: { status: 422, retryable: false },
  LIMIT_EXCEEDED: { status: 422, retryable: false },
  ARCHIVE_BOMB: { status: 422, retryable: false },
  PATH_TRAVERSAL: { status: 422, retryable: false },
  WRONG_PASSWORD: { status: 422, retryable: false },
  RATE_LIMITED: { status: 429, retryable: true },
  QUEUE_FULL: { status: 429, retryable: true },
  ANALYZER_TIMEOUT: { status: 500, retryable: false },
  ANALYZER_CRASHED: { status: 500, retryable: false },
  ANALYZER_FAILED: { status: 500, retryable: false },
  YARA_COMPILE_FAILED: { status: 422, retryable: false },
  YARA_ENGINE_UNAVAILABLE: { status: 503, retryable: false },
  STORAGE_FAILED: { status: 503, retryable: true },
  DATABASE_FAILED: { status: 503, retryable: true },
  UPSTREAM_FAILED: { status: 502, retryable: true },
  /** A sample source (VirusTotal, MalwareBazaar) or our own budget for its API key says "later". */
  UPSTREAM_QUOTA_EXCEEDED: { status: 429, retryable: true },
  /** A sample source refused our API key: a configuration problem, not worth retrying. */
  UPSTREAM_AUTH_FAILED: { status: 502, retryable: false },
  /** A URL that resolves to a private, loopback or otherwise refused address (SSRF protection). */
  URL_FORBIDDEN: { status: 403, retryable: false },
  CONFIG_INVALID: { status: 500, retryable: false },
  INTERNAL: { status: 500, retryable: false },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface AppErrorOptions {
  readonly cause?: unknown;
  /** Overrides the catalogue's default. */
  readonly retryable?: boolean;
  /** Machine-readable extras (limits, offsets, field names); never secrets or sample bytes. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** Wraps anything thrown into an AppError, keeping AppErrors as they are. */
export function toAppError(value: unknown, fallback: ErrorCode = 'INTERNAL'): AppError {
  if (value instanceof AppError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new AppError(fallback, message, { cause: value });
}
