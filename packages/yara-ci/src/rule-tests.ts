import { createHash } from 'node:crypto';
import { lstat, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '@malpipe/core';
import type { ParsedRule } from './parse-rules.js';

/**
 * Where positive and negative test files come from. Positives: hashes in a rule's meta (`hash`, `hash1`,
 * `sha256...`, `sha1...`, `md5...`, as YARA-CI reads them) looked up in the corpus directories, plus a
 * manifest (`tests.json`: rule -> files or hashes). Negatives: a goodware directory, by default a bounded,
 * deterministic sample of the machine's `/usr/bin`.
 */
export const TESTS_MANIFEST = 'tests.json';
export const DEFAULT_GOODWARE_DIR = '/usr/bin';

const ManifestSchema = z.union([
  z.object({ rules: z.record(z.string(), z.array(z.string())) }),
  z.record(z.string(), z.array(z.string())).transform((rules) => ({ rules })),
]);

export interface FileSample {
  readonly maxFiles: number;
  readonly maxFileBytes: number;
  readonly maxTotalBytes: number;
}

/** Regular files under `dir` (recursively when `recursive`), sorted, bounded, evenly sampled. */
export async function sampleFiles(dir: string, limits: FileSample, recursive = true): Promise<string[]> {
  const found: { file: string; size: number }[] = [];
  const visit = async (folder: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (found.length >= 20_000) return;
      const full = path.join(folder, entry.name);
      if (entry.isDirectory() && recursive && depth < 8 && !entry.name.startsWith('.')) await visit(full, depth + 1);
      else if (entry.isFile()) {
        const { size } = await lstat(full);
        if (size > 0 && size <= limits.maxFileBytes) found.push({ file: full, size });
      }
    }
  };
  await visit(dir, 0);
  const step = Math.max(1, Math.floor(found.length / limits.maxFiles));
  const picked: string[] = [];
  let total = 0;
  for (let i = 0; i < found.length && picked.length < limits.maxFiles; i += step) {
    const item = found[i];
    if (item === undefined || total + item.size > limits.maxTotalBytes) continue;
    picked.push(item.file);
    total += item.size;
  }
  return picked;
}

export interface HashIndex {
  readonly byHash: ReadonlyMap<string, string>;
}

/** MD5, SHA-1 and SHA-256 of every file given -> its path. */
export async function indexHashes(files: readonly string[]): Promise<HashIndex> {
  const byHash = new Map<string, string>();
  for (const file of files) {
    const bytes = await readFile(file);
    for (const algorithm of ['md5', 'sha1', 'sha256']) {
      byHash.set(createHash(algorithm).update(bytes).digest('hex'), file);
    }
  }
  return { byHash };
}

const HASH_KEY = /^(hash\d*|sha256\w*|sha1\w*|md5\w*)$/i;
const HASH_VALUE = /^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i;

export interface PositiveSpec {
  readonly rule: string;
  /** A hash (looked up in the index) or a file path. */
  readonly reference: string;
  readonly file: string | null;
}

/** Reads `tests.json` next to the rules; empty when absent. */
export async function readManifest(file: string): Promise<Record<string, string[]>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {};
  }
  const parsed = ManifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new AppError('MALFORMED_INPUT', `${file}: expected { "rules": { "<rule>": ["<file or hash>"] } }`);
  return parsed.data.rules;
}

/** Each rule's expected positives, resolved to files where possible. */
export function positiveSpecs(
  rules: readonly ParsedRule[],
  manifest: Readonly<Record<string, readonly string[]>>,
  manifestDir: string,
  index: HashIndex,
): PositiveSpec[] {
  const specs: PositiveSpec[] = [];
  for (const rule of rules) {
    const refs = rule.meta.filter((m) => HASH_KEY.test(m.key) && typeof m.value === 'string').map((m) => String(m.value));
    for (const ref of [...refs, ...(manifest[rule.name] ?? [])]) {
      const file = HASH_VALUE.test(ref) ? (index.byHash.get(ref.toLowerCase()) ?? null) : path.resolve(manifestDir, ref);
      specs.push({ rule: rule.name, reference: ref, file });
    }
  }
  return specs;
}
