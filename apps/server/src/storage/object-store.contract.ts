import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from './object-store.js';

export interface ObjectStoreFixture {
  readonly store: ObjectStore;
  /** Removes whatever the store created (temp folders, buckets). */
  cleanup(): Promise<void>;
}

const BAD_KEYS = ['', '../escape', 'samples/../../etc/passwd', '/etc/passwd', 'a\\b', 'a\0b', 'a//b', 'a/./b', 'a/', '.hidden', 'a/.b.tmp', 'x'.repeat(1025)];

/**
 * The behaviour every ObjectStore implementation promises; each implementation's test file calls this
 * with a factory giving a fresh, empty store:
 *
 * @example
 * objectStoreContract(LocalObjectStore.name, async () => { const dir = ...; return { store: new LocalObjectStore(dir), cleanup } });
 */
export function objectStoreContract(name: string, factory: () => Promise<ObjectStoreFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fixture: ObjectStoreFixture;
    let store: ObjectStore;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('round-trips bytes through put, get, getBytes, stat and has', async () => {
      const body = new TextEncoder().encode('MZ not really a sample');
      expect(await store.has('samples/ab/abc')).toBe(false);
      expect(await store.put('samples/ab/abc', body)).toEqual({ size: body.byteLength });
      expect(await store.has('samples/ab/abc')).toBe(true);
      expect(await store.stat('samples/ab/abc')).toEqual({ size: body.byteLength });
      expect(Buffer.from(await store.getBytes('samples/ab/abc')).equals(body)).toBe(true);
      expect((await readAll(await store.get('samples/ab/abc'))).equals(body)).toBe(true);
    });

    it('stores an empty object', async () => {
      expect(await store.put('empty', new Uint8Array(0))).toEqual({ size: 0 });
      expect(await store.getBytes('empty')).toHaveLength(0);
      expect(await readAll(await store.get('empty'))).toHaveLength(0);
    });

    it('does not keep a reference to the caller buffer', async () => {
      const body = Uint8Array.of(1, 2, 3);
      await store.put('k', body);
      body[0] = 9;
      expect([...(await store.getBytes('k'))]).toEqual([1, 2, 3]);
    });

    it('streams a 20 MB object in and out unchanged', async () => {
      const size = 20 * 1024 * 1024;
      const { stream, digest } = patternStream(size, 64 * 1024);
      expect(await store.put('big/object', stream)).toEqual({ size });
      expect(await store.stat('big/object')).toEqual({ size });
      const hash = createHash('sha256');
      let seen = 0;
      for await (const chunk of await store.get('big/object')) {
        hash.update(chunk as Buffer);
        seen += (chunk as Buffer).byteLength;
      }
      expect(seen).toBe(size);
      expect(hash.digest('hex')).toBe(digest());
    });

    it('reports a missing key as OBJECT_NOT_FOUND, null or false', async () => {
      await expect(store.get('samples/zz/missing')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
      await expect(store.getBytes('samples/zz/missing')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
      await expect(store.getRange('samples/zz/missing', 0, 1)).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
      expect(await store.stat('samples/zz/missing')).toBeNull();
      expect(await store.has('samples/zz/missing')).toBe(false);
    });

    it('treats a key prefix as missing, not as an object', async () => {
      await store.put('samples/ab/abc', Uint8Array.of(1));
      expect(await store.has('samples/ab')).toBe(false);
      await expect(store.get('samples/ab')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    });

    it('makes put idempotent, from bytes or from a stream', async () => {
      const body = Buffer.from('same content');
      await store.put('k', body);
      expect(await store.put('k', body)).toEqual({ size: body.byteLength });
      expect(await store.put('k', Readable.from([body.subarray(0, 4), body.subarray(4)]))).toEqual({ size: body.byteLength });
      expect(Buffer.from(await store.getBytes('k')).equals(body)).toBe(true);
    });

    it('survives 8 concurrent puts of the same key with a complete object', async () => {
      const size = 512 * 1024;
      const puts = Array.from({ length: 8 }, (_, i) =>
        i % 2 === 0 ? store.put('samples/cc/same', patternBytes(size)) : store.put('samples/cc/same', patternStream(size, 8192).stream),
      );
      const stats = await Promise.all(puts);
      expect(stats.every((s) => s.size === size)).toBe(true);
      expect(Buffer.from(await store.getBytes('samples/cc/same')).equals(patternBytes(size))).toBe(true);
    });

    it('leaves nothing visible when a put stream fails half-way', async () => {
      const failing = new Readable({
        read() {
          this.push(Buffer.alloc(1024, 1));
          this.destroy(new Error('client went away'));
        },
      });
      await expect(store.put('broken', failing)).rejects.toThrow();
      expect(await store.has('broken')).toBe(false);
      await store.put('broken', Uint8Array.of(7));
      expect([...(await store.getBytes('broken'))]).toEqual([7]);
    });

    it('refuses a stream of strings with BAD_REQUEST', async () => {
      await expect(store.put('strings', Readable.from(['text'], { objectMode: true }))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      expect(await store.has('strings')).toBe(false);
    });

    it('reads ranges, clipped at the end of the object', async () => {
      await store.put('r', Buffer.from('0123456789'));
      expect(Buffer.from(await store.getRange('r', 0, 4)).toString()).toBe('0123');
      expect(Buffer.from(await store.getRange('r', 3, 2)).toString()).toBe('34');
      expect(Buffer.from(await store.getRange('r', 8, 100)).toString()).toBe('89');
      expect(await store.getRange('r', 10, 5)).toHaveLength(0);
      expect(await store.getRange('r', 50, 5)).toHaveLength(0);
      expect(await store.getRange('r', 2, 0)).toHaveLength(0);
      await expect(store.getRange('r', -1, 2)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(store.getRange('r', 0, 1.5)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    });

    it('limits getBytes with LIMIT_EXCEEDED', async () => {
      await store.put('l', Buffer.alloc(100));
      expect(await store.getBytes('l', 100)).toHaveLength(100);
      await expect(store.getBytes('l', 99)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    });

    it('deletes idempotently', async () => {
      await store.put('d', Uint8Array.of(1));
      await store.delete('d');
      await store.delete('d');
      expect(await store.has('d')).toBe(false);
      await expect(store.get('d')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    });

    it.each(BAD_KEYS.map((key) => [JSON.stringify(key).slice(0, 40), key]))('refuses the key %s with BAD_REQUEST everywhere', async (_label, key) => {
      await expect(store.put(key, Uint8Array.of(1))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(store.get(key)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(store.getBytes(key)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(store.getRange(key, 0, 1)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(store.stat(key)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(store.has(key)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(store.delete(key)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      expect(() => store.localPath(key)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    });
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Deterministic, non-repeating-per-chunk bytes, so a reordered or duplicated chunk changes the hash. */
function patternBytes(size: number, start = 0): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) bytes[i] = ((start + i) * 2654435761) >>> 24;
  return bytes;
}

function patternStream(size: number, chunkSize: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const chunk = patternBytes(Math.min(chunkSize, size - sent), sent);
      sent += chunk.byteLength;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}
