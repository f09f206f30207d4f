import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Ruleset } from './load-ruleset.js';
import type { CompiledRules, YaraEngine, YaraEngineName } from './yara-engine.js';

/**
 * Compiled rules on disk, so the pipeline compiles a ruleset once and each analyser child process loads it
 * (libyara: loading takes milliseconds where compiling a large ruleset takes seconds). YARA-X cannot save,
 * so with it `saveCompiledRules` returns false and children compile.
 *
 * File layout: one header line `malpipe-yara-rules/1 <engine> <rulesetVersion>\n`, then the engine's bytes.
 * A file from another engine or ruleset version is ignored (null), never loaded.
 */
const MAGIC = 'malpipe-yara-rules/1';
const MAX_HEADER = 256;

function header(engine: YaraEngineName, rulesetVersion: string): Buffer {
  return Buffer.from(`${MAGIC} ${engine} ${rulesetVersion}\n`, 'utf8');
}

/** Saves `rules` to `file` atomically (temp file + rename). False when the engine cannot save. */
export async function saveCompiledRules(
  rules: CompiledRules,
  rulesetVersion: string,
  file: string,
): Promise<boolean> {
  const bytes = await rules.save();
  if (bytes === null) return false;
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, Buffer.concat([header(rules.engine, rulesetVersion), bytes]));
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
  return true;
}

/** Loads rules saved for this engine and ruleset version; null when absent, stale or from another engine. */
export async function loadCompiledRules(
  engine: YaraEngine,
  rulesetVersion: string,
  file: string,
): Promise<CompiledRules | null> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch {
    return null;
  }
  const end = data.subarray(0, MAX_HEADER).indexOf(0x0a);
  if (end < 0) return null;
  if (!data.subarray(0, end + 1).equals(header(engine.name, rulesetVersion))) return null;
  return engine.load(data.subarray(end + 1));
}

/** Loads the cached compilation when it matches, else compiles and (where the engine can) saves it. */
export async function loadOrCompileRules(
  engine: YaraEngine,
  ruleset: Ruleset,
  file: string,
): Promise<CompiledRules> {
  // A cache written by another libyara build fails to load: compile afresh and overwrite it.
  const cached = await loadCompiledRules(engine, ruleset.version, file).catch(() => null);
  if (cached !== null) return cached;
  const rules = await engine.compile(ruleset.sources);
  await saveCompiledRules(rules, ruleset.version, file);
  return rules;
}
