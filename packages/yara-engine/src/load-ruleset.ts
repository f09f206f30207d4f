import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '@malpipe/core';
import type { YaraSource } from './yara-engine.js';

/** A set of YARA sources with a content version (part of the analysis cache key). */
export interface Ruleset {
  /** First 16 hex digits of the SHA-256 of the sorted (name, content) pairs. */
  readonly version: string;
  readonly sources: readonly YaraSource[];
}

export interface LoadRulesetOptions {
  /** Default 2,000 rule files. */
  readonly maxFiles?: number;
  /** Default 16 MiB per file. */
  readonly maxFileBytes?: number;
  /** Default 128 MiB in all. */
  readonly maxTotalBytes?: number;
  /** Sub-folder depth; default 8. */
  readonly maxDepth?: number;
}

/** The ruleset that ships with malpipe (repo root `rules/default`). */
export const DEFAULT_RULES_DIR = fileURLToPath(new URL('../../../rules/default', import.meta.url));

const RULE_FILE = /\.(yar|yara)$/i;

/** Builds a Ruleset from sources held in memory; the version covers namespaces and contents. */
export function createRuleset(sources: readonly YaraSource[]): Ruleset {
  const sorted = [...sources].sort((a, b) =>
    a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0,
  );
  const hash = createHash('sha256');
  for (const source of sorted) {
    hash.update(source.namespace).update('\0').update(source.source).update('\0');
  }
  return { version: hash.digest('hex').slice(0, 16), sources: sorted };
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * Reads every `*.yar` / `*.yara` under `dir` (sub-folders included). Each file becomes one source whose
 * namespace is its path relative to `dir` without the extension (`apt/cobalt.yar` -> `apt/cobalt`).
 * Symbolic links are followed only when they resolve inside `dir` (else PATH_TRAVERSAL); counts and sizes
 * are bounded (LIMIT_EXCEEDED).
 */
export async function loadRulesetFromDirectory(
  dir: string,
  options: LoadRulesetOptions = {},
): Promise<Ruleset> {
  const maxFiles = options.maxFiles ?? 2000;
  const maxFileBytes = options.maxFileBytes ?? 16 * 1024 * 1024;
  const maxTotalBytes = options.maxTotalBytes ?? 128 * 1024 * 1024;
  const maxDepth = options.maxDepth ?? 8;
  let root: string;
  try {
    root = await realpath(dir);
  } catch (error) {
    throw new AppError('NOT_FOUND', `rules directory ${dir} not found`, { cause: error });
  }
  if (!(await stat(root)).isDirectory())
    throw new AppError(
      'VALIDATION_FAILED',
      `${dir} is a file, not a rules directory: pass the directory that holds it (${path.dirname(dir)})`,
    );

  const files: { name: string; file: string }[] = [];
  const visit = async (folder: string, depth: number): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (depth < maxDepth) await visit(full, depth + 1);
        continue;
      }
      if (!RULE_FILE.test(entry.name)) continue;
      let file = full;
      if (entry.isSymbolicLink()) {
        file = await realpath(full).catch(() => full);
        if (!isInside(root, file)) {
          throw new AppError('PATH_TRAVERSAL', `rule file ${full} links outside ${dir}`, {
            details: { file: path.relative(root, full) },
          });
        }
        if (!(await stat(file)).isFile()) continue;
      } else if (!entry.isFile()) {
        continue;
      }
      if (files.length >= maxFiles) {
        throw new AppError('LIMIT_EXCEEDED', `more than ${maxFiles} rule files under ${dir}`, {
          details: { maxFiles },
        });
      }
      files.push({ name: path.relative(root, full).split(path.sep).join('/'), file });
    }
  };
  await visit(root, 0);

  let total = 0;
  const sources: YaraSource[] = [];
  for (const { name, file } of files) {
    const { size } = await lstat(file);
    total += size;
    if (size > maxFileBytes || total > maxTotalBytes) {
      throw new AppError('LIMIT_EXCEEDED', `rule file ${name} exceeds the ruleset size limits`, {
        details: { file: name, size, maxFileBytes, maxTotalBytes },
      });
    }
    sources.push({
      namespace: name.replace(RULE_FILE, ''),
      source: await readFile(file, 'utf8'),
      origin: name,
    });
  }
  return createRuleset(sources);
}
