import { stat as statFile } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type DeleteObjectCommandOutput,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type PutObjectCommandOutput,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AppError } from '@malpipe/core';
import type { ObjectStat, ObjectStore } from './object-store.js';
import { validateObjectKey, validateRange } from './validate-object-key.js';

const MiB = 1024 * 1024;
/** S3's limits: parts of 5 MiB..5 GiB, at most 10,000 of them. */
export const S3_MIN_PART_SIZE = 5 * MiB;
export const S3_MAX_PART_SIZE = 5 * 1024 * MiB;
export const S3_MAX_PARTS = 10_000;
/**
 * Part size when the length is unknown (a socket stream): 64 MiB parts fit objects up to 625 GiB, and with
 * two parts in flight an upload buffers at most 128 MiB.
 */
export const DEFAULT_STREAM_PART_SIZE = 64 * MiB;

/**
 * The smallest part size (whole MiB, >= 5 MiB) that keeps an object of `size` bytes within 10,000 parts; lib-storage
 * fails past 10,000 parts instead of growing its parts. Unknown sizes get `DEFAULT_STREAM_PART_SIZE`.
 */
export function computePartSize(size: number | null, minimum = S3_MIN_PART_SIZE): number {
  if (size === null) return Math.max(minimum, DEFAULT_STREAM_PART_SIZE);
  const needed = Math.ceil(Math.ceil(size / S3_MAX_PARTS) / MiB) * MiB;
  const partSize = Math.max(minimum, S3_MIN_PART_SIZE, needed);
  if (partSize > S3_MAX_PART_SIZE)
    throw new AppError('LIMIT_EXCEEDED', `object of ${size} bytes exceeds S3's 10,000 x 5 GiB limit`);
  return partSize;
}

/**
 * The slice of the S3 client the store calls (an `S3Client` fits), so the store depends on three commands and
 * one upload function rather than on the whole SDK surface.
 */
export interface S3ClientSlice {
  send(command: HeadObjectCommand): Promise<HeadObjectCommandOutput>;
  send(command: GetObjectCommand): Promise<GetObjectCommandOutput>;
  send(command: DeleteObjectCommand): Promise<DeleteObjectCommandOutput>;
  send(command: PutObjectCommand): Promise<PutObjectCommandOutput>;
}

export interface MultipartUploadParams {
  readonly bucket: string;
  readonly key: string;
  readonly body: Readable;
  readonly partSize: number;
  readonly queueSize: number;
}

/** A started upload (lib-storage `Upload`): `done()` resolves once the object is complete and visible. */
export interface MultipartUpload {
  done(): Promise<unknown>;
  abort(): Promise<void>;
}

/** Uploads through lib-storage: PutObject below one part, a multipart upload above, aborted on failure. */
export function libStorageUploader(client: S3Client): (params: MultipartUploadParams) => MultipartUpload {
  return (params) =>
    new Upload({
      client,
      params: { Bucket: params.bucket, Key: params.key, Body: params.body },
      partSize: params.partSize,
      queueSize: params.queueSize,
      leavePartsOnError: false,
    });
}

export interface S3ObjectStoreOptions {
  /** An S3Client (or the slice) configured for the service: endpoint, region, credentials from the AWS chain. */
  readonly client: S3ClientSlice;
  /** Starts a streaming upload; default `libStorageUploader(client)`, which needs a real S3Client. */
  readonly upload?: (params: MultipartUploadParams) => MultipartUpload;
  readonly bucket: string;
  /** Prepended to every key, e.g. `malpipe/`; '' for the bucket root. */
  readonly prefix?: string;
  /** Smallest multipart part (default 5 MiB); larger objects get larger parts (computePartSize). */
  readonly minPartSize?: number;
  /** Parts uploaded in parallel per object (default 2); memory is about queueSize x partSize. */
  readonly queueSize?: number;
}

