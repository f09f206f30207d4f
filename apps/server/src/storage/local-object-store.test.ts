import { mkdtempSync, readdirSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createObjectStore } from './create-object-store.js';
import { LocalObjectStore } from './local-object-store.js';
import { MemoryObjectStore } from './memory-object-store.js';
import { objectStoreContract } from './object-store.contract.js';
import { sampleKey } from './object-store.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'malpipe-store-'));
}

objectStoreContract(LocalObjectStore.name, async () => {
  const dir = tempDir();
  return { store: new LocalObjectStore(join(dir, 'objects')), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

objectStoreContract(MemoryObjectStore.name, async () => ({ store: new MemoryObjectStore(), cleanup: async () => undefined }));

/** Every file below `dir`, relative, so a test can assert no temp file was left behind. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe(LocalObjectStore.name, () => {
  it('keeps an object invisible until its last byte is written and synced', async () => {
    const dir = tempDir();
    try {
      const store = new LocalObjectStore(dir);
      const key = sampleKey('ab'.repeat(32));
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      async function* slowBody(): AsyncGenerator<Buffer> {
        yield Buffer.from('first half ');
        await gate;
        yield Buffer.from('second half');
      }
      const putting = store.put(key, Readable.from(slowBody()));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await store.has(key)).toBe(false);
      expect(existsSync(store.localPath(key))).toBe(false);
      release();
      await putting;
      expect(readFileSync(store.localPath(key), 'utf8')).toBe('first half second half');
      expect(listFiles(dir)).toEqual([key]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('removes its temp file when a put fails', async () => {
    const dir = tempDir();
    try {
      const store = new LocalObjectStore(dir);
      const failing = Readable.from(
        (async function* () {
          yield Buffer.from('partial');
          throw new Error('upload aborted');
        })(),
      );
      await expect(store.put('samples/ab/x', failing)).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
      expect(listFiles(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a local path inside its root for tools that need a file', async () => {
    const dir = tempDir();
    try {
      const store = new LocalObjectStore(dir);
      await store.put('samples/ab/abc', Buffer.from('x'));
      expect(store.localPath('samples/ab/abc')).toBe(join(dir, 'samples', 'ab', 'abc'));
      expect(readFileSync(store.localPath('samples/ab/abc'), 'utf8')).toBe('x');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe(createObjectStore.name, () => {
  it('builds stores from file:, file:// and memory: URLs and refuses others', async () => {
    const dir = tempDir();
    try {
      const relative = await createObjectStore(`file:${dir}`);
      expect(relative).toBeInstanceOf(LocalObjectStore);
      await relative.put('a', Buffer.from('1'));
      const viaUrl = await createObjectStore(pathToFileURL(dir).href);
      expect(Buffer.from(await viaUrl.getBytes('a')).toString()).toBe('1');
      expect(await createObjectStore('memory:')).toBeInstanceOf(MemoryObjectStore);
      await expect(createObjectStore('ftp://host/objects')).rejects.toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
      await expect(createObjectStore('file:')).rejects.toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
