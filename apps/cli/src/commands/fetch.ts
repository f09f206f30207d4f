import type { Command } from 'commander';
import { AppError } from '@malpipe/core';
import type { ApiClient, HashEntry, HashRequest } from '@malpipe/api-client';
import type { Platform } from '@malpipe/server/compose';
import { callApi, createCliClient } from '../cli-config.js';

interface FetchOptions {
  readonly server?: string;
  readonly token?: string;
  readonly local?: boolean;
  readonly data?: string;
  readonly wait?: boolean;
  readonly timeout: string;
  readonly json?: boolean;
}

/** States after which nothing more happens to a hash request (`fetched` still has its analysis ahead). */
const FINAL_STATES: ReadonlySet<string> = new Set(['analysed', 'not-found', 'failed']);
const POLL_MS = 500;

/**
 * `malpipe fetch HASH...`: fetch samples by MD5/SHA-1/SHA-256 from the configured sources (VirusTotal,
 * MalwareBazaar) and analyse them, through a server or, with `--local`, in this process on a local data
 * directory (which keeps the rate-limit budget and the not-found cache between runs).
 */
export function registerFetch(program: Command): void {
  program
    .command('fetch')
    .description('Fetch samples by hash from VirusTotal / MalwareBazaar and analyse them')
    .argument('<hashes...>', 'MD5, SHA-1 or SHA-256 values (or "-" to read hashes from stdin)')
    .option('--server <url>', 'server URL (default: $MALPIPE_SERVER or http://127.0.0.1:8787)')
    .option('--token <token>', 'API token (default: $MALPIPE_TOKEN)')
    .option(
      '--local',
      'fetch and analyse in this process (sources configured by MALPIPE_VT_API_KEY, MALPIPE_MB_API_KEY...)',
    )
    .option('--data <dir>', 'with --local: the data directory (default: $MALPIPE_DATA_DIR or ./malpipe-data)')
    .option('--wait', 'wait until every hash is analysed, not found or failed (always on with --local)')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds', '900')
    .option('--json', 'print JSON')
    .action(async (args: string[], options: FetchOptions) => {
      const timeoutMs = Number(options.timeout) * 1000;
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
        throw new AppError('VALIDATION_FAILED', '--timeout must be a positive number of seconds');
      const input = args.includes('-') ? { text: await readStdin() } : { hashes: args };
      const requests =
        options.local === true
          ? await fetchLocally(input, options, timeoutMs)
          : await fetchThroughServer(input, options, timeoutMs);
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(requests, null, 2)}\n`);
      } else {
        for (const r of requests) {
          const detail = 'errorMessage' in r && r.errorMessage !== null ? `  ${r.errorMessage}` : '';
          process.stdout.write(
            `${r.hash}  ${r.state.padEnd(9)}  ${r.sha256 ?? '-'}  request ${r.id}${detail}\n`,
          );
        }
      }
      if (requests.some((r) => r.state === 'failed' || r.state === 'not-found')) process.exitCode = 1;
    });
}

type Shown = HashEntry | HashRequest;

async function fetchThroughServer(
  input: { hashes: string[] } | { text: string },
  options: FetchOptions,
  timeoutMs: number,
): Promise<Shown[]> {
  const client = createCliClient(options);
  const entries = await callApi(() => client.submitHashes(input));
  if (options.wait !== true) return entries;
  return waitFor((id) => callApi(() => client.getHashRequest(id)), entries, timeoutMs);
}

async function fetchLocally(
  input: { hashes: string[] } | { text: string },
  options: FetchOptions,
  timeoutMs: number,
): Promise<Shown[]> {
  // Loaded on use, so other commands (and --help) start without the pipeline.
  const { loadConfig } = await import('@malpipe/server/config');
  const { createPlatform, recoverPlatform, startWorkers } = await import('@malpipe/server/compose');
  const { getHashRequest, submitHashes } = await import('@malpipe/server/hashes/submit-hashes');
  const config = loadConfig({
    MALPIPE_LOG_LEVEL: 'warn',
    ...process.env,
    ...(options.data === undefined ? {} : { MALPIPE_DATA_DIR: options.data }),
    MALPIPE_ROLES: 'worker',
  });
  if (config.sources.virustotal.apiKey === null && config.sources.malwarebazaar.apiKey === null) {
    throw new AppError(
      'CONFIG_INVALID',
      'no sample source configured: set MALPIPE_VT_API_KEY and/or MALPIPE_MB_API_KEY',
    );
  }
  const platform: Platform = await createPlatform(config, { logToStderr: true });
  try {
    // Requests an earlier run left open are resumed (a resubmitted hash reuses its open request).
    await recoverPlatform(platform);
    await startWorkers(platform);
    const entries = await submitHashes(platform.db, {
      ...input,
      requestedBy: 'cli',
      fetchQueue: platform.httpServices.fetchQueue,
    });
    return await waitFor((id) => getHashRequest(platform.db, id), entries, timeoutMs);
  } finally {
    await platform.close();
  }
}

async function waitFor(
  get: ApiClient['getHashRequest'],
  entries: readonly HashEntry[],
  timeoutMs: number,
): Promise<Shown[]> {
  const deadline = Date.now() + timeoutMs;
  const latest = new Map<string, Shown>(entries.map((e) => [e.id, e]));
  for (;;) {
    for (const [id, entry] of latest) {
      if (!FINAL_STATES.has(entry.state)) latest.set(id, await get(id));
    }
    if ([...latest.values()].every((e) => FINAL_STATES.has(e.state))) return [...latest.values()];
    if (Date.now() >= deadline) {
      const pending = [...latest.values()].filter((e) => !FINAL_STATES.has(e.state));
      process.stderr.write(
        `malpipe: ${pending.length} hash(es) still pending after ${Math.round(timeoutMs / 1000)} s (quota waits continue on the server)\n`,
      );
      return [...latest.values()];
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
