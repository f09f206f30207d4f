/**
 * YARA engines side by side over the same corpus of system files (ratios, not absolute times, are the point):
 * libyara through @malpipe/yara-native (one compiled ruleset shared by `threads` concurrent scans), YARA-X
 * through @litko/yara-x (one compiled ruleset, `threads` concurrent async scans) and the Debian `yara` CLI
 * (`yara -p threads --scan-list`), with the default ruleset and, when present, the public ruleset.
 * Run: `node apps/cli/bin/run-ts.js bench/yara-engines.ts [--corpus-mb 600] [--threads N] [--rules default,public]`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  DEFAULT_RULES_DIR,
  createLibyaraEngine,
  createRuleset,
  createYaraXEngine,
  isLibyaraAvailable,
  loadRulesetFromDirectory,
} from '@malpipe/yara-engine';
import type { Ruleset, YaraEngine } from '@malpipe/yara-engine';
import {
  defaultRuleSamples,
  pickSystemFiles,
  ruleStringSoups,
} from '../packages/yara-engine/test/yara-test-support.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PUBLIC_RULES = resolve(ROOT, '../shared/corpus/yara/public-rules.yar');
const run = promisify(execFile);

export type BenchEngine = 'libyara' | 'yara-x' | 'yara-cli';
export type BenchRuleset = 'default' | 'public';

export interface YaraEngineBenchOptions {
  /** Corpus size in MiB (default 600; the corpus is bounded by it and printed). */
  readonly corpusMb?: number;
  /** Folders the corpus is drawn from, in order (default /usr/lib, /usr/bin). */
  readonly roots?: readonly string[];
  /** Largest file taken, in MiB (default 32). */
  readonly maxFileMb?: number;
  /** Concurrent scans (default: the number of cores). */
  readonly threads?: number;
  readonly rulesets?: readonly BenchRuleset[];
  /**
   * Adds small built files (default-rule samples and "string soups" of the public rules, < 2 MB) so that
   * verdicts are compared on matches too: system files match none of the rules. Default true.
   */
  readonly synthetic?: boolean;
  readonly engines?: readonly BenchEngine[];
  readonly log?: (line: string) => void;
}

export interface EngineFigure {
  readonly ruleset: BenchRuleset;
  readonly engine: BenchEngine;
  readonly threads: number;
  readonly compileMs: number;
  readonly scanMs: number;
  /** CPU time of compile + scan (user + system, all threads). */
  readonly cpuMs: number;
  readonly filesPerSecond: number;
  readonly mbPerSecond: number;
  /** (file, rule) verdicts. */
  readonly verdicts: number;
  /** Set when the engine could not run (then the times are 0). */
  readonly error?: string;
}

export interface EngineRatio {
  readonly ruleset: BenchRuleset;
  /** Scan time of the named engine divided by libyara's (> 1: libyara is faster). */
  readonly scanVsLibyara: Readonly<Partial<Record<BenchEngine, number>>>;
  /** Compile + scan, same division. */
  readonly totalVsLibyara: Readonly<Partial<Record<BenchEngine, number>>>;
  /** CPU time of compile + scan, same division: the steadiest figure on a busy machine. */
  readonly cpuVsLibyara: Readonly<Partial<Record<BenchEngine, number>>>;
  /** True when every engine that ran gave the same (file, rule) verdicts. */
  readonly verdictsAgree: boolean;
}

export interface BenchReport {
  readonly corpus: {
    readonly roots: readonly string[];
    readonly files: number;
    readonly bytes: number;
    readonly syntheticFiles: number;
  };
  readonly threads: number;
  readonly figures: readonly EngineFigure[];
  readonly ratios: readonly EngineRatio[];
}

async function warmCache(files: readonly string[]): Promise<void> {
  const buffer = Buffer.alloc(1 << 20);
  for (const file of files) {
    const handle = await open(file, 'r').catch(() => null);
    if (handle === null) continue;
    try {
      while ((await handle.read(buffer, 0, buffer.length, null)).bytesRead > 0);
    } finally {
      await handle.close();
    }
  }
}

interface EngineRun {
  readonly compileMs: number;
  readonly scanMs: number;
  /** CPU time (user + system) of compile + scan: steadier than wall time on a shared machine. */
  readonly cpuMs: number;
  readonly verdicts: Set<string>;
}

/** Runs a command through bash so its children's CPU time can be read from `times`. */
async function runTimed(
  command: string,
  args: readonly string[],
): Promise<{ stdout: string; cpuMs: number }> {
  const quoted = [command, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const { stdout, stderr } = await run('bash', ['-c', `${quoted}; status=$?; times >&2; exit $status`], {
    maxBuffer: 256 << 20,
  });
  // `times` prints the shell's then its children's user and system times, e.g. "0m1.234s 0m0.050s".
  const lines = stderr.trim().split('\n');
  const children = lines.at(-1) ?? '';
  const cpuMs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, m) => sum + (Number(m[1]) * 60 + Number(m[2])) * 1000,
    0,
  );
  return { stdout, cpuMs };
}

