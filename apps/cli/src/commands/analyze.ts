import { lstat, mkdtemp, readdir, realpath, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { SampleReport } from '@malpipe/api-client';
import { AppError, toAppError } from '@malpipe/core';
import type { Analysis } from '@malpipe/server/analyses/analysis-repository';
import type { Platform } from '@malpipe/server/compose';

interface AnalyzeOptions {
  readonly json?: boolean;
  readonly force?: boolean;
  readonly password: string[];
  readonly data?: string;
}

/** One line of `--json` output: a submitted file or a child found inside one. */
export interface AnalyzeLine {
  /** The file as given on the command line (or found under a directory); null for children. */
  readonly path: string | null;
  /** SHA-256 of the parent sample for children. */
  readonly parent: string | null;
  readonly analysisId: string | null;
  readonly state: string;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly report: SampleReport | null;
}

const MAX_FILES = 1_000_000;
const MAX_DIR_DEPTH = 64;
const POLL_MS = 100;
const SUBMIT_CONCURRENCY = 2;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Regular files under the given paths, recursively and in a stable order. Symbolic links are followed only
 * when they resolve inside one of the given roots (a link to /etc in a sample folder is not an invitation);
 * directory cycles are cut; counts and depth are bounded.
 */
export async function findFiles(paths: readonly string[]): Promise<{ files: string[]; skipped: string[] }> {
  const files: string[] = [];
  const skipped: string[] = [];
  const roots = await Promise.all(
    paths.map(async (p) => {
      try {
        return await realpath(p);
      } catch (error) {
        throw new AppError('NOT_FOUND', `cannot read ${p}`, { cause: error });
      }
    }),
  );
  const visited = new Set<string>();
  const add = (file: string): void => {
    if (files.length >= MAX_FILES) throw new AppError('LIMIT_EXCEEDED', `more than ${MAX_FILES} files to analyse`);
    files.push(file);
  };
  const walk = async (dir: string, real: string, depth: number): Promise<void> => {
    if (visited.has(real)) return;
    visited.add(real);
    if (depth > MAX_DIR_DEPTH) {
      skipped.push(`${dir} (deeper than ${MAX_DIR_DEPTH} levels)`);
      return;
    }
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        const target = await realpath(full).catch(() => null);
        if (target === null || !roots.some((root) => isInside(root, target))) {
          skipped.push(`${full} (link outside the given paths)`);
          continue;
        }
        const info = await stat(target);
        if (info.isFile()) add(full);
        else if (info.isDirectory()) await walk(full, target, depth + 1);
      } else if (entry.isDirectory()) {
        await walk(full, join(real, entry.name), depth + 1);
      } else if (entry.isFile()) {
        add(full);
      } else {
        skipped.push(`${full} (not a regular file)`);
      }
    }
  };
  for (const [index, p] of paths.entries()) {
    const info = await lstat(p);
    const real = roots[index] ?? p;
    const target = info.isSymbolicLink() ? await stat(real) : info;
    if (target.isFile()) add(p);
    else if (target.isDirectory()) await walk(p, real, 0);
    else skipped.push(`${p} (not a regular file)`);
  }
  return { files, skipped };
}

async function countAnalyses(platform: Platform, since: string): Promise<{ total: number; pending: number }> {
  const rows = await platform.db
    .selectFrom('analyses')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('created_at', '>=', since)
    .groupBy('state')
    .execute();
  let total = 0;
  let pending = 0;
  for (const row of rows) {
    total += Number(row.n);
    if (row.state === 'queued' || row.state === 'running') pending += Number(row.n);
  }
  return { total, pending };
}

function summaryLine(line: AnalyzeLine, depth: number): string {
  const indent = '  '.repeat(depth);
  if (line.report === null) return `${indent}${line.state.padEnd(9)} ${line.path ?? '?'}: ${line.error?.code ?? ''} ${line.error?.message ?? ''}`;
  const { sample, yaraMatches, indicators, results, relations } = line.report;
  const name = line.path ?? relations.parents.find((p) => p.sha256 === line.parent)?.detail ?? line.report.names[0] ?? '';
  const parts = [`${indent}${line.state.padEnd(9)} ${sample.sha256}  ${sample.fileType.description}  ${name}`];
  if (yaraMatches.length > 0) parts.push(`yara: ${[...new Set(yaraMatches.map((m) => m.rule))].join(', ')}`);
  if (indicators.length > 0) parts.push(`indicators: ${indicators.length}`);
  const errors = results.filter((r) => r.status === 'error');
  if (errors.length > 0) parts.push(`errors: ${errors.map((r) => `${r.analyzer}:${r.errorCode ?? '?'}`).join(', ')}`);
  // Truncated or damaged files still complete; their analysers say what they could not read.
  const warned = results.filter((r) => r.warnings.length > 0);
  if (warned.length > 0)
    parts.push(`warnings: ${warned.map((r) => `${r.analyzer} (${r.warnings[0] ?? ''}${r.warnings.length > 1 ? `, +${r.warnings.length - 1}` : ''})`).join(', ')}`);
  return parts.join(' | ');
}

