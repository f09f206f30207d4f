import { AppError } from '@malpipe/core';
import type { z } from 'zod';

/**
 * Gates every request a source sends to an API with a per-key budget (see fetcher/rate-limiter.ts).
 * `run` sends one request within the budget, or throws UPSTREAM_QUOTA_EXCEEDED (with `details.retryAt`)
 * when it is spent; the request counts from when it completes, since that is the latest the upstream can
 * have seen it. `exhausted` tells the budget the upstream itself said "quota exceeded", so every process
 * holds back until `untilMs`.
 */
export interface RequestBudget {
  run<T>(request: () => Promise<T>): Promise<T>;
  exhausted(untilMs: number): Promise<void>;
}

export const UNLIMITED_BUDGET: RequestBudget = {
  run: (request) => request(),
  exhausted: () => Promise.resolve(),
};

/** Without Retry-After, wait this long after a 429 (VirusTotal's per-minute quota is the common case). */
export const DEFAULT_QUOTA_BACKOFF_MS = 60_000;

/** A request signal that also fires after `timeoutMs`. */
export function deadline(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
}

/** Reads a response body, refusing more than `maxBytes` (announced or actual). */
export async function readBounded(response: Response, maxBytes: number, what: string): Promise<Uint8Array> {
  const announced = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(announced) && announced > maxBytes) {
    await response.body?.cancel();
    throw new AppError('SAMPLE_TOO_LARGE', `${what} is ${announced} bytes, over the ${maxBytes}-byte limit`);
  }
  if (response.body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new AppError('SAMPLE_TOO_LARGE', `${what} is over the ${maxBytes}-byte limit`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Parses a JSON body with `schema`; anything else (HTML error pages, truncated JSON) is UPSTREAM_FAILED. */
export function parseJsonBody<S extends z.ZodType>(bytes: Uint8Array, schema: S, what: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new AppError('UPSTREAM_FAILED', `${what}: the answer is not JSON`, { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError(
      'UPSTREAM_FAILED',
      `${what}: unexpected answer (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`,
    );
  }
  return parsed.data;
}

/** Retry-After in seconds or as an HTTP date, as an epoch-ms instant; null when absent or unreadable. */
export function retryAfter(headers: Headers, now = Date.now()): number | null {
  const value = headers.get('retry-after');
  if (value === null) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return now + seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : date;
}

/** Wraps a transport failure (refused connection, timeout, abort) as a retryable UPSTREAM_FAILED. */
export function transportError(error: unknown, what: string): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('UPSTREAM_FAILED', `${what}: ${message}`, { cause: error });
}

export function quotaExceeded(what: string, retryAt: number, message: string): AppError {
  return new AppError('UPSTREAM_QUOTA_EXCEEDED', `${what}: ${message}`, { details: { retryAt } });
}