async function scanAll(
  engine: YaraEngine,
  ruleset: Ruleset,
  files: readonly string[],
  threads: number,
): Promise<EngineRun> {
  const cpuStart = process.cpuUsage();
  const compileStart = performance.now();
  const rules = await engine.compile(ruleset.sources);
  const compileMs = performance.now() - compileStart;
  const verdicts = new Set<string>();
  const scanStart = performance.now();
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const file = files[next++]!;
        // Unreadable files (permissions, races) are skipped alike by every engine.
        const matches = await rules.scanFile(file).catch(() => []);
        for (const match of matches) verdicts.add(`${file}\t${match.namespace}:${match.rule}`);
      }
    };
    await Promise.all(Array.from({ length: threads }, worker));
  } finally {
    rules.dispose();
  }
  const cpu = process.cpuUsage(cpuStart);
  return {
    compileMs,
    scanMs: performance.now() - scanStart,
    cpuMs: (cpu.user + cpu.system) / 1000,
    verdicts,
  };
}

/** `yara` takes one rules file: sources are written to one file per namespace, each given as NS:FILE. */
async function scanWithCli(
  ruleset: Ruleset,
  files: readonly string[],
  threads: number,
  dir: string,
): Promise<EngineRun> {
  const ruleArgs: string[] = [];
  for (const [index, source] of ruleset.sources.entries()) {
    const file = join(dir, `rules-${index}.yar`);
    await writeFile(file, source.source);
    ruleArgs.push(`${source.namespace.replace(/[:/]/g, '_')}:${file}`);
  }
  const list = join(dir, 'files.txt');
  await writeFile(list, `${files.join('\n')}\n`);
  // Compile time alone, measured with yarac on the same sources.
  const compileStart = performance.now();
  await run('yarac', ['-w', ...ruleArgs, join(dir, 'compiled.yarc')], { maxBuffer: 16 << 20 });
  const compileMs = performance.now() - compileStart;
  const start = performance.now();
  const { stdout, cpuMs } = await runTimed('yara', [
    '-w',
    '-e',
    '-p',
    String(threads),
    '--scan-list',
    ...ruleArgs,
    list,
  ]);
  const wallMs = performance.now() - start;
  const namespaces = new Map(ruleset.sources.map((s) => [s.namespace.replace(/[:/]/g, '_'), s.namespace]));
  const verdicts = new Set<string>();
  for (const line of stdout.split('\n')) {
    // `-e` prints "namespace:rule file".
    const space = line.indexOf(' ');
    const colon = line.indexOf(':');
    if (space <= 0 || colon <= 0 || colon > space) continue;
    const namespace = line.slice(0, colon);
    verdicts.add(
      `${line.slice(space + 1)}\t${namespaces.get(namespace) ?? namespace}:${line.slice(colon + 1, space)}`,
    );
  }
  return { compileMs, scanMs: Math.max(0, wallMs - compileMs), cpuMs, verdicts };
}

function sameVerdicts(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((v) => b.has(v));
}

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

function ratioText(ratios: Partial<Record<BenchEngine, number>>): string {
  const parts = Object.entries(ratios).map(([engine, ratio]) => `${engine} ${fmt(ratio, 2)}x`);
  return parts.length > 0 ? parts.join(', ') : 'n/a';
}

