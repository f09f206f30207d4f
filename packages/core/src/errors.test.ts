import { describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES, toAppError } from './errors.js';

describe(AppError.name, () => {
  it('takes status and retryability from the catalogue', () => {
    const error = new AppError('RATE_LIMITED', 'slow down');
    expect(error.status).toBe(429);
    expect(error.retryable).toBe(true);
    expect(new AppError('MALFORMED_INPUT', 'bad', { retryable: true }).retryable).toBe(true);
  });

  it('wraps foreign errors and keeps the cause', () => {
    const cause = new TypeError('boom');
    const wrapped = toAppError(cause, 'STORAGE_FAILED');
    expect(wrapped.code).toBe('STORAGE_FAILED');
    expect(wrapped.cause).toBe(cause);
    expect(toAppError(wrapped)).toBe(wrapped);
  });

  it('maps every code to an HTTP status', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
    }
  });
});
