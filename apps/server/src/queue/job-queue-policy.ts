import { AppError, isAppError } from '@malpipe/core';
import type { EnqueueOptions } from './job-queue.js';

/**
 * What SqliteJobQueue and BullmqJobQueue decide the same way, kept in one place so the two backends cannot drift
 * apart: option defaults, enqueue validation, retry back-off and how a handler's error is classified.
 */

/** The slice of a pino logger the queues write to. */
export interface QueueLogger {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export const consoleLogger: QueueLogger = {
  warn: (fields, message) => console.warn(message, fields),
  error: (fields, message) => console.error(message, fields),
};

/** Options every backend reads. */
export interface QueuePolicyOptions {
  /**
   * How long a claimed job stays leased without renewal (BullMQ: the lock duration). A worker renews it while the
   * handler runs; when a worker dies, another one re-runs the job once the lease has expired. Default 60 s.
   */
  readonly leaseMs?: number;
  /** How often the queue looks for work written by other processes (SQLite: jobs; BullMQ: outbox rows). Default 500 ms. */
  readonly pollIntervalMs?: number;
  /** First retry delay; doubles per attempt with equal jitter (half fixed, half random). Default 1 s. */
  readonly backoffBaseMs?: number;
  /** Longest retry delay. Default 5 min. */
  readonly backoffMaxMs?: number;
  /** Attempts of a job enqueued without `maxAttempts`. Default 3. */
  readonly defaultMaxAttempts?: number;
  /** Timeout of a job enqueued without `timeoutMs`. Default 10 min. */
  readonly defaultTimeoutMs?: number;
}

export const QUEUE_POLICY_DEFAULTS = Object.freeze({
  leaseMs: 60_000,
  pollIntervalMs: 500,
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  defaultMaxAttempts: 3,
  defaultTimeoutMs: 10 * 60_000,
});

export type QueuePolicy = { readonly [K in keyof typeof QUEUE_POLICY_DEFAULTS]: number };

/** How long completed jobs are kept, on either backend (BullMQ's removeOnComplete, the SQLite housekeeper). */
export const KEEP_COMPLETED_MS = 60 * 60_000;

/** Longest `last_error` / failed reason kept per job. */
export const MAX_ERROR_LENGTH = 2_000;

/** Throws CONFIG_INVALID when a given option is not a positive number; absent options take `fallback`. */
export function positiveOption(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new AppError('CONFIG_INVALID', `job queue option ${name} must be positive, got ${value}`);
  return value;
}

/** The shared options with their defaults. Throws CONFIG_INVALID. */
export function resolveQueuePolicy(options: QueuePolicyOptions): QueuePolicy {
  const d = QUEUE_POLICY_DEFAULTS;
  return {
    leaseMs: positiveOption(options.leaseMs, d.leaseMs, 'leaseMs'),
    pollIntervalMs: positiveOption(options.pollIntervalMs, d.pollIntervalMs, 'pollIntervalMs'),
    backoffBaseMs: positiveOption(options.backoffBaseMs, d.backoffBaseMs, 'backoffBaseMs'),
    backoffMaxMs: positiveOption(options.backoffMaxMs, d.backoffMaxMs, 'backoffMaxMs'),
    defaultMaxAttempts: positiveOption(options.defaultMaxAttempts, d.defaultMaxAttempts, 'defaultMaxAttempts'),
    defaultTimeoutMs: positiveOption(options.defaultTimeoutMs, d.defaultTimeoutMs, 'defaultTimeoutMs'),
  };
}

export interface ResolvedEnqueueOptions {
  readonly priority: number;
  readonly delayMs: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
}

/** An enqueue's options with the queue's defaults filled in. Throws VALIDATION_FAILED. */
export function resolveEnqueueOptions(options: EnqueueOptions, policy: QueuePolicy): ResolvedEnqueueOptions {
  const priority = options.priority ?? 0;
  const delayMs = options.delayMs ?? 0;
  const maxAttempts = options.maxAttempts ?? policy.defaultMaxAttempts;
  const timeoutMs = options.timeoutMs ?? policy.defaultTimeoutMs;
  if (!Number.isSafeInteger(priority) || Math.abs(priority) > 2 ** 31 - 1) throw invalidOption('priority', priority);
  if (!Number.isSafeInteger(delayMs) || delayMs < 0) throw invalidOption('delayMs', delayMs);
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 1000) throw invalidOption('maxAttempts', maxAttempts);
  // setTimeout fires at once beyond 2^31-1 ms (about 24.8 days), so that is the longest timeout.
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2 ** 31 - 1) throw invalidOption('timeoutMs', timeoutMs);
  return { priority, delayMs, maxAttempts, timeoutMs };
}

function invalidOption(name: string, value: number): AppError {
  return new AppError('VALIDATION_FAILED', `invalid enqueue option ${name}: ${value}`, { details: { [name]: value } });
}

/**
 * The wait before retrying after failed attempt `attempt` (1-based): equal jitter, between half and all of
 * `backoffBaseMs * 2^(attempt-1)`, capped at `backoffMaxMs`. Jitter spreads a burst of failures over time.
 */
export function retryDelayMs(attempt: number, policy: Pick<QueuePolicy, 'backoffBaseMs' | 'backoffMaxMs'>, random: () => number = Math.random): number {
  const delay = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.min(Math.max(0, attempt - 1), 40));
  return Math.round(delay / 2 + random() * (delay / 2));
}

/** False only for an AppError marked `retryable: false`: the job dies at once instead of being retried. */
export function isRetryableJobError(error: unknown): boolean {
  return !(isAppError(error) && !error.retryable);
}

/** The text recorded as a job's last error: the code for an AppError, the message otherwise. */
export function describeJobError(error: unknown): string {
  if (isAppError(error)) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Aborts an attempt that overran its timeout; retryable, as the next attempt may be faster. */
export function jobTimeoutError(timeoutMs: number): AppError {
  return new AppError('INTERNAL', `job timed out after ${timeoutMs} ms`, { retryable: true });
}

/** A job whose name has no handler in this worker; not retryable, as no retry will add one. */
export function noHandlerError(name: string): AppError {
  return new AppError('INTERNAL', `no handler for job ${name}`, { retryable: false });
}
