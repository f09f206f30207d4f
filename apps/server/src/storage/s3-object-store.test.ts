import { createReadStream, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore } from './create-object-store.js';
import { objectStoreContract } from './object-store.contract.js';
import { S3ObjectStore, computePartSize, parseS3Url, s3ClientConfig, S3_MAX_PARTS } from './s3-object-store.js';
import { startS3TestServer, type S3TestServer } from './s3-test-server.js';

const MiB = 1024 * 1024;
let s3: S3TestServer;
beforeAll(async () => {
  s3 = await startS3TestServer();
});
afterAll(async () => {
  await s3.stop();
});

// One bucket per test, with a prefix, so keys are exercised below a folder as a shared bucket would have them.
objectStoreContract(`${S3ObjectStore.name} (s3rver on loopback)`, async () => {
  const bucket = await s3.createBucket();
  return {
    store: new S3ObjectStore({ client: s3.client(), bucket, prefix: 'malpipe/' }),
    cleanup: async () => undefined,
  };
});

describe(computePartSize.name, () => {
  it('keeps 5 MiB parts for small objects and grows them to stay within 10,000 parts', () => {
    expect(computePartSize(0)).toBe(5 * MiB);
    expect(computePartSize(48 * 1024 * MiB)).toBe(5 * MiB);
    const sixtyFourGiB = 64 * 1024 * MiB;
    expect(computePartSize(sixtyFourGiB)).toBe(7 * MiB); // 6.6 MiB rounded up to whole MiB
    for (const size of [500 * 1024 ** 3, 5 * 1024 ** 4]) {
      const part = computePartSize(size);
      expect(Math.ceil(size / part)).toBeLessThanOrEqual(S3_MAX_PARTS);
      expect(part % MiB).toBe(0);
    }
    expect(() => computePartSize(49 * 1024 ** 4)).toThrow(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED' }),
    );
    expect(computePartSize(null)).toBe(64 * MiB);
  });
});

describe(parseS3Url.name, () => {
  it('reads bucket, prefix and endpoint options, and refuses credentials in the URL', () => {
    expect(parseS3Url('s3://samples/malpipe/prod?endpoint=http://127.0.0.1:9000&region=eu-west-1')).toEqual({
      bucket: 'samples',
      prefix: 'malpipe/prod',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
      minPartSize: null,
    });
    expect(parseS3Url('s3://samples?partSizeMiB=16&forcePathStyle=false')).toMatchObject({
      prefix: '',
      endpoint: null,
      forcePathStyle: false,
      minPartSize: 16 * MiB,
    });
    expect(() => parseS3Url('s3://key:secret@samples')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => parseS3Url('s3://samples?secretAccessKey=x')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => parseS3Url('s3://samples?partSizeMiB=1')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => parseS3Url('s3://samples?endpoint=http://u:p@host')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});

describe(s3ClientConfig.name, () => {
  it('caches the middleware stack, and asks a custom endpoint for checksums only where S3 requires them', () => {
    const custom = s3ClientConfig(parseS3Url('s3://samples?endpoint=http://127.0.0.1:9000'));
    expect(custom).toMatchObject({
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      cacheMiddleware: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    expect(custom.credentials).toBeUndefined(); // the AWS chain supplies them
    // AWS itself keeps the SDK's default checksums (CRC32 on writes, validated on reads).
    const aws = s3ClientConfig(parseS3Url('s3://samples?region=eu-west-1'));
    expect(aws).toMatchObject({ region: 'eu-west-1', forcePathStyle: false, cacheMiddleware: true });
    expect(aws).not.toHaveProperty('endpoint');
    expect(aws).not.toHaveProperty('requestChecksumCalculation');
    expect(aws).not.toHaveProperty('responseChecksumValidation');
  });
});

describe(`${S3ObjectStore.name} specifics`, () => {
  it('reads small objects into arrays of their own, not views of a shared pool', async () => {
    const store = new S3ObjectStore({ client: s3.client(), bucket: await s3.createBucket() });
    const bytes = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
    await store.put('samples/ab/small', bytes);
    const read = await store.getBytes('samples/ab/small');
    expect(read.byteOffset).toBe(0);
    expect(read.buffer.byteLength).toBe(600);
    expect(Buffer.from(read).equals(Buffer.from(bytes))).toBe(true);
  });

  it('is built by createObjectStore from an s3:// URL with credentials from the environment', async () => {
    const bucket = await s3.createBucket();
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    try {
      const store = await createObjectStore(s3.url(bucket, 'pfx'));
      expect(store).toBeInstanceOf(S3ObjectStore);
      await store.put('samples/ab/abc', Uint8Array.of(1, 2, 3));
      expect(store.localPath('samples/ab/abc')).toBeNull();
      const listed = await s3.client().send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(listed.Contents?.map((o) => o.Key)).toEqual(['pfx/samples/ab/abc']);
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });

  it('sizes the parts of a 500 GiB file upload from the file, so it fits in 10,000 parts', async () => {
    const bucket = await s3.createBucket();
    const dir = mkdtempSync(join(tmpdir(), 'malpipe-s3-'));
    try {
      const path = join(dir, 'memory.raw');
      writeFileSync(path, '');
      truncateSync(path, 500 * 1024 ** 3); // sparse: no disk used
      const seen: number[] = [];
      const store = new S3ObjectStore({
        client: s3.client(),
        bucket,
        // Records the part size, then gives up without reading 500 GiB.
        upload: (params) => {
          seen.push(params.partSize);
          params.body.destroy(new Error('test stops here'));
          return { done: () => Promise.reject(new Error('test stops here')), abort: async () => undefined };
        },
      });
      await expect(store.put('images/huge', createReadStream(path))).rejects.toMatchObject({
        code: 'STORAGE_FAILED',
      });
      expect(seen).toEqual([computePartSize(500 * 1024 ** 3)]);
      expect(Math.ceil((500 * 1024 ** 3) / seen[0]!)).toBeLessThanOrEqual(S3_MAX_PARTS);
      expect(await store.has('images/huge')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uploads a file stream in several multipart parts and reads part-aligned ranges back', async () => {
    const bucket = await s3.createBucket();
    const client = s3.client();
    const commands: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName ?? '?');
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = new S3ObjectStore({ client, bucket });
    const dir = mkdtempSync(join(tmpdir(), 'malpipe-s3-'));
    try {
      const size = 12 * MiB + 123;
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 31) & 0xff;
      writeFileSync(join(dir, 'image.raw'), bytes);
      expect(await store.put('images/big', createReadStream(join(dir, 'image.raw')))).toEqual({ size });
      // 12 MiB in 5 MiB parts is three, after the HEAD that found no object.
      expect(commands).toEqual([
        'HeadObjectCommand',
        'CreateMultipartUploadCommand',
        'UploadPartCommand',
        'UploadPartCommand',
        'UploadPartCommand',
        'CompleteMultipartUploadCommand',
      ]);
      const range = await store.getRange('images/big', 5 * MiB - 2, 4);
      expect([...range]).toEqual([...bytes.subarray(5 * MiB - 2, 5 * MiB + 2)]);
      expect(
        Buffer.from(await store.getRange('images/big', size - 3, 10)).equals(bytes.subarray(size - 3)),
      ).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