/**
 * An ObjectStore in an S3 bucket (AWS, MinIO, Ceph RGW, any S3-compatible service).
 *
 * - Writes: one PutObject or a streamed multipart upload (lib-storage `Upload`) with a part size computed from the
 *   size when it is known (bytes, or a file stream we can stat), so objects up to 5 TiB fit in 10,000 parts. S3
 *   makes an object visible only when its upload completes, so a failed stream leaves nothing behind; a failed
 *   multipart upload is aborted.
 * - Idempotent put: bytes below one part go in one conditional PutObject (`If-None-Match: *`): an existing key is
 *   kept without a HEAD first. Streams and larger bodies are HEADed first; an existing key is kept (keys are
 *   content addresses), the body not read. A service ignoring the condition overwrites the object with the same
 *   bytes, which is harmless.
 * - Ranged reads map to `Range: bytes=a-b` GETs; `localPath` is null (callers stream or read ranges).
 */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly #client: S3ClientSlice;
  readonly #upload: (params: MultipartUploadParams) => MultipartUpload;
  readonly #minPartSize: number;
  readonly #queueSize: number;
  /** Cleared when the service refuses conditional writes (501); puts then HEAD first. */
  #conditionalPut = true;

  constructor(options: S3ObjectStoreOptions) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket))
      throw new AppError('CONFIG_INVALID', `invalid S3 bucket name "${options.bucket}"`);
    const prefix = options.prefix ?? '';
    if (prefix !== '') validateObjectKey(prefix.replace(/\/$/, ''));
    this.#client = options.client;
    if (options.upload === undefined && !(options.client instanceof S3Client)) {
      throw new AppError(
        'CONFIG_INVALID',
        'S3ObjectStore needs an upload function unless its client is an S3Client',
      );
    }
    this.#upload = options.upload ?? libStorageUploader(options.client as S3Client);
    this.bucket = options.bucket;
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.#minPartSize = Math.max(S3_MIN_PART_SIZE, options.minPartSize ?? S3_MIN_PART_SIZE);
    this.#queueSize = Math.max(1, options.queueSize ?? 2);
  }

  async put(key: string, body: Uint8Array | Readable): Promise<ObjectStat> {
    const objectKey = this.#key(key);
    if (body instanceof Uint8Array && body.byteLength < this.#minPartSize && this.#conditionalPut) {
      const stored = await this.#putSmall(objectKey, body);
      if (stored !== null) return stored;
    }
    const existing = await this.stat(key);
    if (existing !== null) {
      if (!(body instanceof Uint8Array)) body.destroy(); // the caller owns nothing more to read
      return existing;
    }
    const size = body instanceof Uint8Array ? body.byteLength : await knownStreamSize(body);
    // Bytes are copied: the SDK may still read the caller's buffer while a retry resends it.
    const source = body instanceof Uint8Array ? Readable.from([Buffer.from(body)]) : body;
    const counter = new ByteCounter();
    const upload = this.#upload({
      bucket: this.bucket,
      key: objectKey,
      body: counter,
      partSize: computePartSize(size, this.#minPartSize),
      queueSize: this.#queueSize,
    });
    const [piped, uploaded] = await Promise.allSettled([pipeline(source, counter), upload.done()]);
    if (piped.status === 'rejected' || uploaded.status === 'rejected') {
      await upload.abort().catch(() => undefined); // the stream or upload error is the one to report
      // The source's error (a client that went away, a string chunk) explains more than the upload's.
      throw storageError(
        piped.status === 'rejected' ? piped.reason : (uploaded as PromiseRejectedResult).reason,
        `cannot store object ${key}`,
      );
    }
    return { size: counter.bytes };
  }

  /**
   * One request for a small object, which costs a client and a service about as much as the HEAD it saves; null
   * when the service cannot do conditional writes (501) or reports a concurrent one (409): the HEAD path decides.
   */
  async #putSmall(objectKey: string, body: Uint8Array): Promise<ObjectStat | null> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          // Copied: the SDK may still read the caller's buffer while a retry resends it.
          Body: Buffer.from(body),
          ContentLength: body.byteLength,
          IfNoneMatch: '*',
        }),
      );
    } catch (error) {
      const status = httpStatus(error);
      if (status === 412 || errorName(error) === 'PreconditionFailed') return { size: body.byteLength };
      if (status === 501 || errorName(error) === 'NotImplemented') {
        this.#conditionalPut = false;
        return null;
      }
      if (status === 409) return null;
      throw storageError(error, `cannot store object ${objectKey}`);
    }
    return { size: body.byteLength };
  }

  async get(key: string): Promise<Readable> {
    const output = await this.#getObject(key);
    return toReadable(output, key);
  }

  async getBytes(key: string, maxBytes: number = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
    const output = await this.#getObject(key);
    const size = output.ContentLength ?? 0;
    if (size > maxBytes) {
      toReadable(output, key).destroy();
      throw new AppError(
        'LIMIT_EXCEEDED',
        `object ${key} is ${size} bytes, above the ${maxBytes}-byte limit`,
        { details: { size, maxBytes } },
      );
    }
    return readAll(toReadable(output, key), key, maxBytes);
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    validateRange(offset, length);
    if (length === 0) {
      if (!(await this.has(key))) throw notFound(key);
      return new Uint8Array(0);
    }
    let output: GetObjectCommandOutput;
    try {
      output = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.#key(key),
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
      );
    } catch (error) {
      // 416: the object exists but starts no byte at `offset`.
      if (httpStatus(error) === 416 || errorName(error) === 'InvalidRange') return new Uint8Array(0);
      throw translate(error, key);
    }
    return readAll(toReadable(output, key), key, length);
  }

  async stat(key: string): Promise<ObjectStat | null> {
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw storageError(error, `cannot stat object ${key}`);
    }
  }

  async has(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw storageError(error, `cannot delete object ${key}`);
    }
  }

  localPath(key: string): null {
    validateObjectKey(key);
    return null;
  }

  #key(key: string): string {
    return this.prefix + validateObjectKey(key);
  }

  async #getObject(key: string): Promise<GetObjectCommandOutput> {
    try {
      return await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
    } catch (error) {
      throw translate(error, key);
    }
  }
}

