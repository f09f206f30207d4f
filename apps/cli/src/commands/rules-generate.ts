import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AppError } from '@malpipe/core';
import { createYaraEngine, type CompiledRules } from '@malpipe/yara-engine';
import {
  buildGoodwareDb,
  describeCodec,
  generateEncodedPayloadRules,
  generateStringRules,
  GoodwareStringDb,
  parseCodec,
  parsePlaintext,
  verifyEncodedRules,
  type RuleVerification,
} from '@malpipe/yara-gen';
import { findFiles } from './analyze.js';

export interface RulesGenerateOptions {
  /** Codec JSON, or a file holding it; absent: string-based rules from `samples`. */
  readonly codec?: string;
  /** `pe-header`, `hex:...[@off]`, `text:...[@off]`; default pe-header. */
  readonly plaintext: readonly string[];
  readonly samples?: string;
  readonly goodware?: string;
  readonly out?: string;
  readonly name: string;
  readonly verify: boolean;
  readonly maxStrings?: number;
}

export interface RulesGenerateReport {
  readonly mode: 'encoded' | 'strings';
  readonly codec: string | null;
  readonly rules: readonly { readonly name: string; readonly strategy: string }[];
  readonly source: string;
  readonly verification: readonly RuleVerification[];
  /** Sample files and the generated rules each one matched. */
  readonly samples: readonly { readonly path: string; readonly sha256: string; readonly rules: readonly string[] }[];
  /** Goodware files any generated rule matched: must be empty. */
  readonly falsePositives: readonly { readonly path: string; readonly rules: readonly string[] }[];
  readonly goodwareScanned: number;
  readonly warnings: readonly string[];
  readonly durationMs: number;
  readonly ok: boolean;
}

const MAX_FILE_BYTES = 64 * 1024 * 1024;

async function listFiles(dir: string | undefined): Promise<string[]> {
  if (dir === undefined) return [];
  const { files } = await findFiles([resolve(dir)]);
  const sized = await Promise.all(files.map(async (f) => ((await stat(f)).size <= MAX_FILE_BYTES ? f : null)));
  return sized.filter((f): f is string => f !== null);
}

async function readCodec(value: string): Promise<unknown> {
  const text = value.trimStart().startsWith('{') ? value : await readFile(value, 'utf8').catch((error: unknown) => {
    throw new AppError('NOT_FOUND', `codec file ${value} not found`, { cause: error });
  });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppError('VALIDATION_FAILED', `codec is not JSON: ${(error as Error).message}`, { cause: error });
  }
}

async function scanAll(rules: CompiledRules, files: readonly string[]): Promise<{ path: string; rules: string[] }[]> {
  const out: { path: string; rules: string[] }[] = [];
  for (const path of files) out.push({ path, rules: (await rules.scanFile(path, { timeoutMs: 60_000 })).map((m) => m.rule) });
  return out;
}

/**
 * `malpipe rules generate` without the terminal: encoded-payload rules (with `codec`) or string rules (from
 * `samples` minus `goodware`), each verified (round trip for encoded rules; every sample matches for string
 * rules) and checked against the goodware files (no match allowed).
 */
