import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../src/database/create-database.js';
import type { Database } from '../src/database/database.js';
import { enqueueFetchHash } from '../src/fetcher/create-sources.js';
import { submitHashes } from '../src/hashes/submit-hashes.js';
import { SqliteJobQueue } from '../src/queue/sqlite-job-queue.js';
import { startFakeVirusTotal, type FakeVirusTotal } from './fake-virustotal.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'fetch-worker-process.ts');
const LIMIT = 3;
const WINDOW_MS = 1_500;

interface Worker {
  readonly child: ChildProcess;
  readonly lines: string[];
}

function startWorker(args: readonly string[]): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const worker: Worker = { child, lines: [] };
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    worker.lines.push(...parts);
  });
  return waitFor(() => worker.lines.includes('ready'), 30_000).then(() => worker);
}

async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the VirusTotal rate limit across worker processes', () => {
  const workers: Worker[] = [];
  let db: Database | undefined;
  let vt: FakeVirusTotal | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    for (const { child } of workers.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    }
    await db?.destroy();
    await vt?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('never exceeds the per-key budget in any window, and finishes every hash (429s retried, none dropped)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'malpipe-ratelimit-'));
    const url = `sqlite:${join(dir, 'db.sqlite')}`;
    // The server enforces the same quota: any request past it would be a 429 QuotaExceededError.
    vt = await startFakeVirusTotal({ keys: { key: true }, quota: { limit: LIMIT, windowMs: WINDOW_MS } });
    const known = Array.from(
      { length: 3 },
      (_, i) => vt?.addFile({ bytes: new TextEncoder().encode(`rate limited sample ${i}`) }) ?? '',
    );
    const unknown = Array.from({ length: 5 }, (_, i) => (i + 1).toString(16).padStart(64, 'e'));
    db = await createDatabase(url);
    const producer = new SqliteJobQueue(db);
    const entries = await submitHashes(db, {
      hashes: [...known, ...unknown],
      fetchQueue: { enqueue: (trx, id) => enqueueFetchHash(producer, trx, id), wake: () => undefined },
    });
    expect(entries).toHaveLength(8);

    const args = [url, vt.url, 'key', String(LIMIT), String(WINDOW_MS), dir];
    workers.push(...(await Promise.all([startWorker(args), startWorker(args)])));
    await waitFor(async () => {
      const rows = await db!.selectFrom('hash_requests').select('state').execute();
      return rows.every((r) => r.state === 'fetched' || r.state === 'not-found');
    }, 45_000);

    const states = await db.selectFrom('hash_requests').select(['hash', 'state']).execute();
    expect(
      states
        .filter((s) => s.state === 'fetched')
        .map((s) => s.hash)
        .sort(),
    ).toEqual([...known].sort());
    expect(states.filter((s) => s.state === 'not-found')).toHaveLength(unknown.length);
    // Every request was answered: the shared limiter, not the server, made both processes wait. A report
    // whose download had to wait is reused on the retry, so exactly 3 reports + 3 downloads + 5 lookups.
    const answered = vt.requests.filter((r) => r.status !== 429);
    expect(vt.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(answered.filter((r) => r.path.endsWith('/download'))).toHaveLength(3);
    expect(answered.filter((r) => r.status === 404)).toHaveLength(5);
    expect(answered).toHaveLength(11);
    for (const request of answered) {
      const inWindow = answered.filter((r) => r.at > request.at - WINDOW_MS && r.at <= request.at).length;
      expect(inWindow).toBeLessThanOrEqual(LIMIT);
    }
    // Both processes took part.
    for (const worker of workers) expect(worker.lines.some((line) => line.startsWith('done '))).toBe(true);
  });
});
