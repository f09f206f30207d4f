import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type Analyzer } from '@malpipe/analyzers';
import { AppError } from '@malpipe/core';
import { createDatabase } from '../database/create-database.js';
import type { Database } from '../database/database.js';
import { SANDBOX_CLOSED_CODE } from '../sandbox/analyzer-sandbox.js';
import type { SandboxOutcome } from '../sandbox/sandbox-protocol.js';
import { createObjectStore } from '../storage/create-object-store.js';
import { sampleKey } from '../storage/object-store.js';
import { upsertSample } from '../samples/sample-repository.js';
import { runAnalysis, type AnalyzerRunner, type RunAnalysisDeps } from './run-analysis.js';

const NOW = '2026-11-27T00:00:00.000Z';
const SHA = 'c'.repeat(64);
const ANALYSIS = 'analysis-1';

function analyzer(name: string): Analyzer {
  return {
    name,
    version: '1',
    accepts: () => true,
    analyze: () => Promise.reject(new AppError('INTERNAL', 'runs in the fake runner only')),
  };
}

/** A runner whose outcomes the test resolves by hand, in any order. */
function manualRunner(count: number): { runner: AnalyzerRunner; resolve: ((outcome: SandboxOutcome) => void)[] } {
  const resolve: ((outcome: SandboxOutcome) => void)[] = [];
  const pending = Array.from({ length: count }, () => new Promise<SandboxOutcome>((r) => resolve.push(r)));
  return { runner: { runAll: () => pending }, resolve };
}

const ok = (result: unknown, indicators: { type: 'domain'; value: string }[] = []): SandboxOutcome => ({ status: 'ok', output: { result, indicators }, durationMs: 1 });

const open: Database[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) await db.destroy();
});

async function setup(runner: AnalyzerRunner): Promise<{ deps: RunAnalysisDeps; transactions: () => number }> {
  const db = await createDatabase('sqlite::memory:');
  open.push(db);
  const store = await createObjectStore('memory:');
  await store.put(sampleKey(SHA), new TextEncoder().encode('sample'));
  await upsertSample(
    db,
    { sha256: SHA, md5: '0'.repeat(32), sha1: '0'.repeat(40), sha512: '0'.repeat(128), size: 6, fileType: { kind: 'text', format: 'text', mime: 'text/plain', description: 'text', traits: [] } },
    NOW,
  );
  await db
    .insertInto('analyses')
    .values({ id: ANALYSIS, sha256: SHA, root_id: ANALYSIS, parent_id: null, depth: 0, state: 'queued', options: '{}', error_code: null, error_message: null, created_at: NOW, started_at: null, finished_at: null })
    .execute();
  let transactions = 0;
  // Counts the transactions runAnalysis opens; everything else goes to the real database.
  const counted = new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'transaction') transactions++;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const deps: RunAnalysisDeps = {
    db: counted,
    store,
    runner,
    analyzers: [analyzer('one'), analyzer('two'), analyzer('three')],
    rulesetVersion: null,
    limits: DEFAULT_LIMITS,
    submitChild: () => Promise.reject(new AppError('INTERNAL', 'no children here')),
    maxSampleBytes: 1024,
  };
  return { deps, transactions: () => transactions };
}

describe('runAnalysis result transaction', () => {
  it('stores every analyser result of a sample and marks it done in one transaction', async () => {
    const { runner, resolve } = manualRunner(3);
    const { deps, transactions } = await setup(runner);
    const running = runAnalysis(deps, ANALYSIS);
    // Out of order, as the sandbox may finish them.
    resolve[2]?.(ok({ n: 3 }));
    resolve[0]?.(ok({ n: 1 }, [{ type: 'domain', value: 'a.example' }]));
    resolve[1]?.({ status: 'error', code: 'ANALYZER_TIMEOUT', message: 'slow', durationMs: 5 });
    const outcome = await running;
    expect(outcome.state).toBe('completed');
    expect(transactions()).toBe(1);
    const rows = await deps.db.selectFrom('analysis_results').select(['analyzer', 'status', 'result']).orderBy('analyzer').execute();
    expect(rows).toEqual([
      { analyzer: 'one', status: 'ok', result: '{"n":1}' },
      { analyzer: 'three', status: 'ok', result: '{"n":3}' },
      { analyzer: 'two', status: 'error', result: 'null' },
    ]);
    expect(await deps.db.selectFrom('sample_indicators').select('analyzer').execute()).toEqual([{ analyzer: 'one' }]);
    expect(await deps.db.selectFrom('analyses').select('state').where('id', '=', ANALYSIS).executeTakeFirst()).toEqual({ state: 'completed' });
  });

  it('stores nothing when the run stops before every analyser is done, so a redelivery recomputes and stores once', async () => {
    const { runner, resolve } = manualRunner(3);
    const { deps } = await setup(runner);
    const running = runAnalysis(deps, ANALYSIS);
    resolve[0]?.(ok({ n: 1 }));
    resolve[1]?.({ status: 'error', code: SANDBOX_CLOSED_CODE, message: 'sandbox closed', durationMs: 0 });
    resolve[2]?.(ok({ n: 3 }));
    await expect(running).rejects.toMatchObject({ retryable: true });
    expect(await deps.db.selectFrom('analysis_results').select('analyzer').execute()).toEqual([]);
    expect(await deps.db.selectFrom('analyses').select('state').where('id', '=', ANALYSIS).executeTakeFirst()).toEqual({ state: 'running' });

    const again = manualRunner(3);
    const retry = runAnalysis({ ...deps, runner: again.runner }, ANALYSIS);
    for (const [i, r] of again.resolve.entries()) r(ok({ n: i + 1 }));
    expect((await retry).state).toBe('completed');
    expect((await deps.db.selectFrom('analysis_results').select('analyzer').orderBy('analyzer').execute()).map((r) => r.analyzer)).toEqual(['one', 'three', 'two']);
  });
});
