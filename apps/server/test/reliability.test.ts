import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiClient, type ApiClient } from '@malpipe/api-client';
// Test-only fixture builder of the analysers package (not part of its public exports).
import { buildPe } from '../../../packages/analyzers/test/builders/build-pe.js';

const CLI = fileURLToPath(new URL('../../cli/bin/malpipe.js', import.meta.url));
const ADMIN_TOKEN = `mp_${randomBytes(24).toString('hex')}`;
const SAMPLE_COUNT = 50;

interface Server {
  readonly process: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
}

/** Starts `malpipe serve` as a real process group and waits for its URL on stderr. */
async function startServer(dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, [CLI, 'serve', '--data', dataDir, '--port', '0'], {
    env: {
      ...process.env,
      MALPIPE_ADMIN_TOKEN: ADMIN_TOKEN,
      MALPIPE_LOG_LEVEL: 'warn',
      MALPIPE_WORKER_CONCURRENCY: '2',
      MALPIPE_RATE_LIMIT_PER_MINUTE: '100000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  let stderr = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time: ${stderr}`)), 60_000);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      stderr += text;
      const match = /serving on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening: ${stderr}`));
    });
  });
  return { process: child, url, exited };
}

function killGroup(server: Server | null, signal: NodeJS.Signals): void {
  if (server?.process.pid === undefined) return;
  try {
    process.kill(-server.process.pid, signal);
  } catch {
    // Already gone.
  }
}

function makeSamples(): { name: string; data: Uint8Array }[] {
  return Array.from({ length: SAMPLE_COUNT }, (_, i) => {
    if (i % 5 === 0) {
      const data = buildPe({
        sections: [{ name: '.text', data: new Uint8Array([0xc3, ...randomBytes(256)]) }],
        imports: [{ dll: 'kernel32.dll', functions: ['VirtualAlloc'] }],
      });
      return { name: `sample-${i}.exe`, data };
    }
    const text = `sample ${i} ${randomBytes(8).toString('hex')}\nC2 http://c2-${i}.badhost.top/gate and 45.77.${i}.9\n${'filler '.repeat(2000)}`;
    return { name: `sample-${i}.txt`, data: new TextEncoder().encode(text) };
  });
}

function openDb(dataDir: string): BetterSqlite3.Database {
  return new BetterSqlite3(join(dataDir, 'malpipe.db'), { readonly: true, fileMustExist: true });
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('reliability: kill -9 while analysing', () => {
  let dataDir = '';
  let server: Server | null = null;
  afterAll(async () => {
    killGroup(server, 'SIGKILL');
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  it('loses no accepted sample and duplicates nothing across a crash and restart', { timeout: 150_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'malpipe-reliability-'));
    const samples = makeSamples();
    const accepted = new Map<string, { sha256: string; analysisId: string }>();
    const submit = async (client: ApiClient, sample: { name: string; data: Uint8Array }): Promise<void> => {
      try {
        const [result] = await client.submitSamples([sample]);
        if (result !== undefined) accepted.set(sample.name, result);
      } catch {
        // Not acknowledged (the server died mid-request): the client retries it after the restart.
      }
    };

    server = await startServer(dataDir);
    let client = createApiClient({ baseUrl: server.url, token: ADMIN_TOKEN });
    const db = openDb(dataDir);
    const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;

    // Submit everything (8 uploads at a time) and crash the whole server while analyses are in flight.
    let next = 0;
    const uploads = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < samples.length) {
          const sample = samples[next++];
          if (sample !== undefined) await submit(client, sample);
        }
      }),
    );
    const pendingSql = "select count(*) as n from analyses where state in ('queued', 'running')";
    // Also one acknowledged upload: analyses can now finish before the client has read any response.
    await waitFor(
      () => accepted.size >= 1 && count("select count(*) as n from analyses where state = 'completed'") >= 1 && count(pendingSql) >= 1,
      60_000,
      'analyses in flight',
    );
    server.process.kill('SIGKILL');
    await server.exited;
    const pendingAtCrash = count(pendingSql);
    await uploads;
    killGroup(server, 'SIGKILL'); // sandbox children of the dead server, if any outlived it
    // The crash hit mid-analysis: accepted analyses were still queued or running.
    expect(pendingAtCrash).toBeGreaterThan(0);
    expect(accepted.size).toBeGreaterThan(0);

    server = await startServer(dataDir);
    client = createApiClient({ baseUrl: server.url, token: ADMIN_TOKEN });
    for (const sample of samples) if (!accepted.has(sample.name)) await submit(client, sample);
    expect(accepted.size).toBe(SAMPLE_COUNT);
    await waitFor(() => count("select count(*) as n from analyses where state in ('queued', 'running')") === 0, 90_000, 'every analysis to finish');

    // A clean stop this time.
    server.process.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    server = null;

    const sampleRows = db.prepare('select sha256 from samples').all() as { sha256: string }[];
    expect(sampleRows).toHaveLength(SAMPLE_COUNT);
    expect(new Set(sampleRows.map((r) => r.sha256))).toEqual(new Set([...accepted.values()].map((a) => a.sha256)));

    const states = db.prepare('select state, count(*) as n from analyses group by state').all() as { state: string; n: number }[];
    expect(states.map((s) => s.state)).toEqual(['completed']);
    for (const { analysisId } of accepted.values()) {
      expect(db.prepare('select state from analyses where id = ?').get(analysisId)).toEqual({ state: 'completed' });
    }

    const duplicates = db.prepare('select sha256, analyzer, count(*) as n from analysis_results group by sha256, analyzer having n > 1').all();
    expect(duplicates).toEqual([]);
    const perSample = db.prepare('select sha256, count(*) as n from analysis_results group by sha256').all() as { n: number }[];
    expect(perSample).toHaveLength(SAMPLE_COUNT);
    expect(Math.min(...perSample.map((r) => r.n))).toBeGreaterThan(0);
    const errors = db.prepare("select analyzer, error_code from analysis_results where status = 'error'").all();
    expect(errors).toEqual([]);
    const liveJobs = db.prepare("select state, count(*) as n from jobs where state <> 'completed' group by state").all();
    expect(liveJobs).toEqual([]);
    db.close();

    const objects: string[] = [];
    for (const shard of await readdir(join(dataDir, 'objects', 'samples'))) {
      objects.push(...(await readdir(join(dataDir, 'objects', 'samples', shard))).filter((name) => /^[0-9a-f]{64}$/.test(name)));
    }
    expect(objects.sort()).toEqual(sampleRows.map((r) => r.sha256).sort());
  });
});
