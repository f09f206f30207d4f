import { fileURLToPath } from 'node:url';
import { AppError } from '@malpipe/core';
import { LocalObjectStore } from './local-object-store.js';
import { MemoryObjectStore } from './memory-object-store.js';
import type { ObjectStore } from './object-store.js';

/**
 * Builds the ObjectStore named by `url`: `file:<dir>` or `file:///abs/dir` (LocalObjectStore; relative
 * paths resolve from the working directory), `memory:` (MemoryObjectStore, tests only) or
 * `s3://bucket/prefix?endpoint=...` (S3ObjectStore; see parseS3Url). Throws CONFIG_INVALID for anything else.
 */
export async function createObjectStore(url: string): Promise<ObjectStore> {
  if (url.startsWith('file://')) return new LocalObjectStore(fileURLToPath(url));
  if (url.startsWith('file:')) {
    const dir = url.slice('file:'.length);
    if (dir === '') throw new AppError('CONFIG_INVALID', 'file: store URL needs a directory');
    return new LocalObjectStore(dir);
  }
  if (url === 'memory:') return new MemoryObjectStore();
  // Loaded only when configured: the embedded path starts without the AWS SDK. See parseS3Url.
  if (url.startsWith('s3://')) return (await import('./s3-object-store.js')).createS3ObjectStore(url);
  throw new AppError('CONFIG_INVALID', `unsupported object store URL scheme in "${url.replace(/\/\/[^@/]*@/, '//***@')}" (expected file:, memory: or s3://)`);
}
