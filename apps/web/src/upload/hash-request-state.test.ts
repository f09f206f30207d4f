import { describe, expect, it } from 'vitest';
import { HASH_REQUEST_STATES } from '@malpipe/api-client';
import { isPendingHashState } from './hash-request-state.js';

describe('isPendingHashState', () => {
  it('follows requests until they are analysed, not found or failed', () => {
    expect(HASH_REQUEST_STATES.filter((state) => !isPendingHashState(state))).toEqual(['not-found', 'analysed', 'failed']);
  });
});
