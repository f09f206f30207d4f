import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createYaraEngine, type YaraEngine, type YaraSource } from '@malpipe/yara-engine';
import type { Finding, Severity } from './lint-rules.js';
import type { ParsedSource } from './parse-rules.js';

/**
 * Compiling and scanning with every engine at hand: YARA-X (`@litko/yara-x`, always), libyara (our addon,
 * where built) and Debian's `yara` 4.x CLI (where installed). Compile diagnostics become findings; scans feed
 * the positive/negative tests and the engine differential.
 */
export type EngineId = 'yara-x' | 'libyara' | 'yara-cli';

/** The slice of `@litko/yara-x` 0.3.0 used here (validate reports every warning with its line). */
interface YaraXValidateShape {
  validate(source: string): {
    warnings: readonly { code: string; message: string }[];
    errors: readonly { code: string; message: string }[];
  };
}

/** YARA-X warnings VirusTotal treats as rejections (slow patterns and loops): errors here too. */
const YARAX_ERROR_WARNINGS = new Set(['slow_pattern', 'potentially_slow_loop', 'too_many_iterations', 'invariant_expr', 'unsatisfiable_expr']);

function ruleAt(source: ParsedSource, line: number): string | null {
  return source.rules.find((r) => line >= r.line && line <= r.endLine)?.name ?? null;
}

function firstLine(message: string): string {
  return (/^(?:warning|error)\[\w+\]:\s*([^\n]*)/.exec(message)?.[1] ?? message.split('\n')[0] ?? message).trim();
}

function detailOf(message: string): string {
  return /\|\s*[-^]+\s*([^\n]+)/.exec(message)?.[1]?.trim() ?? '';
}

/** Compiles each file with YARA-X; errors and warnings become findings (`compile-error`, `yarax/<code>`). */
export async function checkWithYaraX(sources: readonly { parsed: ParsedSource; text: string }[]): Promise<Finding[]> {
  const yarax = (await import('@litko/yara-x')) as unknown as YaraXValidateShape;
  const out: Finding[] = [];
  for (const { parsed, text } of sources) {
    const result = yarax.validate(text);
    for (const [kind, list] of [['error', result.errors], ['warning', result.warnings]] as const) {
      for (const item of list) {
        const line = Number(/-->\s*line:(\d+)/.exec(item.message)?.[1] ?? '1');
        const detail = detailOf(item.message);
        const severity: Severity = kind === 'error' || YARAX_ERROR_WARNINGS.has(item.code) ? 'error' : 'warning';
        out.push({
          id: kind === 'error' ? 'compile-error' : `yarax/${item.code}`,
          severity,
          category: kind === 'error' ? 'syntax' : 'engine',
          rule: ruleAt(parsed, line),
          file: parsed.file,
          line,
          message: `YARA-X: ${firstLine(item.message)}${detail === '' ? '' : ` (${detail})`}`,
        });
      }
    }
  }
  return out;
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The installed `yara` CLI's version, or null when it is not on PATH. */
export async function yaraCliVersion(): Promise<string | null> {
  const result = await run('yara', ['--version'], 10_000);
  return result.code === 0 ? result.stdout.trim() : null;
}

/** Compiles each file with `yarac` (YARA 4.x); diagnostics become `compile-error` / `yara4/<kind>` findings. */
export async function checkWithYaraCli(files: readonly { parsed: ParsedSource; absolutePath: string }[]): Promise<Finding[]> {
  const out: Finding[] = [];
  const dir = await mkdtemp(path.join(tmpdir(), 'malpipe-yarac-'));
  try {
    for (const { parsed, absolutePath } of files) {
      const result = await run('yarac', [absolutePath, path.join(dir, 'out.yarc')], 60_000);
      for (const raw of result.stderr.split('\n')) {
        const m = /^(warning|error): (?:rule "([^"]+)" in )?.*\((\d+)\): (.*)$/.exec(raw.trim());
        if (m === null) continue;
        const line = Number(m[3]);
        const message = m[4] ?? '';
        const slow = /slow|\.\*, \.\+/.test(message);
        const isError = m[1] === 'error';
        out.push({
          id: isError ? 'compile-error' : slow ? 'yara4/slow' : 'yara4/warning',
          severity: isError || slow ? 'error' : 'warning',
          category: isError ? 'syntax' : 'engine',
          rule: m[2] ?? ruleAt(parsed, line),
          file: parsed.file,
          line,
          message: `yara 4.x: ${message}`,
        });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

/** rule name -> set of scanned file paths it matched. */
export type MatchTable = Map<string, Set<string>>;

/**
 * Scans `files` with an in-process engine. `null` when the engine is not available here; `{ error }` when
 * the sources do not compile with it (the other engines accepted them: a disagreement worth reporting).
 */
export async function scanWithEngine(
  engineName: 'yara-x' | 'libyara',
  sources: readonly YaraSource[],
  files: readonly string[],
): Promise<MatchTable | { readonly error: string } | null> {
  let engine: YaraEngine;
  try {
    engine = await createYaraEngine(engineName);
  } catch {
    return null;
  }
  let rules;
  try {
    rules = await engine.compile(sources);
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  const table: MatchTable = new Map();
  try {
    for (const file of files) {
      const matches = await rules.scanFile(file, { timeoutMs: 60_000 }).catch(() => []);
      for (const match of matches) {
        const set = table.get(match.rule) ?? new Set<string>();
        set.add(file);
        table.set(match.rule, set);
      }
    }
  } finally {
    rules.dispose();
  }
  return table;
}

/** Scans `files` with the `yara` CLI (one process, `--scan-list`); null when it fails to compile or is absent. */
export async function scanWithYaraCli(
  ruleFiles: readonly { namespace: string; absolutePath: string }[],
  files: readonly string[],
): Promise<MatchTable | null> {
  const dir = await mkdtemp(path.join(tmpdir(), 'malpipe-yara-scan-'));
  try {
    const list = path.join(dir, 'files.txt');
    await writeFile(list, `${files.join('\n')}\n`);
    const args = ['-a', '60', '--scan-list', ...ruleFiles.map((f) => `${f.namespace.replace(/[:/\\]/g, '_')}:${f.absolutePath}`), list];
    const result = await run('yara', args, 300_000);
    if (result.code !== 0 && result.stdout === '') return null;
    const table: MatchTable = new Map();
    for (const line of result.stdout.split('\n')) {
      const space = line.indexOf(' ');
      if (space <= 0) continue;
      const rule = line.slice(0, space);
      const set = table.get(rule) ?? new Set<string>();
      set.add(line.slice(space + 1));
      table.set(rule, set);
    }
    return table;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
