import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type SampleFacts } from '@malpipe/analyzers';
import { AnalyzerSandbox, type SandboxRunRequest } from './analyzer-sandbox.js';

const HOSTILE = fileURLToPath(new URL('../../test/pipeline-fixtures/hostile-analyzers.ts', import.meta.url));

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
    expect(Date.now() - started).toBeLessThan(8000);
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

  it('answers unknown analysers with NOT_FOUND', async () => {
    expect(await sandbox.run(request('no-such', new Uint8Array([1])))).toMatchObject({ status: 'error', code: 'NOT_FOUND' });
  });
});