export async function runYaraEngineBench(options: YaraEngineBenchOptions = {}): Promise<BenchReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const corpusMb = options.corpusMb ?? 600;
  const roots = options.roots ?? ['/usr/lib', '/usr/bin'];
  const threads = Math.max(1, options.threads ?? availableParallelism());
  const engines = options.engines ?? ['libyara', 'yara-x', 'yara-cli'];
  const wanted = options.rulesets ?? ['default', 'public'];

  const corpus = pickSystemFiles(roots, corpusMb * 1024 * 1024, {
    maxFile: (options.maxFileMb ?? 32) * 1024 * 1024,
    maxDepth: 6,
    maxFiles: 100_000,
  });
  log(
    `corpus: ${corpus.files.length} files, ${fmt(corpus.bytes / 1048576)} MiB from ${roots.join(', ')} (bounded at ${corpusMb} MiB); threads ${threads}`,
  );
  const rulesets: { name: BenchRuleset; ruleset: Ruleset }[] = [];
  if (wanted.includes('default'))
    rulesets.push({ name: 'default', ruleset: await loadRulesetFromDirectory(DEFAULT_RULES_DIR) });
  if (wanted.includes('public')) {
    if (existsSync(PUBLIC_RULES)) {
      const { readFile } = await import('node:fs/promises');
      const source = await readFile(PUBLIC_RULES, 'utf8');
      rulesets.push({
        name: 'public',
        ruleset: createRuleset([{ namespace: 'public', source, origin: PUBLIC_RULES }]),
      });
    } else {
      log(`public ruleset skipped: ${PUBLIC_RULES} is absent`);
    }
  }

  const dir = await mkdtemp(join(tmpdir(), 'yara-bench-'));
  const synthetic: string[] = [];
  let syntheticBytes = 0;
  if (options.synthetic ?? true) {
    const publicSource = rulesets.find((r) => r.name === 'public')?.ruleset.sources[0]?.source;
    const blobs = [
      ...defaultRuleSamples().map((sample) => sample.bytes),
      ...(publicSource !== undefined ? ruleStringSoups(publicSource, 16) : []),
    ];
    for (const [index, blob] of blobs.entries()) {
      const file = join(dir, `synthetic-${index}.bin`);
      await writeFile(file, blob);
      synthetic.push(file);
      syntheticBytes += blob.length;
    }
    log(
      `plus ${synthetic.length} built files (${fmt(syntheticBytes / 1048576, 2)} MiB) so that verdicts include matches`,
    );
  }
  const files = [...corpus.files, ...synthetic];
  const bytes = corpus.bytes + syntheticBytes;
  log('warming the page cache...');
  await warmCache(files);

  const figures: EngineFigure[] = [];
  const ratios: EngineRatio[] = [];
  try {
    for (const { name, ruleset } of rulesets) {
      const results = new Map<BenchEngine, EngineRun>();
      for (const engine of engines) {
        log(`[${name}] ${engine}...`);
        try {
          let result;
          if (engine === 'yara-cli') result = await scanWithCli(ruleset, files, threads, dir);
          else if (engine === 'libyara') {
            if (!isLibyaraAvailable()) throw new Error('the libyara addon is not built');
            result = await scanAll(createLibyaraEngine(), ruleset, files, threads);
          } else result = await scanAll(createYaraXEngine(), ruleset, files, threads);
          results.set(engine, result);
          const seconds = result.scanMs / 1000;
          const figure: EngineFigure = {
            ruleset: name,
            engine,
            threads,
            compileMs: Math.round(result.compileMs),
            scanMs: Math.round(result.scanMs),
            cpuMs: Math.round(result.cpuMs),
            filesPerSecond: files.length / seconds,
            mbPerSecond: bytes / 1048576 / seconds,
            verdicts: result.verdicts.size,
          };
          figures.push(figure);
          log(
            `[${name}] ${engine.padEnd(8)} compile ${fmt(figure.compileMs / 1000, 2)} s, scan ${fmt(seconds, 2)} s, ` +
              `${fmt(figure.filesPerSecond, 0)} files/s, ${fmt(figure.mbPerSecond)} MiB/s, cpu ${fmt(figure.cpuMs / 1000, 2)} s, ` +
              `${figure.verdicts} verdicts`,
          );
        } catch (error) {
          const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
          figures.push({
            ruleset: name,
            engine,
            threads,
            compileMs: 0,
            scanMs: 0,
            cpuMs: 0,
            filesPerSecond: 0,
            mbPerSecond: 0,
            verdicts: 0,
            error: message,
          });
          log(`[${name}] ${engine} failed: ${message}`);
        }
      }
      const base = results.get('libyara');
      const scanVsLibyara: Partial<Record<BenchEngine, number>> = {};
      const totalVsLibyara: Partial<Record<BenchEngine, number>> = {};
      const cpuVsLibyara: Partial<Record<BenchEngine, number>> = {};
      if (base !== undefined) {
        for (const [engine, result] of results) {
          scanVsLibyara[engine] = result.scanMs / base.scanMs;
          totalVsLibyara[engine] = (result.compileMs + result.scanMs) / (base.compileMs + base.scanMs);
          cpuVsLibyara[engine] = result.cpuMs / base.cpuMs;
        }
      }
      const all = [...results.values()].map((r) => r.verdicts);
      const verdictsAgree = all.every((v) => sameVerdicts(v, all[0]!));
      ratios.push({ ruleset: name, scanVsLibyara, totalVsLibyara, cpuVsLibyara, verdictsAgree });
      log(
        `[${name}] / libyara: scan ${ratioText(scanVsLibyara)}; compile+scan ${ratioText(totalVsLibyara)}; ` +
          `cpu ${ratioText(cpuVsLibyara)}; verdicts ${verdictsAgree ? 'agree' : 'DIFFER'}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  log(`peak RSS of this process: ${fmt(process.resourceUsage().maxRSS / 1024, 0)} MiB`);
  return {
    corpus: { roots, files: files.length, bytes, syntheticFiles: synthetic.length },
    threads,
    figures,
    ratios,
  };
}

function argValue(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const corpusMb = argValue(args, '--corpus-mb');
  const threads = argValue(args, '--threads');
  const rules = argValue(args, '--rules');
  const engines = argValue(args, '--engines');
  await runYaraEngineBench({
    ...(corpusMb !== undefined ? { corpusMb: Number(corpusMb) } : {}),
    ...(threads !== undefined ? { threads: Number(threads) } : {}),
    ...(rules !== undefined ? { rulesets: rules.split(',') as BenchRuleset[] } : {}),
    ...(engines !== undefined ? { engines: engines.split(',') as BenchEngine[] } : {}),
  });
}
