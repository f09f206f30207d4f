import type { Readable } from 'node:stream';

export interface ObjectStat {
  readonly size: number;
}

/**
 * Content-addressed object storage: keys are like `samples/<sha256>`. Writes are atomic (a reader sees the
 * whole object or nothing) and idempotent (putting an existing key again is a no-op success).
 * Implementations: LocalObjectStore (a directory), S3ObjectStore (any S3-compatible service).
 */
export interface ObjectStore {
  put(key: string, body: Uint8Array | Readable): Promise<ObjectStat>;
  /** Streams the object; throws OBJECT_NOT_FOUND. */
  get(key: string): Promise<Readable>;
  /** Reads the whole object into memory; throws LIMIT_EXCEEDED above `maxBytes`. */
  getBytes(key: string, maxBytes?: number): Promise<Uint8Array>;
  /** Reads `length` bytes from `offset` (ranged read). */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array>;
  stat(key: string): Promise<ObjectStat | null>;
  has(key: string): Promise<boolean>;
  /** Idempotent. */
  delete(key: string): Promise<void>;
  /** A local file path for tools that need one (YARA scanFile, sandboxes), or null for remote stores. */
  localPath(key: string): string | null;
}

export function sampleKey(sha256: string): string {
  return `samples/${sha256.slice(0, 2)}/${sha256}`;
}