/** `malpipe analyze PATH...`: a one-shot local analysis on an embedded platform, no server needed. */
export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .description('Analyse files and directories locally (no server): archives are expanded, every sample gets a report')
    .argument('<paths...>', 'files or directories (recursively)')
    .option('--json', 'print one JSON report per sample per line (NDJSON), children included')
    .option('--force', 'rerun every analyser even when --data holds cached results')
    .option('--password <password>', 'archive password to try (repeatable; default: infected)', collect, [])
    .option('--data <dir>', 'keep the database and samples in this directory (default: a temp dir, deleted afterwards)')
    .action(async (paths: string[], options: AnalyzeOptions) => {
      // Loaded on use, so other commands start without the pipeline.
      const { loadConfig } = await import('@malpipe/server/config');
      const { createPlatform, startWorkers } = await import('@malpipe/server/compose');
      const { listAnalysesOfRoot } = await import('@malpipe/server/analyses/analysis-repository');
      const { getSampleReport } = await import('@malpipe/server/analyses/get-sample-report');
      const { files, skipped } = await findFiles(paths.map((p) => resolve(p)));
      for (const reason of skipped) process.stderr.write(`malpipe: skipped ${reason}\n`);
      const dataDir = options.data ?? (await mkdtemp(join(tmpdir(), 'malpipe-analyze-')));
      // Flags and defaults for a one-shot run; the environment still wins for everything else.
      const cores = availableParallelism();
      // Two analyses in flight per sandbox child: while a child analyses one sample, this process stores the
      // results of another and prepares the next, so the children never wait for it.
      const concurrency =
        process.env.MALPIPE_WORKER_CONCURRENCY === undefined ? { MALPIPE_WORKER_CONCURRENCY: String(2 * cores), MALPIPE_SANDBOX_PROCESSES: String(cores) } : {};
      const config = loadConfig({
        MALPIPE_LOG_LEVEL: 'warn',
        ...concurrency,
        ...process.env,
        MALPIPE_DATA_DIR: dataDir,
        MALPIPE_ROLES: 'worker',
      });
      const platform = await createPlatform(config, { logToStderr: true });
      let failed = 0;
      const bar = process.stderr.isTTY
        ? new SingleBar({ stream: process.stderr, format: 'analysing [{bar}] {value}/{total} samples | {eta_formatted} left', hideCursor: true }, Presets.shades_classic)
        : null;
      // Interrupted: stop the sandbox children and remove the temp data dir rather than leave them behind.
      const interrupt = (signal: NodeJS.Signals): void => {
        bar?.stop();
        process.stderr.write(`malpipe: ${signal}, stopping\n`);
        process.once(signal, () => process.exit(130));
        void platform
          .close()
          .then(() => (options.data === undefined ? rm(dataDir, { recursive: true, force: true }) : undefined))
          .finally(() => process.exit(130));
      };
      process.once('SIGINT', interrupt);
      process.once('SIGTERM', interrupt);
      try {
        await startWorkers(platform);
        const since = new Date(Date.now() - 1).toISOString();
        bar?.start(files.length, 0);
        const roots: { path: string; analysisId: string | null; error: AppError | null }[] = [];
        // A few submissions in flight: one hashes while another waits for its object's fsync. Largest files
        // first, so the run does not end with one core on a big file while the other idles; output order is kept.
        const sizes = await Promise.all(files.map((file) => stat(file).then((info) => info.size, () => 0)));
        const order = files.map((_, index) => index).sort((a, b) => (sizes[b] ?? 0) - (sizes[a] ?? 0) || a - b);
        let next = 0;
        const submitNext = async (): Promise<void> => {
          for (let position = next++; position < order.length; position = next++) {
            const index = order[position] as number;
            const file = files[index] as string;
            try {
              const submitted = await platform.services.submitSample({
                content: { path: file },
                fileName: basename(file),
                source: 'cli',
                ...(options.password.length > 0 ? { archivePasswords: options.password } : {}),
                force: options.force === true,
                requestedBy: 'cli',
              });
              roots[index] = { path: file, analysisId: submitted.analysisId, error: null };
            } catch (error) {
              roots[index] = { path: file, analysisId: null, error: toAppError(error) };
            }
          }
        };
        await Promise.all(Array.from({ length: SUBMIT_CONCURRENCY }, submitNext));
        for (;;) {
          const { total, pending } = await countAnalyses(platform, since);
          bar?.setTotal(Math.max(total, 1));
          bar?.update(total - pending);
          if (pending === 0) break;
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
        bar?.stop();

        for (const root of roots) {
          if (root.analysisId === null || root.error !== null) {
            failed++;
            const line: AnalyzeLine = {
              path: root.path,
              parent: null,
              analysisId: null,
              state: 'rejected',
              error: { code: root.error?.code ?? 'INTERNAL', message: root.error?.message ?? '' },
              report: null,
            };
            process.stdout.write(options.json === true ? `${JSON.stringify(line)}\n` : `${summaryLine(line, 0)}\n`);
            continue;
          }
          const tree = await listAnalysesOfRoot(platform.db, root.analysisId);
          const byId = new Map<string, Analysis>(tree.map((a) => [a.id, a]));
          for (const analysis of tree) {
            if (analysis.state === 'failed') failed++;
            const parent = analysis.parentId === null ? null : (byId.get(analysis.parentId)?.sha256 ?? null);
            const line: AnalyzeLine = {
              path: analysis.parentId === null ? root.path : null,
              parent,
              analysisId: analysis.id,
              state: analysis.state,
              error: analysis.errorCode === null ? null : { code: analysis.errorCode, message: analysis.errorMessage ?? '' },
              // The text summary shows statuses and warnings only: the result documents are left unread.
              report: await getSampleReport(platform.db, analysis.sha256, { resultBodies: options.json === true }),
            };
            process.stdout.write(options.json === true ? `${JSON.stringify(line)}\n` : `${summaryLine(line, analysis.depth)}\n`);
          }
        }
      } finally {
        process.off('SIGINT', interrupt);
        process.off('SIGTERM', interrupt);
        bar?.stop();
        await platform.close();
        if (options.data === undefined) await rm(dataDir, { recursive: true, force: true });
      }
      if (failed > 0) {
        process.stderr.write(`malpipe: ${failed} sample(s) could not be analysed\n`);
        process.exitCode = 1;
      }
    });
}