export async function generateRules(options: RulesGenerateOptions): Promise<RulesGenerateReport> {
  const started = performance.now();
  const samplePaths = await listFiles(options.samples);
  const goodwarePaths = await listFiles(options.goodware);
  const sha256s = await Promise.all(samplePaths.map(async (p) => createHash('sha256').update(await readFile(p)).digest('hex')));
  let source: string;
  let generated: { name: string; strategy: string }[];
  let verification: RuleVerification[] = [];
  let warnings: readonly string[] = [];
  let codecText: string | null = null;

  if (options.codec !== undefined) {
    const codec = parseCodec(await readCodec(options.codec));
    codecText = describeCodec(codec);
    const plaintext = (options.plaintext.length === 0 ? ['pe-header'] : options.plaintext).flatMap(parsePlaintext);
    const spec = { name: options.name, codec, plaintext, sourceSamples: sha256s.slice(0, 50) };
    const result = generateEncodedPayloadRules(spec);
    warnings = result.warnings;
    if (options.verify) verification = await verifyEncodedRules(spec, result.rules);
    source = result.rules.map((r) => r.source).join('\n');
    generated = result.rules.map((r) => ({ name: r.name, strategy: r.strategy }));
  } else {
    if (samplePaths.length === 0) throw new AppError('VALIDATION_FAILED', 'give --codec (encoded-payload rules) or --samples DIR (string rules)');
    const goodware = goodwarePaths.length === 0 ? new GoodwareStringDb({ bytes: 1024 }) : await buildGoodwareDb((async function* () {
      for (const p of goodwarePaths) yield new Uint8Array(await readFile(p));
    })());
    const samples = await Promise.all(samplePaths.map(async (p, i) => ({ sha256: sha256s[i]!, bytes: new Uint8Array(await readFile(p)) })));
    const rule = generateStringRules(samples, goodware, { name: options.name, ...(options.maxStrings === undefined ? {} : { maxStrings: options.maxStrings }) });
    source = rule.source;
    generated = [{ name: rule.name, strategy: 'strings' }];
  }

  const engine = await createYaraEngine('auto');
  const compiled = await engine.compile([{ namespace: 'generated', source, origin: options.out ?? 'generated' }]);
  let sampleHits: { path: string; rules: string[] }[];
  let goodwareHits: { path: string; rules: string[] }[];
  try {
    sampleHits = await scanAll(compiled, samplePaths);
    goodwareHits = await scanAll(compiled, goodwarePaths);
  } finally {
    compiled.dispose();
  }
  const falsePositives = goodwareHits.filter((h) => h.rules.length > 0);
  const stringsMissed = options.codec === undefined && sampleHits.some((h) => h.rules.length === 0);
  const ok = verification.every((v) => v.ok) && falsePositives.length === 0 && !stringsMissed;
  return {
    mode: options.codec === undefined ? 'strings' : 'encoded',
    codec: codecText,
    rules: generated,
    source,
    verification,
    samples: sampleHits.map((h, i) => ({ path: h.path, sha256: sha256s[i]!, rules: h.rules })),
    falsePositives,
    goodwareScanned: goodwarePaths.length,
    warnings,
    durationMs: Math.round(performance.now() - started),
    ok,
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface CliOptions {
  readonly codec?: string;
  readonly plaintext: string[];
  readonly samples?: string;
  readonly goodware?: string;
  readonly out?: string;
  readonly name: string;
  readonly verify: boolean;
  readonly maxStrings?: string;
  readonly json?: boolean;
}

/** `malpipe rules generate`, registered under the `rules` command by rules.ts. */
export function registerRulesGenerate(rules: Command): void {
  rules
    .command('generate')
    .description('Generate YARA rules for encoded payloads (--codec) or from sample strings minus goodware (--samples)')
    .option('--codec <json|file>', 'encoding as data, e.g. \'{"op":"chain","steps":[{"op":"add","key":"33"},{"op":"xor","key":"20"}]}\'')
    .option('--plaintext <spec>', 'known plaintext: pe-header (default), hex:4d5a@0x0, text:STRING[@offset] (repeatable)', collect, [])
    .option('--samples <dir>', 'source samples (hashes go into meta; string rules are generated from them without --codec)')
    .option('--goodware <dir>', 'goodware files: their strings are excluded and no generated rule may match them')
    .option('--out <file>', 'write the rules here (default: stdout)')
    .option('--name <name>', 'rule name stem', 'Generated')
    .option('--max-strings <n>', 'strings per string rule (default 20)')
    .option('--no-verify', 'skip the round-trip verification of encoded rules')
    .option('--json', 'print a JSON report (rules, verification, sample and goodware results)')
    .action(async (options: CliOptions) => {
      const { maxStrings, ...rest } = options;
      const report = await generateRules({ ...rest, ...(maxStrings === undefined ? {} : { maxStrings: Number(maxStrings) }) });
      if (report.ok && options.out !== undefined) await writeFile(options.out, report.source);
      if (options.json === true) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else if (options.out === undefined && report.ok) process.stdout.write(report.source);
      for (const w of report.warnings) process.stderr.write(`malpipe: warning: ${w}\n`);
      for (const v of report.verification.filter((x) => !x.ok)) process.stderr.write(`malpipe: ${v.rule} failed verification on ${v.engine}: ${v.detail ?? 'no match'}\n`);
      for (const fp of report.falsePositives) process.stderr.write(`malpipe: false positive on goodware ${fp.path}: ${fp.rules.join(', ')}\n`);
      const matched = report.samples.filter((s) => s.rules.length > 0).length;
      process.stderr.write(
        `malpipe: ${report.rules.length} rule(s) ${report.ok ? 'generated' : 'REJECTED'}; verification ${report.verification.filter((v) => v.ok).length}/${report.verification.length}; ` +
          `samples matched ${matched}/${report.samples.length}; goodware hits ${report.falsePositives.length}/${report.goodwareScanned}; ${report.durationMs} ms\n`,
      );
      if (!report.ok) process.exitCode = 1;
    });
}
