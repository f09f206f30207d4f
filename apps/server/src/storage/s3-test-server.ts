import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { parseS3Url, s3ClientConfig } from './s3-object-store.js';

/** Credentials the emulator accepts (it does not check signatures); tests pass them through the AWS env chain. */
export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** A client for the emulator, as createS3ObjectStore would build it. */
  client(): S3Client;
  /** Creates a bucket with a random name and returns it. */
  createBucket(): Promise<string>;
  /** `s3://<bucket>?endpoint=...&forcePathStyle=true&region=us-east-1` */
  url(bucket: string, prefix?: string): string;
  stop(): Promise<void>;
}

/**
 * Starts s3rver (an S3 emulator on the local file system) in this process, on a free loopback port. No
 * external service is needed, so the S3 tests never skip.
 */
export async function startS3TestServer(): Promise<S3TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'malpipe-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    allowMismatchedSignatures: true,
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const clients: S3Client[] = [];
  const url = (bucket: string, prefix = ''): string =>
    `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&forcePathStyle=true&region=us-east-1`;
  const client = (): S3Client => {
    // The production settings (s3ClientConfig), with the emulator's credentials instead of the AWS chain.
    const c = new S3Client(s3ClientConfig(parseS3Url(url('malpipe-test')), { credentials: S3_TEST_CREDENTIALS }));
    clients.push(c);
    return c;
  };
  return {
    endpoint,
    client,
    async createBucket() {
      const bucket = `malpipe-test-${randomBytes(5).toString('hex')}`;
      const admin = client();
      await admin.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    url,
    async stop() {
      for (const c of clients) c.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
