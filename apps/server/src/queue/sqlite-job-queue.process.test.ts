import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../database/create-database.js';
import type { Database } from '../database/database.js';
import { SqliteJobQueue } from './sqlite-job-queue.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'queue-worker-process.ts');

interface Worker {
  readonly child: ChildProcess;
  readonly lines: string[];
}

function startWorker(url: string): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  const worker: Worker = { child, lines: [] };
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    worker.lines.push(...parts);
  });
  return waitFor(() => worker.lines.includes('ready'), 20_000).then(() => worker);
}

async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe(`${SqliteJobQueue.name} across processes`, () => {
  const workers: Worker[] = [];
  let db: Database | undefined;
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
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('migrates concurrently, runs every job exactly once across two worker processes, and re-runs a SIGKILLed worker job', async () => {
    dir = mkdtempSync(join(tmpdir(), 'malpipe-queue-proc-'));
    const url = `sqlite:${join(dir, 'queue.db')}`;
    // Both workers create and migrate the fresh file at the same moment: BEGIN IMMEDIATE serialises them.
    workers.push(...(await Promise.all([startWorker(url), startWorker(url)])));
    db = await createDatabase(url);
    const producer = new SqliteJobQueue(db);

    const ids = await Promise.all(Array.from({ length: 60 }, (_, i) => producer.enqueue('analyze-sample', { analysisId: `job-${i}` })));
    await waitFor(async () => (await producer.counts())['analyze-sample'].completed === 60);
    const ran = workers.flatMap((w) => w.lines.filter((line) => line.startsWith('ran ')).map((line) => line.split(' ')[1]));
    expect(ran.sort()).toEqual([...ids].sort());

    const hung = await producer.enqueue('analyze-sample', { analysisId: 'hang-1' }, { priority: 10 });
    await waitFor(() => workers.some((w) => w.lines.includes(`started ${hung} 1`)));
    const victim = workers.find((w) => w.lines.includes(`started ${hung} 1`))!;
    const survivor = workers.find((w) => w !== victim)!;
    const exited = new Promise((resolve) => victim.child.once('exit', resolve));
    victim.child.kill('SIGKILL');
    await exited;
    expect((await producer.get(hung))?.state).toBe('running');

    await waitFor(async () => (await producer.get(hung))?.state === 'completed');
    expect(survivor.lines).toContain(`ran ${hung} 2`);
  });
});
