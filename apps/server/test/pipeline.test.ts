import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '@malpipe/analyzers';
import { BUILTIN_ANALYZERS } from '@malpipe/analyzers/registry';
// Test-only fixture builders of the analysers package (not part of its public exports).
import { buildPe } from '../../../packages/analyzers/test/builders/build-pe.js';
import { buildStoredZip, buildZip } from '../../../packages/analyzers/test/builders/build-zip.js';
import { submitSample, type SubmitSampleInput } from '../src/samples/submit-sample.js';
import { runAnalysis } from '../src/analyses/run-analysis.js';
import { recoverPlatform, type Platform } from '../src/compose.js';
import { startTestPlatform, waitForIdle, type TestPlatform } from './pipeline-helpers.js';

const registered = new Set(BUILTIN_ANALYZERS.map((a) => a.name));
const IOC_TEXT = [
  'beacon config dump',
  'C2: hxxp://update-check[.]top/gate.php',
  'fallback 45.77.12.34:8443 and mail drop ops@update-check.top',
  '',
].join('\n');

function samplePe(): Uint8Array {
  return buildPe({
    sections: [
      { name: '.text', data: new Uint8Array([0x55, 0x8b, 0xec, 0x33, 0xc0, 0x5d, 0xc3, ...randomBytes(64)]) },
      { name: '.rdata', data: new TextEncoder().encode('http://update-check.top/payload.bin\0kernel32.dll\0') },
    ],
    imports: [
      { dll: 'kernel32.dll', functions: ['VirtualAlloc', 'CreateThread'] },
      { dll: 'wininet.dll', functions: ['InternetOpenA'] },
    ],
  });
}

async function results(platform: Platform, sha256: string) {
  return platform.db.selectFrom('analysis_results').selectAll().where('sha256', '=', sha256).execute();
}