/** Passes bytes through, counting them, and refuses non-byte chunks (a stream of strings) with BAD_REQUEST. */
class ByteCounter extends Transform {
  bytes = 0;
  constructor() {
    // Object mode on the writable side only, so a string chunk arrives as a string and is refused, not encoded.
    super({ writableObjectMode: true });
  }
  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!(chunk instanceof Uint8Array)) {
      callback(new AppError('BAD_REQUEST', 'object body streams must yield bytes'));
      return;
    }
    this.bytes += chunk.byteLength;
    callback(null, chunk);
  }
}

/** A file stream's size, so a multi-hundred-GB file upload gets parts large enough; null for other streams. */
async function knownStreamSize(stream: Readable): Promise<number | null> {
  const path = (stream as Readable & { path?: unknown }).path;
  const start = (stream as Readable & { start?: unknown }).start;
  if (typeof path !== 'string' || start !== undefined) return null;
  try {
    return (await statFile(path)).size;
  } catch {
    return null;
  }
}

function toReadable(output: GetObjectCommandOutput, key: string): Readable {
  const body = output.Body;
  if (body instanceof Readable) return body;
  throw new AppError('STORAGE_FAILED', `object ${key}: the S3 client returned no Node stream`);
}

async function readAll(stream: Readable, key: string, maxBytes: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buffer = chunk as Buffer;
      size += buffer.byteLength;
      if (size > maxBytes) {
        stream.destroy();
        throw new AppError(
          'LIMIT_EXCEEDED',
          `object ${key} grew past the ${maxBytes}-byte limit while reading`,
        );
      }
      chunks.push(buffer);
    }
  } catch (error) {
    throw storageError(error, `cannot read object ${key}`);
  }
  // One copy into an array of its own (chunks may be views of a shared pool): Buffer.concat and then
  // new Uint8Array(...) copied every object twice.
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function errorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { name?: string }).name : undefined;
}

function httpStatus(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null
    ? (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
    : undefined;
}

function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(error) === 404;
}

function notFound(key: string): AppError {
  return new AppError('OBJECT_NOT_FOUND', `object ${key} not found`, { details: { key } });
}

function translate(error: unknown, key: string): AppError {
  if (isNotFound(error)) return notFound(key);
  return storageError(error, `cannot read object ${key}`);
}

function storageError(error: unknown, message: string): AppError {
  if (error instanceof AppError) return error;
  return new AppError('STORAGE_FAILED', `${message}: ${(error as Error).message}`, { cause: error });
}

export interface S3StoreUrl {
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: string | null;
  readonly region: string;
  readonly forcePathStyle: boolean;
  readonly minPartSize: number | null;
}

