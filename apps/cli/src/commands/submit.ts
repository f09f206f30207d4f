import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { AppError } from '@malpipe/core';
import type { AnalysisStatus, ApiClient, SubmittedSample } from '@malpipe/api-client';
import { callApi, collect, createCliClient } from '../cli-config.js';

const POLL_INTERVAL_MS = 1_000;
const FINISHED_STATES: ReadonlySet<string> = new Set(['completed', 'failed']);

interface SubmitOptions {
  readonly server?: string;
  readonly token?: string;
  readonly tag: string[];
  readonly password: string[];
  readonly force?: boolean;
  readonly wait?: boolean;
  readonly timeout: string;
  readonly json?: boolean;
}

/** `malpipe submit FILE...`: uploads files to a server (one request per file, so memory stays bounded). */
export function registerSubmit(program: Command): void {
  program
    .command('submit')
    .description('Submit files to a malpipe server for analysis')
    .argument('<files...>', 'files to submit')
    .option('--server <url>', 'server URL (default: $MALPIPE_SERVER or http://127.0.0.1:8787)')
    .option('--token <token>', 'API token (default: $MALPIPE_TOKEN)')
    .option('--tag <tag>', 'tag the samples (repeatable)', collect, [])
    .option('--password <password>', 'archive password to try (repeatable)', collect, [])
    .option('--force', 'analyse again even when a report exists')
    .option('--wait', 'wait until every analysis has finished')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds', '600')
    .option('--json', 'print JSON')
    .action(async (files: string[], options: SubmitOptions) => {
      const client = createCliClient(options);
      const submitted: SubmittedSample[] = [];
      for (const file of files) {
        const info = await stat(file).catch((error: unknown) => {
          throw new AppError('NOT_FOUND', `cannot read ${file}`, { cause: error });
        });
        if (!info.isFile())
          throw new AppError(
            'UNSUPPORTED_INPUT',
            `${file} is not a regular file (submit files, e.g. ${file.replace(/\/+$/, '')}/*; or zip the directory)`,
          );
        const data = await readFile(file);
        const [sample] = await callApi(() =>
          client.submitSamples([{ name: basename(file), data }], {
            tags: options.tag,
            passwords: options.password,
            force: options.force === true,
          }),
        );
        if (sample === undefined)
          throw new AppError('UPSTREAM_FAILED', `the server accepted ${file} but returned no sample`);
        submitted.push(sample);
        if (options.json !== true) {
          process.stdout.write(
            `${sample.sha256}  ${sample.isNewSample ? 'new  ' : 'known'}  analysis ${sample.analysisId}  ${sample.fileName}\n`,
          );
        }
      }
      if (options.wait !== true) {
        if (options.json === true) process.stdout.write(`${JSON.stringify(submitted, null, 2)}\n`);
        return;
      }
      const timeoutMs = Number(options.timeout) * 1000;
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
        throw new AppError('VALIDATION_FAILED', '--timeout must be a positive number of seconds');
      const finished = await waitForAnalyses(
        client,
        submitted.map((s) => s.analysisId),
        timeoutMs,
      );
      if (options.json === true) {
        process.stdout.write(
          `${JSON.stringify(
            submitted.map((s, i) => ({ ...s, analysis: finished[i] })),
            null,
            2,
          )}\n`,
        );
      } else {
        for (const analysis of finished) {
          const error =
            analysis.errorCode === null ? '' : `  ${analysis.errorCode}: ${analysis.errorMessage ?? ''}`;
          process.stdout.write(
            `${analysis.sha256}  ${analysis.state}  ${analysis.results.length} result(s)${error}\n`,
          );
          // e.g. an archive whose password was wrong: say so here rather than only in the report.
          for (const result of analysis.results)
            for (const warning of result.warnings) process.stderr.write(`  warning ${result.analyzer}: ${warning}\n`);
        }
      }
      if (finished.some((a) => a.state === 'failed')) process.exitCode = 1;
    });
}

async function waitForAnalyses(
  client: ApiClient,
  ids: readonly string[],
  timeoutMs: number,
): Promise<AnalysisStatus[]> {
  const deadline = Date.now() + timeoutMs;
  const done = new Map<string, AnalysisStatus>();
  for (;;) {
    for (const id of ids) {
      if (done.has(id)) continue;
      const analysis = await callApi(() => client.getAnalysis(id));
      if (FINISHED_STATES.has(analysis.state)) done.set(id, analysis);
    }
    if (done.size === ids.length) return ids.map((id) => done.get(id) as AnalysisStatus);
    if (Date.now() >= deadline) {
      throw new AppError(
        'ANALYZER_TIMEOUT',
        `${ids.length - done.size} analysis(es) still running after ${Math.round(timeoutMs / 1000)} s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
