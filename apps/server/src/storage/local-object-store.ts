import { constants as bufferConstants } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '@malpipe/core';
import type { ObjectStat, ObjectStore } from './object-store.js';
import { validateObjectKey, validateRange } from './validate-object-key.js';

const MAX_LENGTH = bufferConstants.MAX_LENGTH;

/**
 * An ObjectStore in a local directory: key `samples/ab/<sha256>` is file `<root>/samples/ab/<sha256>`.
 *
 * Writes go to a hidden temp file in the target's directory, are fsync-ed, then renamed over the key, so a
 * crash never leaves a partial object visible (at worst an orphan `.<name>.<random>.tmp`, which no valid key
 * can name). A put of a key already there keeps the file and reads nothing (keys are content addresses, so callers
 * put without asking `has` first). Concurrent puts of one key each rename a complete file; the last one wins, and
 * content-addressed keys make them identical.
 */
export class LocalObjectStore implements ObjectStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(key: string, body: Uint8Array | Readable): Promise<ObjectStat> {
    const path = this.#path(key);
    const existing = await this.stat(key);
    if (existing !== null) {
      if (!(body instanceof Uint8Array)) body.destroy(); // the caller owns nothing more to read
      return existing;
    }
    const dir = dirname(path);
    const temp = join(dir, `.${key.slice(key.lastIndexOf('/') + 1)}.${randomBytes(6).toString('hex')}.tmp`);
    let handle: FileHandle | undefined;
    try {
      await mkdir(dir, { recursive: true });
      handle = await open(temp, 'wx', 0o600);
      let size = 0;
      if (body instanceof Uint8Array) {
        await handle.writeFile(body);
        size = body.byteLength;
      } else {
        for await (const chunk of body as AsyncIterable<unknown>) {
          if (!(chunk instanceof Uint8Array)) throw new AppError('BAD_REQUEST', 'object body streams must yield bytes');
          await handle.write(chunk);
          size += chunk.byteLength;
        }
      }
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(temp, path);
      await syncDirectory(dir);
      return { size };
    } catch (error) {
      await handle?.close().catch(() => undefined); // the write error below is the one worth reporting
      await rm(temp, { force: true });
      throw storageError(error, `cannot store object ${key}`);
    }
  }

  async get(key: string): Promise<Readable> {
    const handle = await this.#openExisting(key);
    return handle.createReadStream({ autoClose: true });
  }

  async getBytes(key: string, maxBytes: number = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
    const handle = await this.#openExisting(key);
    try {
      const { size } = await handle.stat();
      // Never past what one Buffer can hold: that would be a RangeError, reported as a retryable storage failure.
      if (size > Math.min(maxBytes, MAX_LENGTH)) {
        throw new AppError('LIMIT_EXCEEDED', `object ${key} is ${size} bytes, above the ${maxBytes}-byte limit`, { details: { size, maxBytes } });
      }
      return await readAt(handle, 0, size);
    } catch (error) {
      throw storageError(error, `cannot read object ${key}`);
    } finally {
      await handle.close();
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    validateRange(offset, length);
    const handle = await this.#openExisting(key);
    try {
      const { size } = await handle.stat();
      return await readAt(handle, offset, Math.max(0, Math.min(length, size - offset)));
    } catch (error) {
      throw storageError(error, `cannot read object ${key}`);
    } finally {
      await handle.close();
    }
  }

  async stat(key: string): Promise<ObjectStat | null> {
    try {
      const info = await stat(this.#path(key));
      return info.isFile() ? { size: info.size } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw storageError(error, `cannot stat object ${key}`);
    }
  }

  async has(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.#path(key));
    } catch (error) {
      if (isMissing(error)) return;
      throw storageError(error, `cannot delete object ${key}`);
    }
  }

  localPath(key: string): string {
    return this.#path(key);
  }

  #path(key: string): string {
    return join(this.root, validateObjectKey(key));
  }

  /** Opens before streaming, so a missing key rejects here rather than erroring the stream later. */
  async #openExisting(key: string): Promise<FileHandle> {
    const path = this.#path(key);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (isMissing(error)) throw new AppError('OBJECT_NOT_FOUND', `object ${key} not found`, { details: { key } });
      throw storageError(error, `cannot open object ${key}`);
    }
    const isFile = await handle.stat().then(
      (info) => info.isFile(),
      async (error: unknown) => {
        await handle.close();
        throw storageError(error, `cannot stat object ${key}`);
      },
    );
    if (!isFile) {
      await handle.close();
      throw new AppError('OBJECT_NOT_FOUND', `object ${key} not found`, { details: { key } });
    }
    return handle;
  }
}

async function readAt(handle: FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) break; // truncated under us; return what exists
    filled += bytesRead;
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, filled);
}

/** Makes the rename itself durable. Some platforms refuse to fsync a directory; the rename is still atomic there. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}

// ENOTDIR: a key below another key's file (`a` exists, asked for `a/b`); EISDIR: a key naming a folder.
function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

function storageError(error: unknown, message: string): AppError {
  if (error instanceof AppError) return error;
  return new AppError('STORAGE_FAILED', `${message}: ${(error as Error).message}`, { cause: error });
}
