import { describe, expect, it } from 'vitest';
import { ApiError } from '@malpipe/api-client';
import { describeError } from './describe-error.js';

describe('describeError', () => {
  it('keeps the server code and message and explains a 403', () => {
    const described = describeError(new ApiError('FORBIDDEN', 403, 'role reader lacks the "download" permission'));
    expect(described.code).toBe('FORBIDDEN');
    expect(described.message).toBe('role reader lacks the "download" permission');
    expect(described.hint).toContain('role does not allow');
  });
  it('explains an unreachable server and passes other errors through', () => {
    expect(describeError(new ApiError('NETWORK_FAILED', 0, 'cannot reach')).hint).toContain('malpipe serve');
    expect(describeError(new ApiError('SAMPLE_TOO_LARGE', 413, 'too big')).hint).toBeNull();
    expect(describeError(new TypeError('boom'))).toEqual({ code: 'TypeError', message: 'boom', hint: null });
    expect(describeError('text')).toEqual({ code: 'ERROR', message: 'text', hint: null });
  });
});
