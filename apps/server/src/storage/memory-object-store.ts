import { Readable } from 'node:stream';
import { AppError } from '@malpipe/core';
import type { ObjectStat, ObjectStore } from './object-store.js';
import { validateObjectKey, validateRange } from './validate-object-key.js';

/**
 * An ObjectStore in process memory, for tests and throwaway runs (`memory:`). It behaves like a remote
 * store: `localPath` returns null, so callers exercise their streaming path. Same key rules and errors as
 * every other store (it passes objectStoreContract).
 */
export class MemoryObjectStore implements ObjectStore {
  readonly #objects = new Map<string, Uint8Array>();

  async put(key: string, body: Uint8Array | Readable): Promise<ObjectStat> {
    validateObjectKey(key);
    let bytes: Uint8Array;
    if (body instanceof Uint8Array) {
      bytes = Uint8Array.from(body); // a copy: the caller may reuse its buffer
    } else {
      const chunks: Uint8Array[] = [];
      for await (const chunk of body as AsyncIterable<unknown>) {
        if (!(chunk instanceof Uint8Array)) throw new AppError('BAD_REQUEST', 'object body streams must yield bytes');
        chunks.push(chunk);
      }
      bytes = Buffer.concat(chunks);
    }
    // Set only once the whole body arrived: a failed stream leaves nothing visible.
    this.#objects.set(key, bytes);
    return { size: bytes.byteLength };
  }

  async get(key: string): Promise<Readable> {
    const bytes = this.#require(key);
    return Readable.from([Buffer.from(bytes)]);
  }

  async getBytes(key: string, maxBytes: number = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
    const bytes = this.#require(key);
    if (bytes.byteLength > maxBytes) {
      throw new AppError('LIMIT_EXCEEDED', `object ${key} is ${bytes.byteLength} bytes, above the ${maxBytes}-byte limit`, {
        details: { size: bytes.byteLength, maxBytes },
      });
    }
    return Uint8Array.from(bytes);
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    validateRange(offset, length);
    const bytes = this.#require(key);
    return bytes.slice(Math.min(offset, bytes.byteLength), Math.min(offset + length, bytes.byteLength));
  }

  async stat(key: string): Promise<ObjectStat | null> {
    const bytes = this.#objects.get(validateObjectKey(key));
    return bytes === undefined ? null : { size: bytes.byteLength };
  }

  async has(key: string): Promise<boolean> {
    return this.#objects.has(validateObjectKey(key));
  }

  async delete(key: string): Promise<void> {
    this.#objects.delete(validateObjectKey(key));
  }

  localPath(key: string): null {
    validateObjectKey(key);
    return null;
  }

  #require(key: string): Uint8Array {
    const bytes = this.#objects.get(validateObjectKey(key));
    if (bytes === undefined) throw new AppError('OBJECT_NOT_FOUND', `object ${key} not found`, { details: { key } });
    return bytes;
  }
}
