import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spoolSample } from './spool-sample.js';

async function drain(body: Uint8Array | Readable): Promise<Buffer> {
  if (body instanceof Uint8Array) return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function chunked(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

describe(spoolSample.name, () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malpipe-spool-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
  const sha256 = createHash('sha256').update(data).digest('hex');
  const md5 = createHash('md5').update(data).digest('hex');

  it('hashes bytes, streams and files identically', async () => {
    const file = join(dir, 'sample.bin');
    await writeFile(file, data);
    for (const content of [new Uint8Array(data), chunked(data, 777), { path: file }]) {
      const spooled = await spoolSample(content, { maxBytes: 1 << 20, tmpDir: join(dir, 'tmp') });
      expect(spooled.hashes).toMatchObject({ sha256, md5 });
      expect(spooled.size).toBe(data.length);
      expect(await drain(spooled.body())).toEqual(data);
      await spooled.dispose();
    }
  });

  it('spills a large stream to a temp file, keeps a head for identification, and removes it on dispose', async () => {
    const tmp = join(dir, 'spill');
    const spooled = await spoolSample(chunked(data, 1000), { maxBytes: 1 << 20, tmpDir: tmp, memoryBytes: 4096, headBytes: 512 });
    expect(spooled.inMemory).toBe(false);
    expect(Buffer.from(spooled.head)).toEqual(data.subarray(0, 512));
    expect(spooled.hashes.sha256).toBe(sha256);
    expect(await drain(spooled.body())).toEqual(data);
    expect(await readdir(tmp)).toHaveLength(1);
    await spooled.dispose();
    expect(await readdir(tmp)).toHaveLength(0);
  });

  it('refuses oversized and empty samples, leaving no temp file behind', async () => {
    const tmp = join(dir, 'refuse');
    await expect(spoolSample(chunked(data, 1000), { maxBytes: 5000, tmpDir: tmp, memoryBytes: 2048 })).rejects.toMatchObject({ code: 'SAMPLE_TOO_LARGE' });
    expect(await readdir(tmp)).toHaveLength(0);
    await expect(spoolSample(Readable.from([]), { maxBytes: 5000, tmpDir: tmp })).rejects.toMatchObject({ code: 'EMPTY_SAMPLE' });
    await expect(spoolSample(new Uint8Array(0), { maxBytes: 5000, tmpDir: tmp })).rejects.toMatchObject({ code: 'EMPTY_SAMPLE' });
    await expect(spoolSample({ path: dir }, { maxBytes: 5000, tmpDir: tmp })).rejects.toMatchObject({ code: 'UNSUPPORTED_INPUT' });
  });
});
