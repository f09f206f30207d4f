import { AppError } from '@malpipe/core';

/** Longest key accepted; S3's own limit is 1024 bytes. */
export const MAX_OBJECT_KEY_LENGTH = 1024;

// One path segment: starts with an ASCII letter or digit, then letters, digits, '.', '_', '-'. This refuses
// '.', '..', hidden names (temp files start with '.'), backslashes, NUL and anything a filesystem could
// interpret, so a key can never leave the store's root.
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Checks that `key` is a relative, '/'-separated object key every ObjectStore accepts (e.g.
 * `samples/ab/<sha256>`); returns it unchanged or throws BAD_REQUEST.
 */
export function validateObjectKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_OBJECT_KEY_LENGTH) {
    throw new AppError('BAD_REQUEST', `invalid object key: length must be 1..${MAX_OBJECT_KEY_LENGTH}`);
  }
  for (const segment of key.split('/')) {
    if (!SEGMENT.test(segment)) {
      throw new AppError('BAD_REQUEST', `invalid object key ${JSON.stringify(key.slice(0, 80))}`, { details: { segment: segment.slice(0, 80) } });
    }
  }
  return key;
}

/** Validates a ranged read's bounds (non-negative safe integers); throws BAD_REQUEST. */
export function validateRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new AppError('BAD_REQUEST', `invalid range: offset ${offset}, length ${length}`);
  }
}
