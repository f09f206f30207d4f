/**
 * Pipeline benchmark, side by side with references (ratios, not absolute times, are the point):
 *  (a) `malpipe analyze` over a corpus of system files vs `yara -r` (scan list) with the same rules: the
 *      default ruleset and, when present, ../shared/corpus/yara/public-rules.yar; plus the "hash floor": the
 *      required hashes alone computed by the reference tools on the same files (hash-floor.ts);
 *  (b) N small distinct samples through the HTTP API of `malpipe serve` until analysed vs `malpipe analyze`
 *      on the same files;
 *  (c) peak RSS of the serve process (and of its sandbox children) during (b).
 * Run: `node apps/cli/bin/run-ts.js bench/pipeline.ts [--corpus-mb 500] [--small 2000] [--skip-a] [--skip-b] [--skip-hash-floor]`.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { createApiClient } from '@malpipe/api-client';
import { measureHashFloor } from './hash-floor.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'apps/cli/bin/malpipe.js');
const DEFAULT_RULES = join(ROOT, 'rules/default');
const PUBLIC_RULES = resolve(ROOT, '../shared/corpus/yara/public-rules.yar');

export interface PipelineBenchOptions {
  /** Corpus size for (a), in MiB. Default 500. */
  readonly corpusMb?: number;
  /** Folders the (a) corpus is drawn from. */
  readonly corpusRoots?: readonly string[];
  /** Number of small samples for (b). Default 2000. */
  readonly smallSamples?: number;
  readonly skipCorpus?: boolean;
  /** Skips timing the reference hash tools on the (a) corpus. */
  readonly skipHashFloor?: boolean;
  readonly skipSmall?: boolean;
  readonly log?: (line: string) => void;
}

export interface CorpusFigure {
  readonly rules: string;
  readonly files: number;
  readonly bytes: number;
  readonly malpipeMs: number;
  readonly yaraMs: number;
  /** malpipe / yara wall time. */
  readonly ratio: number;
  /** Wall time of the required hashes alone with the reference tools (see hash-floor.ts); null when not measured. */
  readonly hashFloorMs: number | null;
}

export interface SmallFigure {
  readonly samples: number;
  readonly apiMs: number;
  readonly analyzeMs: number;
  /** API / analyze wall time. */
  readonly ratio: number;
  readonly servePeakRssMb: number;
  readonly serveTreePeakRssMb: number;
}

export interface PipelineBenchResult {
  readonly corpus: readonly CorpusFigure[];
  readonly small: SmallFigure | null;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; code: number; stderr: string }> {
  const started = performance.now();
  return new Promise((resolveRun) => {
    execFile(command, [...args], { env, maxBuffer: 1024 * 1024 * 1024 }, (error, _stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolveRun({ ms: performance.now() - started, code, stderr: stderr.slice(-2000) });
    });
  });
}

/** Regular files (no links) under `roots`, smallest folders first, until `limitBytes`; each under 200 MB. */
async function collectCorpus(roots: readonly string[], limitBytes: number): Promise<{ files: string[]; bytes: number }> {
  const files: string[] = [];
  let bytes = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (bytes >= limitBytes || depth > 6) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (bytes >= limitBytes) return;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, depth + 1);
      else if (entry.isFile()) {
        const info = await lstat(full);
        if (info.size === 0 || info.size > 200 * 1024 * 1024) continue;
        try {
          await readFile(full, { flag: 'r' }).then(() => undefined);
        } catch {
          continue; // unreadable for this user
        }
        files.push(full);
        bytes += info.size;
      }
    }
  };
  for (const root of roots) await walk(root, 0);
  return { files, bytes };
}

async function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status);
  return match?.[1] === undefined ? 0 : Number(match[1]) / 1024;
}

/** RSS of a process and its descendants (Linux /proc). */
async function treeRssMb(pid: number): Promise<number> {
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).split(/\s+/).filter((s) => s !== '').map(Number);
  let total = await rssMb(pid, 'VmRSS');
  for (const child of children) total += await treeRssMb(child);
  return total;
}

/** Where malpipe's time went: summed analyser durations, largest first. */
function analyzerSeconds(dbFile: string): string {
  if (!existsSync(dbFile)) return 'n/a';
  const db = new BetterSqlite3(dbFile, { readonly: true });
  try {
    const rows = db.prepare('select analyzer, sum(duration_ms) as ms from analysis_results group by analyzer order by ms desc').all() as { analyzer: string; ms: number }[];
    return rows.map((r) => `${r.analyzer} ${(r.ms / 1000).toFixed(1)} s`).join(', ');
  } finally {
    db.close();
  }
}

