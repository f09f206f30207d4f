import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobReader, Uint8ArrayWriter, ZipReader, configure } from '@zip.js/zip.js';

/** One corpus sample with the values its source project's tests assert (see the corpus README). */
export interface CorpusSample {
  readonly md5: string;
  readonly zip: string;
  readonly password: string;
  readonly fixture: string;
  readonly expected: Readonly<Record<string, unknown>>;
}

export interface CorpusLocation {
  readonly dir: string | null;
  /** Why the corpus is unusable, when `dir` is null. */
  readonly reason: string;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');

/** `../shared/corpus/cobaltstrike` from the repository root, or null with a reason. */
export function locateCsCorpus(): CorpusLocation {
  const dir = join(REPO_ROOT, '..', 'shared', 'corpus', 'cobaltstrike');
  if (!existsSync(join(dir, 'expected.json'))) return { dir: null, reason: `Cobalt Strike corpus not found at ${dir}` };
  return { dir, reason: '' };
}

export function loadCsExpected(dir: string): CorpusSample[] {
  const json = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
    samples: Record<string, { zip: string; password: string; fixture?: string; s1_test?: string; expected: Record<string, unknown> }>;
  };
  return Object.entries(json.samples).map(([md5, s]) => ({
    md5,
    zip: s.zip,
    password: s.password,
    fixture: s.fixture ?? s.s1_test ?? md5,
    expected: s.expected,
  }));
}

configure({ useWebWorkers: false });

/** Decrypts the single member of a corpus zip in memory (never on disk) and checks its MD5. */
export async function readCsSample(dir: string, sample: CorpusSample): Promise<Uint8Array> {
  const zipBytes = readFileSync(join(dir, sample.zip));
  const reader = new ZipReader(new BlobReader(new Blob([zipBytes])), { password: sample.password });
  try {
    const entries = await reader.getEntries();
    const entry = entries[0];
    if (!entry || entry.directory || !('getData' in entry) || entry.getData === undefined) throw new Error(`${sample.zip}: no member`);
    const bytes = await entry.getData(new Uint8ArrayWriter());
    const md5 = createHash('md5').update(bytes).digest('hex');
    if (md5 !== sample.md5) throw new Error(`${sample.zip}: member MD5 ${md5} is not ${sample.md5}`);
    return bytes;
  } finally {
    await reader.close();
  }
}
