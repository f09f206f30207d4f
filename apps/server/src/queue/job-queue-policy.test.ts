import { AppError } from '@malpipe/core';
import { describe, expect, it } from 'vitest';
import {
  QUEUE_POLICY_DEFAULTS,
  describeJobError,
  isRetryableJobError,
  resolveEnqueueOptions,
  resolveQueuePolicy,
  retryDelayMs,
} from './job-queue-policy.js';

describe(retryDelayMs.name, () => {
  const policy = { backoffBaseMs: 1_000, backoffMaxMs: 10_000 };

  it.each([
    [1, 500, 1_000],
    [2, 1_000, 2_000],
    [3, 2_000, 4_000],
    [5, 5_000, 10_000],
    [60, 5_000, 10_000],
    [0, 500, 1_000],
  ])('waits between half and all of the doubled, capped delay after attempt %i', (attempt, low, high) => {
    expect(retryDelayMs(attempt, policy, () => 0)).toBe(low);
    expect(retryDelayMs(attempt, policy, () => 1)).toBe(high);
  });
});

describe('job error classification', () => {
  it('dies at once only for an AppError marked not retryable', () => {
    expect(isRetryableJobError(new AppError('MALFORMED_INPUT', 'corrupt'))).toBe(false);
    expect(isRetryableJobError(new AppError('STORAGE_FAILED', 'timeout'))).toBe(true);
    expect(isRetryableJobError(new Error('boom'))).toBe(true);
    expect(isRetryableJobError('thrown string')).toBe(true);
  });

  it('records the code of an AppError and the message of anything else', () => {
    expect(describeJobError(new AppError('MALFORMED_INPUT', 'corrupt'))).toBe('MALFORMED_INPUT: corrupt');
    expect(describeJobError(new Error('boom'))).toBe('boom');
    expect(describeJobError(42)).toBe('42');
  });
});

describe('queue options', () => {
  it('fills defaults and refuses non-positive options', () => {
    expect(resolveQueuePolicy({})).toEqual(QUEUE_POLICY_DEFAULTS);
    expect(resolveQueuePolicy({ leaseMs: 5 }).leaseMs).toBe(5);
    expect(() => resolveQueuePolicy({ backoffBaseMs: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('fills enqueue defaults from the policy and refuses out-of-range values', () => {
    const policy = resolveQueuePolicy({ defaultMaxAttempts: 7, defaultTimeoutMs: 900 });
    expect(resolveEnqueueOptions({}, policy)).toEqual({ priority: 0, delayMs: 0, maxAttempts: 7, timeoutMs: 900 });
    for (const bad of [{ priority: 2 ** 31 }, { delayMs: -1 }, { maxAttempts: 0 }, { maxAttempts: 1001 }, { timeoutMs: 2 ** 31 }, { priority: 0.5 }]) {
      expect(() => resolveEnqueueOptions(bad, policy)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });
});