async function benchCorpus(options: PipelineBenchOptions, work: string, log: (line: string) => void): Promise<CorpusFigure[]> {
  const limit = (options.corpusMb ?? 500) * 1024 * 1024;
  const { files, bytes } = await collectCorpus(options.corpusRoots ?? ['/usr/lib/x86_64-linux-gnu', '/usr/lib', '/usr/bin'], limit);
  log(`(a) corpus: ${files.length} files, ${(bytes / 1048576).toFixed(0)} MiB`);
  const list = join(work, 'corpus.txt');
  await writeFile(list, `${files.join('\n')}\n`);

  const rulesets: { name: string; dir: string; files: string[] }[] = [];
  const defaultFiles = (await readdir(DEFAULT_RULES)).filter((f) => /\.yara?$/.test(f)).map((f) => join(DEFAULT_RULES, f));
  rulesets.push({ name: 'default', dir: DEFAULT_RULES, files: defaultFiles });
  if (existsSync(PUBLIC_RULES)) {
    // The ruleset loader refuses links leaving its folder, so the public rules get a folder of their own (temp, outside the repo).
    const dir = join(work, 'public-rules');
    await mkdir(dir, { recursive: true });
    await copyFile(PUBLIC_RULES, join(dir, 'public-rules.yar'));
    rulesets.push({ name: 'public-rules.yar', dir, files: [join(dir, 'public-rules.yar')] });
  } else {
    log(`(a) skipped the public ruleset: ${PUBLIC_RULES} not found`);
  }

  // The first run after a source change builds the CLI bundle (apps/cli/bin/bundle.js): not part of the figures.
  await run(process.execPath, [CLI, '--help']);
  const startups: number[] = [];
  for (let i = 0; i < 3; i++) startups.push((await run(process.execPath, [CLI, '--help'])).ms);
  log(`(a) start-up: malpipe --help ${Math.min(...startups).toFixed(0)} ms (best of 3)`);

  // What the required hashes alone cost with the reference tools: no pipeline can go below this.
  const sized = await Promise.all(files.map(async (path) => ({ path, size: (await lstat(path)).size })));
  const floor = options.skipHashFloor === true ? null : await measureHashFloor(sized);
  if (floor !== null) {
    const parts = floor.parts.map((p) => `${p.name} ${p.ms === null ? p.note : `${(p.ms / 1000).toFixed(1)} s`}`).join(', ');
    log(`(a) hash floor (reference tools, one process per core): ${(floor.totalMs / 1000).toFixed(1)} s = ${parts}`);
  }

  const figures: CorpusFigure[] = [];
  for (const rules of rulesets) {
    const yara = await run('yara', ['-w', '--scan-list', ...rules.files, list]);
    if (yara.code > 1) log(`(a) yara exited ${yara.code}: ${yara.stderr}`);
    const data = await mkdtemp(join(work, 'analyze-'));
    // The file list goes in chunks through one `analyze` run per chunk would add start-up costs: pass all.
    const malpipe = await run(process.execPath, [CLI, 'analyze', '--json', '--data', data, ...files], {
      ...process.env,
      MALPIPE_RULES_DIR: rules.dir,
      MALPIPE_LOG_LEVEL: 'error',
    });
    if (malpipe.code !== 0) log(`(a) malpipe analyze exited ${malpipe.code}: ${malpipe.stderr}`);
    const breakdown = analyzerSeconds(join(data, 'malpipe.db'));
    await rm(data, { recursive: true, force: true });
    const figure: CorpusFigure = {
      rules: rules.name,
      files: files.length,
      bytes,
      malpipeMs: malpipe.ms,
      yaraMs: yara.ms,
      ratio: malpipe.ms / yara.ms,
      hashFloorMs: floor?.totalMs ?? null,
    };
    log(`(a) ${rules.name}: malpipe analyze ${(figure.malpipeMs / 1000).toFixed(1)} s, yara ${(figure.yaraMs / 1000).toFixed(1)} s, ratio ${figure.ratio.toFixed(1)}x`);
    if (floor !== null) log(`(a)   hash floor / yara: ${(floor.totalMs / yara.ms).toFixed(1)}x; malpipe analyze / hash floor: ${(malpipe.ms / floor.totalMs).toFixed(2)}x`);
    log(`(a)   analyser CPU in sandbox children: ${breakdown}`);
    figures.push(figure);
  }
  return figures;
}

