import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type SampleFacts } from '@malpipe/analyzers';
import { AnalyzerSandbox, SANDBOX_CLOSED_CODE, type SandboxRunRequest } from './analyzer-sandbox.js';

const HOSTILE = fileURLToPath(new URL('../../test/pipeline-fixtures/hostile-analyzers.ts', import.meta.url));
const ORPHAN_HOST = fileURLToPath(new URL('../../test/pipeline-fixtures/orphan-host.ts', import.meta.url));

/** 'gone', 'zombie' or 'alive', from /proc (Linux). */
function processState(pid: number): 'gone' | 'zombie' | 'alive' {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z' ? 'zombie' : 'alive';
  } catch {
    return 'gone';
  }
}

function request(analyzer: string, bytes: Uint8Array, timeoutMs?: number): SandboxRunRequest {
  const facts: SampleFacts = {
    sha256: '0'.repeat(64),
    size: bytes.length,
    fileType: { kind: 'data', format: 'unknown', mime: 'application/octet-stream', description: 'data', traits: [] },
    fileNames: [],
    depth: 0,
  };
  return { analyzer, input: { bytes }, facts, archivePasswords: [], limits: DEFAULT_LIMITS, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
}

describe(AnalyzerSandbox.name, () => {
  const sandbox = new AnalyzerSandbox({ size: 2, timeoutMs: 10_000, memoryMb: 96, extraAnalyzerModules: [HOSTILE], builtinAnalyzers: false });
  afterAll(() => sandbox.close());

  it('runs an analyser in a child and returns its plain output', async () => {
    const outcome = await sandbox.run(request('test-echo', new Uint8Array([7, 8, 9])));
    expect(outcome).toMatchObject({ status: 'ok', output: { result: { size: 3, first: 7 }, tags: ['echoed'] } });
  });

  it('kills a looping analyser at the timeout while other calls finish', async () => {
    const started = Date.now();
    const [looped, ...echoes] = await Promise.all([
      sandbox.run(request('test-loop', new Uint8Array([1]), 1500)),
      ...Array.from({ length: 5 }, (_, i) => sandbox.run(request('test-echo', new Uint8Array([i + 1])))),
    ]);
    expect(looped).toMatchObject({ status: 'error', code: 'ANALYZER_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(echoes.map((e) => (e.status === 'ok' ? (e.output.result as { first: number }).first : e.code))).toEqual([1, 2, 3, 4, 5]);
  });

  it('reports a crash, a heap exhaustion and an exception as error results, then keeps serving', async () => {
    const [crash, heap, thrown] = await Promise.all([
      sandbox.run(request('test-crash', new Uint8Array([1]))),
      sandbox.run(request('test-heap-hog', new Uint8Array([1]))),
      sandbox.run(request('test-throw', new Uint8Array([1]))),
    ]);
    expect(crash).toMatchObject({ status: 'error', code: 'ANALYZER_CRASHED' });
    expect(heap).toMatchObject({ status: 'error', code: 'ANALYZER_CRASHED' });
    expect(thrown).toMatchObject({ status: 'error', code: 'ANALYZER_FAILED', message: 'parser exploded' });
    expect(await sandbox.run(request('test-echo', new Uint8Array([42])))).toMatchObject({ status: 'ok' });
    expect(sandbox.processCount).toBeLessThanOrEqual(2);
  });

  it('kills a child whose resident memory passes the bound (buffers live outside the V8 heap)', async () => {
    const outcome = await sandbox.run(request('test-buffer-hog', new Uint8Array([1])));
    expect(outcome).toMatchObject({ status: 'error', code: 'ANALYZER_CRASHED' });
    if (outcome.status === 'error') expect(outcome.message).toMatch(/memory limit/);
  });

  it('runs a batch in order, and a hang or crash inside it fails only that analyser', async () => {
    const bytes = new Uint8Array([5, 6]);
    const base = request('test-echo', bytes, 1500);
    const outcomes = await Promise.all(
      sandbox.runAll({ ...base, analyzers: ['test-echo', 'test-loop', 'test-echo', 'test-crash', 'test-throw', 'no-such', 'test-echo'] }),
    );
    expect(outcomes.map((o) => (o.status === 'ok' ? 'ok' : o.code))).toEqual([
      'ok',
      'ANALYZER_TIMEOUT',
      'ok',
      'ANALYZER_CRASHED',
      'ANALYZER_FAILED',
      'NOT_FOUND',
      'ok',
    ]);
    expect(outcomes[1]).toMatchObject({ message: expect.stringMatching(/test-loop timed out/) });
    // The timeout is per analyser: the loop's own time, not the batch's.
    expect(outcomes[1]?.durationMs).toBeGreaterThanOrEqual(1400);
    expect(outcomes[1]?.durationMs).toBeLessThan(5000);
    expect(outcomes[6]).toMatchObject({ status: 'ok', output: { result: { size: 2, first: 5 } } });
  });

  it('spreads the batch of one sample over idle children, so a slow analyser does not hold up the others', async () => {
    // Both children up first (earlier tests killed some): a child starting under load can take seconds.
    await Promise.all([sandbox.run(request('test-echo', new Uint8Array([1]))), sandbox.run(request('test-echo', new Uint8Array([2])))]);
    const [looped, echoed] = sandbox.runAll({ ...request('test-echo', new Uint8Array([3]), 5000), analyzers: ['test-loop', 'test-echo'] });
    let loopDone = false;
    void looped?.then(() => (loopDone = true));
    expect(await echoed).toMatchObject({ status: 'ok', output: { result: { first: 3 } } });
    // Run one after the other, the echo would only start after the loop's timeout.
    expect(loopDone).toBe(false);
    expect(await looped).toMatchObject({ status: 'error', code: 'ANALYZER_TIMEOUT' });
  });

  it('resolves every analyser of a batch as closed when the pool closes', async () => {
    const closing = new AnalyzerSandbox({ size: 1, timeoutMs: 10_000, memoryMb: 96, extraAnalyzerModules: [HOSTILE], builtinAnalyzers: false });
    const pending = closing.runAll({ ...request('test-loop', new Uint8Array([1])), analyzers: ['test-loop', 'test-echo'] });
    await new Promise((r) => setTimeout(r, 200));
    await closing.close();
    expect((await Promise.all(pending)).map((o) => (o.status === 'error' ? o.code : 'ok'))).toEqual([SANDBOX_CLOSED_CODE, SANDBOX_CLOSED_CODE]);
    expect(await Promise.all(closing.runAll({ ...request('test-echo', new Uint8Array([1])), analyzers: ['test-echo'] }))).toMatchObject([{ code: SANDBOX_CLOSED_CODE }]);
  });

  it('answers unknown analysers with NOT_FOUND', async () => {
    expect(await sandbox.run(request('no-such', new Uint8Array([1])))).toMatchObject({ status: 'error', code: 'NOT_FOUND' });
  });

  it.runIf(process.platform === 'linux')('kills a busy child whose parent was SIGKILLed (no orphan spinning forever)', async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const host = spawn(process.execPath, ['--import', tsx, ORPHAN_HOST, HOSTILE], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolveExit) => host.once('exit', resolveExit));
    const pid = await new Promise<number>((resolvePid, reject) => {
      const timer = setTimeout(() => reject(new Error('orphan host did not report its child')), 30_000);
      host.stdout.setEncoding('utf8');
      host.stdout.on('data', (text: string) => {
        const match = /child (\d+)/.exec(text);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolvePid(Number(match[1]));
        }
      });
    });
    expect(processState(pid)).toBe('alive');
    host.kill('SIGKILL');
    await exited;
    const deadline = Date.now() + 15_000;
    while (processState(pid) === 'alive' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const state = processState(pid);
    if (state === 'alive') process.kill(pid, 'SIGKILL');
    expect(state).not.toBe('alive');
  });
});
