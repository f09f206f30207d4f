import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { SampleHashes } from '@malpipe/core';
import { AppError } from '@malpipe/core';

/** Bytes in memory, a readable stream, or a file on disk. */
export type SampleContent = Uint8Array | Readable | { readonly path: string };

/**
 * A sample's bytes after hashing: small ones stay in memory, large ones are spilled to a temp file (the
 * SHA-256, hence the object key, is only known at the end of the stream). `dispose()` removes the temp file.
 */
export interface SpooledSample {
  readonly hashes: SampleHashes;
  readonly size: number;
  /** The whole sample when it fits in memory, else its first `headBytes`. */
  readonly head: Uint8Array;
  readonly inMemory: boolean;
  /** A fresh stream of the whole sample (for the object store). */
  body(): Uint8Array | Readable;
  dispose(): Promise<void>;
}

export interface SpoolOptions {
  readonly maxBytes: number;
  readonly tmpDir: string;
  /** Samples up to this size are kept in memory. */
  readonly memoryBytes?: number;
  /** How much of a spilled sample identification sees. */
  readonly headBytes?: number;
}

const DEFAULT_MEMORY_BYTES = 32 * 1024 * 1024;
const DEFAULT_HEAD_BYTES = 8 * 1024 * 1024;

class MultiHash {
  readonly #hashes: readonly [Hash, Hash, Hash, Hash] = [createHash('md5'), createHash('sha1'), createHash('sha256'), createHash('sha512')];
  update(chunk: Uint8Array): void {
    for (const hash of this.#hashes) hash.update(chunk);
  }
  digest(): SampleHashes {
    const [md5, sha1, sha256, sha512] = this.#hashes;
    return { md5: md5.digest('hex'), sha1: sha1.digest('hex'), sha256: sha256.digest('hex'), sha512: sha512.digest('hex') };
  }
}

function tooLarge(maxBytes: number): AppError {
  return new AppError('SAMPLE_TOO_LARGE', `sample exceeds the limit of ${maxBytes} bytes`, { details: { maxBytes } });
}

/** Hashes the content in one pass, enforcing the size limit and refusing empty samples. */
export async function spoolSample(content: SampleContent, options: SpoolOptions): Promise<SpooledSample> {
  if (content instanceof Uint8Array) return spoolBytes(content, options.maxBytes);
  if (isReadable(content)) return spoolStream(content, options);
  const info = await stat(content.path);
  if (!info.isFile()) throw new AppError('UNSUPPORTED_INPUT', 'not a regular file', { details: { path: content.path } });
  if (info.size > options.maxBytes) throw tooLarge(options.maxBytes);
  if (info.size <= (options.memoryBytes ?? DEFAULT_MEMORY_BYTES)) {
    return spoolBytes(await readFile(content.path), options.maxBytes);
  }
  return spoolStream(createReadStream(content.path), options);
}

function isReadable(value: Readable | { readonly path: string }): value is Readable {
  return typeof (value as Partial<Readable>).pipe === 'function';
}

function spoolBytes(bytes: Uint8Array, maxBytes: number): SpooledSample {
  if (bytes.byteLength === 0) throw new AppError('EMPTY_SAMPLE', 'the sample is empty (0 bytes)');
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  const hash = new MultiHash();
  hash.update(bytes);
  return {
    hashes: hash.digest(),
    size: bytes.byteLength,
    head: bytes,
    inMemory: true,
    body: () => bytes,
    dispose: () => Promise.resolve(),
  };
}

async function spoolStream(stream: Readable, options: SpoolOptions): Promise<SpooledSample> {
  const memoryBytes = options.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  const hash = new MultiHash();
  const chunks: Buffer[] = [];
  let size = 0;
  let file: WriteStream | null = null;
  let tmpPath: string | null = null;
  const cleanup = async (): Promise<void> => {
    if (tmpPath !== null) await rm(tmpPath, { force: true });
  };
  try {
    for await (const raw of stream as AsyncIterable<Buffer | string>) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      size += chunk.byteLength;
      if (size > options.maxBytes) throw tooLarge(options.maxBytes);
      hash.update(chunk);
      if (file === null && size > memoryBytes) {
        await mkdir(options.tmpDir, { recursive: true });
        tmpPath = join(options.tmpDir, `upload-${randomUUID()}`);
        file = createWriteStream(tmpPath, { flags: 'wx' });
        for (const held of chunks) await write(file, held);
        chunks.length = 0;
      }
      if (file === null) chunks.push(chunk);
      else await write(file, chunk);
    }
    if (file !== null) {
      file.end();
      await finished(file);
    }
  } catch (error) {
    stream.destroy();
    file?.destroy();
    await cleanup();
    throw error;
  }
  if (size === 0) throw new AppError('EMPTY_SAMPLE', 'the sample is empty (0 bytes)');
  const hashes = hash.digest();
  if (tmpPath === null) {
    const bytes = Buffer.concat(chunks);
    return { hashes, size, head: bytes, inMemory: true, body: () => bytes, dispose: () => Promise.resolve() };
  }
  const path = tmpPath;
  const head = await readHead(path, options.headBytes ?? DEFAULT_HEAD_BYTES);
  return { hashes, size, head, inMemory: false, body: () => createReadStream(path), dispose: cleanup };
}

function write(file: WriteStream, chunk: Buffer): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    file.write(chunk, (error) => (error ? reject(error) : resolvePromise()));
  });
}

async function readHead(path: string, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