async function benchSmall(options: PipelineBenchOptions, work: string, log: (line: string) => void): Promise<SmallFigure> {
  const count = options.smallSamples ?? 2000;
  const dir = join(work, 'small');
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = join(dir, `s${i}.txt`);
    await writeFile(file, `sample ${i} ${randomBytes(16).toString('hex')} http://host-${i}.example-c2.top/p 10.${i % 250}.1.2\n${'x'.repeat(512)}`);
    files.push(file);
  }

  const token = `mp_${randomBytes(24).toString('hex')}`;
  const data = await mkdtemp(join(work, 'serve-'));
  const server = spawn(process.execPath, [CLI, 'serve', '--data', data, '--port', '0'], {
    env: { ...process.env, MALPIPE_ADMIN_TOKEN: token, MALPIPE_LOG_LEVEL: 'error', MALPIPE_RATE_LIMIT_PER_MINUTE: '1000000' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let peakTree = 0;
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      let stderr = '';
      server.stderr.setEncoding('utf8');
      server.stderr.on('data', (text: string) => {
        stderr += text;
        const match = /serving on (http:\/\/\S+)/.exec(stderr);
        if (match?.[1] !== undefined) resolveUrl(match[1]);
      });
      server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    const pid = server.pid ?? 0;
    const sampler = setInterval(() => {
      void treeRssMb(pid).then((mb) => {
        peakTree = Math.max(peakTree, mb);
      });
    }, 250);
    const client = createApiClient({ baseUrl: url, token });
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < files.length) {
          const file = files[next++];
          if (file === undefined) break;
          await client.submitSamples([{ name: file.slice(dir.length + 1), data: await readFile(file) }]);
        }
      }),
    );
    const db = new BetterSqlite3(join(data, 'malpipe.db'), { readonly: true });
    const pending = db.prepare("select count(*) as n from analyses where state in ('queued', 'running')");
    while ((pending.get() as { n: number }).n > 0) await new Promise((r) => setTimeout(r, 100));
    const apiMs = performance.now() - started;
    db.close();
    clearInterval(sampler);
    const servePeak = await rssMb(pid, 'VmHWM');

    const analyzeData = await mkdtemp(join(work, 'analyze-small-'));
    const analyze = await run(process.execPath, [CLI, 'analyze', '--json', '--data', analyzeData, dir], { ...process.env, MALPIPE_LOG_LEVEL: 'error' });
    if (analyze.code !== 0) log(`(b) malpipe analyze exited ${analyze.code}: ${analyze.stderr}`);
    const figure: SmallFigure = {
      samples: count,
      apiMs,
      analyzeMs: analyze.ms,
      ratio: apiMs / analyze.ms,
      servePeakRssMb: servePeak,
      serveTreePeakRssMb: peakTree,
    };
    log(
      `(b) ${count} samples: HTTP API ${(apiMs / 1000).toFixed(1)} s (${((count / apiMs) * 1000).toFixed(0)}/s), ` +
        `malpipe analyze ${(analyze.ms / 1000).toFixed(1)} s, ratio ${figure.ratio.toFixed(2)}x`,
    );
    log(`(c) serve peak RSS ${servePeak.toFixed(0)} MB (process), ${peakTree.toFixed(0)} MB (with sandbox children, sampled)`);
    return figure;
  } finally {
    try {
      if (server.pid !== undefined) process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

export async function runPipelineBench(options: PipelineBenchOptions = {}): Promise<PipelineBenchResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const work = await mkdtemp(join(tmpdir(), 'malpipe-bench-'));
  try {
    const corpus = options.skipCorpus === true ? [] : await benchCorpus(options, work, log);
    const small = options.skipSmall === true ? null : await benchSmall(options, work, log);
    return { corpus, small };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const value = (flag: string): number | undefined => {
    const index = args.indexOf(flag);
    return index >= 0 && args[index + 1] !== undefined ? Number(args[index + 1]) : undefined;
  };
  const corpusMb = value('--corpus-mb');
  const smallSamples = value('--small');
  await runPipelineBench({
    ...(corpusMb === undefined ? {} : { corpusMb }),
    ...(smallSamples === undefined ? {} : { smallSamples }),
    skipCorpus: args.includes('--skip-a'),
    skipHashFloor: args.includes('--skip-hash-floor'),
    skipSmall: args.includes('--skip-b'),
  });
}