describe('analysis pipeline (embedded stack)', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform();
  });
  afterAll(() => t.dispose());

  it('analyses a PE end to end and stores every accepting analyser result once', async () => {
    const { platform } = t;
    const pe = samplePe();
    const submitted = await platform.services.submitSample({ content: pe, fileName: 'dropper.exe', source: 'test', tags: ['Case-42'] });
    expect(submitted.isNewSample).toBe(true);
    await waitForIdle(platform);

    const report = await platform.services.getSampleReport(submitted.sha256);
    expect(report).not.toBeNull();
    if (report === null) return;
    expect(report.sample.fileType.kind).toBe('executable');
    expect(report.names).toEqual(['dropper.exe']);
    expect(report.tags).toContain('case-42');
    expect(report.analyses).toHaveLength(1);
    expect(report.analyses[0]).toMatchObject({ state: 'completed', depth: 0, rootId: submitted.analysisId, parentId: null });
    const names = report.results.map((r) => r.analyzer);
    for (const expected of ['hashes', 'pe', 'strings', 'yara'].filter((n) => registered.has(n))) expect(names).toContain(expected);
    expect(report.results.every((r) => r.status === 'ok')).toBe(true);
    if (registered.has('hashes')) expect(report.sample.ssdeep).toMatch(/^\d+:/);
    if (registered.has('pe')) expect(report.sample.imphash).toMatch(/^[0-9a-f]{32}$/);

    const rows = await results(platform, submitted.sha256);
    expect(new Set(rows.map((r) => r.analyzer)).size).toBe(rows.length);
  });

  it('expands a zip encrypted with "infected" into linked, analysed children with searchable indicators', async () => {
    if (!registered.has('archive')) throw new Error('the archive analyser is not registered in BUILTIN_ANALYZERS');
    const { platform } = t;
    const pe = samplePe();
    const zip = await buildZip([
      { name: 'payload/stage2.exe', data: pe, password: 'infected', encryption: 'zipcrypto' },
      { name: 'notes/c2.txt', data: new TextEncoder().encode(IOC_TEXT), password: 'infected', encryption: 'zipcrypto' },
    ]);
    const submitted = await platform.services.submitSample({ content: zip, fileName: 'bundle.zip', source: 'test' });
    await waitForIdle(platform);

    const report = await platform.services.getSampleReport(submitted.sha256);
    expect(report?.results.find((r) => r.analyzer === 'archive')?.status).toBe('ok');
    const children = report?.relations.children ?? [];
    expect(children.map((c) => c.detail).sort()).toEqual(['notes/c2.txt', 'payload/stage2.exe']);
    expect(children.every((c) => c.kind === 'extracted' && c.analyzer === 'archive')).toBe(true);

    const childAnalyses = await platform.db.selectFrom('analyses').selectAll().where('parent_id', '=', submitted.analysisId).execute();
    expect(childAnalyses).toHaveLength(2);
    expect(childAnalyses.every((a) => a.depth === 1 && a.root_id === submitted.analysisId && a.state === 'completed')).toBe(true);

    const text = children.find((c) => c.detail === 'notes/c2.txt');
    const textReport = text === undefined ? null : await platform.services.getSampleReport(text.sha256);
    expect(textReport?.relations.parents[0]?.sha256).toBe(submitted.sha256);
    if (registered.has('ioc')) {
      const hits = await platform.db
        .selectFrom('indicators')
        .innerJoin('sample_indicators', 'sample_indicators.indicator_id', 'indicators.id')
        .select(['indicators.type', 'sample_indicators.sha256'])
        .where('indicators.value', '=', '45.77.12.34')
        .execute();
      expect(hits.map((h) => h.sha256)).toContain(text?.sha256);
      expect(textReport?.indicators.map((i) => i.value)).toEqual(expect.arrayContaining(['update-check.top']));
    }
  });

  it('opens an archive resubmitted with the right password without --force, keeping the default-password result', async () => {
    const { platform } = t;
    const zip = await buildZip([{ name: 'secret.txt', data: new TextEncoder().encode(`only with the password ${Date.now()}`), password: 'S3cret!', encryption: 'aes' }]);
    const first = await platform.services.submitSample({ content: zip, fileName: 'locked.zip', source: 'test' });
    await waitForIdle(platform);
    const locked = await platform.services.getSampleReport(first.sha256);
    expect(locked?.relations.children).toHaveLength(0);

    const again = await platform.services.submitSample({ content: zip, fileName: 'locked.zip', source: 'test', archivePasswords: ['S3cret!'] });
    await waitForIdle(platform);
    const opened = await platform.services.getSampleReport(again.sha256);
    expect(opened?.relations.children.map((c) => c.detail)).toEqual(['secret.txt']);
    const archiveRows = (await results(platform, first.sha256)).filter((r) => r.analyzer === 'archive');
    // One result per password set: the default one ('') and the submission's own.
    expect(archiveRows.map((r) => r.ruleset_version === '')).toEqual(expect.arrayContaining([true, false]));
    expect(archiveRows).toHaveLength(2);

    // The same password again is served from cache.
    const third = await platform.services.submitSample({ content: zip, fileName: 'locked.zip', source: 'test', archivePasswords: ['S3cret!'] });
    const outcome = await platform.services.runAnalysis(third.analysisId);
    expect(outcome.analyzers.find((a) => a.analyzer === 'archive')?.status).toBe('cached');
    await waitForIdle(platform);
  });

  it('serves a resubmission from cache and reruns everything with force', async () => {
    const { platform } = t;
    const pe = samplePe();
    const first = await platform.services.submitSample({ content: pe, fileName: 'a.exe', source: 'test' });
    await waitForIdle(platform);
    const before = await results(platform, first.sha256);

    const again = await platform.services.submitSample({ content: pe, fileName: 'b.exe', source: 'test' });
    expect(again.isNewSample).toBe(false);
    expect(again.sha256).toBe(first.sha256);
    const outcome = await platform.services.runAnalysis(again.analysisId);
    expect(outcome.analyzers.length).toBeGreaterThan(0);
    expect(outcome.analyzers.every((a) => a.status === 'cached')).toBe(true);
    await waitForIdle(platform);
    const cached = await results(platform, first.sha256);
    expect(cached.map((r) => [r.id, r.created_at])).toEqual(before.map((r) => [r.id, r.created_at]));

    const forced = await platform.services.submitSample({ content: pe, fileName: 'c.exe', source: 'test', force: true });
    await waitForIdle(platform);
    const rerun = await results(platform, first.sha256);
    expect(rerun).toHaveLength(before.length);
    const forcedRow = await platform.db.selectFrom('analyses').selectAll().where('id', '=', forced.analysisId).executeTakeFirstOrThrow();
    expect(rerun.every((r) => r.created_at >= forcedRow.created_at)).toBe(true);

    const { md5 } = await platform.db.selectFrom('samples').select('md5').where('sha256', '=', first.sha256).executeTakeFirstOrThrow();
    const report = await platform.services.getSampleReport(md5);
    expect(report?.names.sort()).toEqual(['a.exe', 'b.exe', 'c.exe']);
    expect(report?.analyses).toHaveLength(3);
  });

  it('retries an analyser that failed in an earlier analysis, but not within the same one', async () => {
    const { platform } = t;
    const bytes = randomBytes(100);
    const first = await platform.services.submitSample({ content: bytes, fileName: 'throw.bin', source: 'test' });
    await waitForIdle(platform);
    const report = await platform.services.getSampleReport(first.sha256);
    expect(report?.results.find((r) => r.analyzer === 'test-throw')).toMatchObject({ status: 'error', errorCode: 'ANALYZER_FAILED' });
    expect(report?.analyses[0]?.state).toBe('completed');

    const second = await platform.services.submitSample({ content: bytes, fileName: 'throw.bin', source: 'test' });
    await waitForIdle(platform);
    const { created_at: secondCreated } = await platform.db.selectFrom('analyses').select('created_at').where('id', '=', second.analysisId).executeTakeFirstOrThrow();
    const rows = await results(platform, first.sha256);
    const thrown = rows.filter((r) => r.analyzer === 'test-throw');
    expect(thrown).toHaveLength(1);
    expect((thrown[0]?.created_at ?? '') >= secondCreated).toBe(true);
    expect(rows.filter((r) => r.analyzer !== 'test-throw').every((r) => r.created_at < secondCreated)).toBe(true);
    // A redelivery of the second analysis's job reuses the error it stored.
    await platform.db.updateTable('analyses').set({ state: 'running' }).where('id', '=', second.analysisId).execute();
    const redelivered = await platform.services.runAnalysis(second.analysisId);
    expect(redelivered.analyzers.every((a) => a.status === 'cached')).toBe(true);
  });

  it('a redelivered job is a no-op, and a child submitted twice for one parent analysis is stored once', async () => {
    const { platform } = t;
    const submitted = await platform.services.submitSample({ content: new TextEncoder().encode('echo me'), fileName: 'echo.txt', source: 'test' });
    await waitForIdle(platform);
    const again = await platform.services.runAnalysis(submitted.analysisId);
    expect(again.analyzers).toEqual([]);

    const parent = { analysisId: submitted.analysisId, sha256: submitted.sha256, relation: 'extracted' as const, analyzer: 'test', detail: 'x' };
    const childBytes = new TextEncoder().encode('child bytes');
    const one = await platform.services.submitSample({ content: childBytes, fileName: 'child.bin', source: 'extracted', parent });
    const two = await platform.services.submitSample({ content: childBytes, fileName: 'child.bin', source: 'extracted', parent });
    expect(two.analysisId).toBe(one.analysisId);
    await waitForIdle(platform);
    const relations = await platform.db.selectFrom('relations').selectAll().where('child_sha256', '=', one.sha256).execute();
    expect(relations).toHaveLength(1);
  });

  it('stores YARA matches from the sandboxed ruleset and tags the sample', async () => {
    const { platform } = t;
    expect(platform.ruleset).not.toBeNull();
    const eicar = new TextEncoder().encode('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*');
    const submitted = await platform.services.submitSample({ content: eicar, fileName: 'eicar.com', source: 'test' });
    await waitForIdle(platform);
    const report = await platform.services.getSampleReport(submitted.sha256);
    expect(report?.yaraMatches).toEqual([expect.objectContaining({ rule: 'EICAR_Test_File', rulesetVersion: platform.ruleset?.version })]);
    expect(report?.tags).toContain('yara:eicar_test_file');
    expect(report?.results.find((r) => r.analyzer === 'yara')?.rulesetVersion).toBe(platform.ruleset?.version);
  });

  it('re-queues an analysis left without a job and fails one whose job died', async () => {
    const { platform } = t;
    const orphan = await platform.services.submitSample({ content: randomBytes(128), fileName: 'orphan.bin', source: 'test' });
    const doomed = await platform.services.submitSample({ content: randomBytes(128), fileName: 'doomed.bin', source: 'test' });
    await waitForIdle(platform);
    // Simulate a crash that lost the job (orphan) and a job the queue gave up on (doomed).
    await platform.db.updateTable('analyses').set({ state: 'running', finished_at: null }).where('id', 'in', [orphan.analysisId, doomed.analysisId]).execute();
    await platform.db.deleteFrom('jobs').where('payload', 'like', `%${orphan.analysisId}%`).execute();
    await platform.db.updateTable('jobs').set({ state: 'dead', last_error: 'ANALYZER_CRASHED: boom' }).where('payload', 'like', `%${doomed.analysisId}%`).execute();

    const report = await recoverPlatform(platform);
    expect(report.requeued).toEqual([orphan.analysisId]);
    expect(report.failed).toEqual([doomed.analysisId]);
    await waitForIdle(platform);
    const rows = await platform.db.selectFrom('analyses').select(['id', 'state', 'error_code']).where('id', 'in', [orphan.analysisId, doomed.analysisId]).execute();
    expect(Object.fromEntries(rows.map((r) => [r.id, r.state]))).toEqual({ [orphan.analysisId]: 'completed', [doomed.analysisId]: 'failed' });
    expect((await recoverPlatform(platform)).requeued).toEqual([]);
  });

  describe('depth limit', () => {
    /** Runs analyses by hand with the given limits; submissions are not queued, so the workers never see them. */
    function manual(maxDepth: number) {
      const { platform } = t;
      const submitDeps = {
        db: platform.db,
        store: platform.store,
        enqueueAnalysis: () => Promise.resolve(),
        identify: () => ({ kind: 'data' as const, format: 'unknown' as const, mime: 'application/octet-stream', description: 'data', traits: [] }),
        uploadLimitBytes: 1024 * 1024,
        tmpDir: t.dataDir,
        defaultArchivePasswords: [],
      };
      const submit = (input: SubmitSampleInput) => submitSample(submitDeps, input);
      const run = (analysisId: string) =>
        runAnalysis(
          {
            db: platform.db,
            store: platform.store,
            runner: platform.sandbox,
            analyzers: platform.analyzers.filter((a) => a.name === 'test-spawn'),
            rulesetVersion: null,
            limits: { ...DEFAULT_LIMITS, maxDepth },
            submitChild: submit,
            maxSampleBytes: 1024 * 1024,
          },
          analysisId,
        );
      return { submit, run };
    }

    it('does not store children beyond limits.maxDepth and says so in a warning', async () => {
      const { submit, run } = manual(0);
      const submitted = await submit({ content: new TextEncoder().encode('parent zero'), fileName: 'spawn.bin', source: 'test' });
      const outcome = await run(submitted.analysisId);
      expect(outcome).toMatchObject({ state: 'completed', childAnalysisIds: [] });
      const report = await t.platform.services.getSampleReport(submitted.sha256);
      expect(report?.relations.children).toEqual([]);
      expect(report?.results.find((r) => r.analyzer === 'test-spawn')?.warnings).toEqual(['1 child sample(s) not analysed: depth 1 exceeds the limit of 0']);
    });

    it('stores a child one level down when the limit allows it, then stops', async () => {
      const { submit, run } = manual(1);
      const submitted = await submit({ content: new TextEncoder().encode('parent one'), fileName: 'spawn.bin', source: 'test' });
      const outcome = await run(submitted.analysisId);
      expect(outcome.childAnalysisIds).toHaveLength(1);
      const report = await t.platform.services.getSampleReport(submitted.sha256);
      expect(report?.relations.children).toEqual([{ sha256: expect.any(String), kind: 'carved', analyzer: 'test-spawn', detail: 'offset 0' }]);
      // The child is named spawn-child-*, so test-spawn runs on it too, but a grandchild would be at depth 2.
      const childOutcome = await run(outcome.childAnalysisIds[0] ?? '');
      expect(childOutcome).toMatchObject({ state: 'completed', childAnalysisIds: [] });
      const child = await t.platform.services.getSampleReport(childOutcome.sha256);
      expect(child?.analyses[0]).toMatchObject({ depth: 1, parentId: submitted.analysisId, rootId: submitted.analysisId, state: 'completed' });
      expect(child?.results.find((r) => r.analyzer === 'test-spawn')?.warnings[0]).toMatch(/depth 2 exceeds the limit of 1/);
    });
  });

  describe('hostile inputs', () => {
    it('refuses an empty sample with EMPTY_SAMPLE and an oversized one with SAMPLE_TOO_LARGE', async () => {
      const { platform } = t;
      await expect(platform.services.submitSample({ content: new Uint8Array(0), fileName: 'empty', source: 'test' })).rejects.toMatchObject({
        code: 'EMPTY_SAMPLE',
      });
      const deps = {
        db: platform.db,
        store: platform.store,
        enqueueAnalysis: () => Promise.resolve(),
        identify: () => ({ kind: 'data' as const, format: 'unknown' as const, mime: 'x', description: 'x', traits: [] }),
        uploadLimitBytes: 16,
        tmpDir: t.dataDir,
        defaultArchivePasswords: [],
      };
      await expect(submitSample(deps, { content: new Uint8Array(17), source: 'test' })).rejects.toMatchObject({ code: 'SAMPLE_TOO_LARGE' });
      const count = await platform.db.selectFrom('samples').select((eb) => eb.fn.countAll<number>().as('n')).where('size', '=', 17).executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(0);
    });

    it('gives clear results for a truncated PE, garbage and a looping analyser while other jobs finish', async () => {
      const { platform } = t;
      const truncated = samplePe().subarray(0, 300);
      const garbage = randomBytes(4096);
      const [trunc, junk, loop, echo] = await Promise.all([
        platform.services.submitSample({ content: truncated, fileName: 'truncated.exe', source: 'test' }),
        platform.services.submitSample({ content: garbage, fileName: 'garbage.bin', source: 'test' }),
        platform.services.submitSample({ content: randomBytes(64), fileName: 'loop.bin', source: 'test' }),
        platform.services.submitSample({ content: randomBytes(64), fileName: 'echo.bin', source: 'test' }),
      ]);
      await waitForIdle(platform, 40_000);

      const loopReport = await platform.services.getSampleReport(loop.sha256);
      expect(loopReport?.results.find((r) => r.analyzer === 'test-loop')).toMatchObject({ status: 'error', errorCode: 'ANALYZER_TIMEOUT' });
      expect(loopReport?.analyses[0]?.state).toBe('completed');
      expect((await platform.services.getSampleReport(echo.sha256))?.results.find((r) => r.analyzer === 'test-echo')?.status).toBe('ok');
      for (const sha of [trunc.sha256, junk.sha256]) {
        const report = await platform.services.getSampleReport(sha);
        expect(report?.analyses[0]?.state).toBe('completed');
        expect(report?.results.length).toBeGreaterThan(0);
      }
    });

    it('stops a zip bomb and neutralises traversal names', async () => {
      if (!registered.has('archive')) throw new Error('the archive analyser is not registered in BUILTIN_ANALYZERS');
      const { platform } = t;
      const bomb = await buildZip([{ name: 'zeros.bin', data: { zeros: 16 * 1024 * 1024 }, level: 9 }]);
      const traversal = buildStoredZip([
        { name: '../../etc/evil.sh', data: new TextEncoder().encode('#!/bin/sh\necho owned\n') },
        { name: '/abs/path.txt', data: new TextEncoder().encode('absolute') },
      ]);
      const [b, tr] = await Promise.all([
        platform.services.submitSample({ content: bomb, fileName: 'bomb.zip', source: 'test' }),
        platform.services.submitSample({ content: traversal, fileName: 'traversal.zip', source: 'test' }),
      ]);
      await waitForIdle(platform, 40_000);

      const bombReport = await platform.services.getSampleReport(b.sha256);
      const bombResult = bombReport?.results.find((r) => r.analyzer === 'archive');
      const refused = bombResult?.status === 'error' ? bombResult.errorCode : bombResult?.warnings.join(' ');
      expect(refused).toMatch(/ARCHIVE_BOMB|LIMIT_EXCEEDED|ratio|bomb|limit/i);
      expect(bombReport?.relations.children ?? []).toHaveLength(0);

      const children = await platform.db
        .selectFrom('relations')
        .innerJoin('sample_names', 'sample_names.sha256', 'relations.child_sha256')
        .select(['relations.detail', 'sample_names.name'])
        .where('relations.parent_sha256', '=', tr.sha256)
        .execute();
      for (const child of children) {
        expect(child.name).not.toMatch(/[\\/]/);
        expect(child.detail ?? '').not.toMatch(/(^|\/)\.\.(\/|$)|^\//);
      }
    });
  });
});