/**
 * Parses `s3://bucket[/prefix]?endpoint=http://127.0.0.1:9000&region=eu-west-1&forcePathStyle=true&partSizeMiB=16`.
 * Credentials never come from the URL (a URL lands in logs and process lists): the AWS chain (environment,
 * profile, instance role) supplies them. Throws CONFIG_INVALID.
 */
export function parseS3Url(url: string): S3StoreUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AppError('CONFIG_INVALID', 'invalid s3:// store URL');
  }
  if (parsed.protocol !== 's3:') throw new AppError('CONFIG_INVALID', 'an S3 store URL starts with s3://');
  if (parsed.username !== '' || parsed.password !== '') {
    throw new AppError(
      'CONFIG_INVALID',
      's3:// store URLs must not carry credentials; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile',
    );
  }
  const known = new Set(['endpoint', 'region', 'forcePathStyle', 'partSizeMiB']);
  const unknown = [...parsed.searchParams.keys()].filter((name) => !known.has(name));
  if (unknown.length > 0)
    throw new AppError('CONFIG_INVALID', `unknown s3:// store URL parameters: ${unknown.join(', ')}`);
  const endpoint = parsed.searchParams.get('endpoint');
  if (endpoint !== null && !/^https?:\/\/[^/?#@]+\/?$/.test(endpoint)) {
    throw new AppError(
      'CONFIG_INVALID',
      's3:// endpoint must be http(s)://host[:port] without credentials or path',
    );
  }
  const partSizeMiB = parsed.searchParams.get('partSizeMiB');
  const minPartSize = partSizeMiB === null ? null : Number(partSizeMiB) * MiB;
  if (
    minPartSize !== null &&
    (!Number.isSafeInteger(minPartSize) || minPartSize < S3_MIN_PART_SIZE || minPartSize > S3_MAX_PART_SIZE)
  ) {
    throw new AppError('CONFIG_INVALID', 's3:// partSizeMiB must be a whole number from 5 to 5120');
  }
  const forcePathStyle = parsed.searchParams.get('forcePathStyle');
  if (forcePathStyle !== null && forcePathStyle !== 'true' && forcePathStyle !== 'false') {
    throw new AppError('CONFIG_INVALID', 's3:// forcePathStyle must be true or false');
  }
  return {
    bucket: parsed.hostname,
    prefix: decodeURIComponent(parsed.pathname.replace(/^\/+/, '')),
    endpoint,
    region: parsed.searchParams.get('region') ?? process.env.AWS_REGION ?? 'us-east-1',
    // A custom endpoint (MinIO, s3rver, Ceph) rarely has wildcard DNS for virtual-hosted buckets.
    forcePathStyle: forcePathStyle === null ? endpoint !== null : forcePathStyle === 'true',
    minPartSize,
  };
}

/**
 * The S3Client settings for a parsed store URL, shared by createS3ObjectStore and the test server so tests run
 * the production configuration. Credentials are left to the AWS chain (memoized by the SDK: resolved once, then
 * again only near expiry), unless `overrides` supplies them.
 */
export function s3ClientConfig(config: S3StoreUrl, overrides: S3ClientConfig = {}): S3ClientConfig {
  return {
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint === null ? {} : { endpoint: config.endpoint }),
    // The middleware stack is resolved once per command class instead of on every send (a third of the SDK's
    // CPU per small request, measured); the store never edits the stack after the first request.
    cacheMiddleware: true,
    // S3-compatible services often reject the SDK's default streaming trailer checksums (aws-chunked);
    // checksums only where the API requires them works everywhere. Uploads keep an integrity check: the SigV4
    // signature covers the body's SHA-256 (x-amz-content-sha256), which S3, MinIO and Ceph verify. AWS keeps
    // the SDK's defaults (CRC32 on writes, validated on reads).
    ...(config.endpoint === null
      ? {}
      : {
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }),
    ...overrides,
  };
}

/** Builds an S3ObjectStore from an `s3://` URL (see parseS3Url); one per process (it owns a socket pool). */
export function createS3ObjectStore(url: string): S3ObjectStore {
  const config = parseS3Url(url);
  return new S3ObjectStore({
    client: new S3Client(s3ClientConfig(config)),
    bucket: config.bucket,
    prefix: config.prefix,
    ...(config.minPartSize === null ? {} : { minPartSize: config.minPartSize }),
  });
}
