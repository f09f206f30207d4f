import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuleset } from '@malpipe/yara-engine';
import { getSampleReport } from '../analyses/get-sample-report.js';
import type { Platform } from '../compose.js';
import { startHuntingPlatform, storeSample } from './hunting-test-platform.js';
import { RETROHUNT_ANALYZER, runRetrohunt, type RetrohuntProgress } from './run-retrohunt.js';
import { deployRuleset, importRuleset } from '../rulesets/ruleset-repository.js';
import { enqueueRetrohunt, retrohuntHandler, retrohuntOnDeploy } from './retrohunt-job.js';

const RULES = createRuleset([{ namespace: 'hunt', source: 'rule Marker_Hunt : demo { strings: $m = "HUNT-MARKER-42" condition: $m }' }]);

describe('runRetrohunt', () => {
  let env: Awaited<ReturnType<typeof startHuntingPlatform>>;
  let platform: Platform;
  const marked: string[] = [];
  beforeAll(async () => {
    env = await startHuntingPlatform();
    platform = env.platform;
    for (let i = 0; i < 3; i++) marked.push(await storeSample(platform, new Uint8Array(Buffer.concat([randomBytes(500), Buffer.from('HUNT-MARKER-42'), randomBytes(100)]))));
    for (let i = 0; i < 7; i++) await storeSample(platform, new Uint8Array(randomBytes(800)));
  });
  afterAll(() => env.dispose());

  it('scans every stored sample with progress and stores hits as yara_matches and a retrohunt result', async () => {
    const progress: RetrohuntProgress[] = [];
    const summary = await runRetrohunt(platform, RULES, { onProgress: (p) => progress.push(p), concurrency: 3 });
    expect(summary).toMatchObject({ total: 10, scanned: 10, matched: 3, errors: [] });
    expect(summary.hits.map((h) => h.sha256).sort()).toEqual([...marked].sort());
    expect(progress.at(-1)).toMatchObject({ scanned: 10, total: 10, matched: 3 });
    expect(progress.map((p) => p.scanned)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const rows = await platform.db.selectFrom('yara_matches').selectAll().where('ruleset_version', '=', RULES.version).execute();
    expect(rows.map((r) => r.sha256).sort()).toEqual([...marked].sort());
    expect(rows[0]).toMatchObject({ rule: 'Marker_Hunt', namespace: 'hunt', tags: '["demo"]' });
    const results = await platform.db.selectFrom('analysis_results').selectAll().where('analyzer', '=', RETROHUNT_ANALYZER).execute();
    expect(results).toHaveLength(3);
    expect(JSON.parse(results[0]?.result ?? 'null')).toMatchObject({ rulesetVersion: RULES.version, matches: [{ rule: 'Marker_Hunt' }] });
    const report = await getSampleReport(platform.db, marked[0]!);
    expect(JSON.stringify(report)).toContain('Marker_Hunt');
  });

  it('counts a sample whose object is missing as an error and carries on', async () => {
    const summary = await runRetrohunt(platform, RULES, { sha256s: ['0'.repeat(64), marked[0]!] });
    expect(summary.scanned).toBe(2);
    expect(summary.matched).toBe(1);
    expect(summary.errors).toHaveLength(1);
    // A malformed hash is that sample's error too, not the hunt's.
    const malformed = await runRetrohunt(platform, RULES, { sha256s: ['not-a-hash', marked[1]!] });
    expect(malformed).toMatchObject({ scanned: 2, matched: 1 });
    expect(malformed.errors).toHaveLength(1);
  });

  it('runs as a queued retrohunt job for a known ruleset version and refuses an unknown one', async () => {
    const handler = retrohuntHandler({ ...platform, ruleset: null }, [async (v) => (v === RULES.version ? RULES : null)]);
    const job = { id: 'j1', name: 'retrohunt' as const, attempt: 1, signal: new AbortController().signal };
    await platform.db.deleteFrom('yara_matches').execute();
    await handler({ ...job, payload: { rulesetVersion: RULES.version } });
    expect(await platform.db.selectFrom('yara_matches').selectAll().execute()).toHaveLength(3);
    await expect(handler({ ...job, payload: { rulesetVersion: 'ffffffffffffffff' } })).rejects.toMatchObject({ code: 'NOT_FOUND', retryable: false });
    const id = await enqueueRetrohunt(platform.queue, RULES.version);
    expect(await platform.queue.get(id)).toMatchObject({ name: 'retrohunt', payload: { rulesetVersion: RULES.version }, state: 'queued' });
  });

  it('deploying a stored ruleset version queues a retrohunt that resolves the stored sources', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malpipe-hunt-rules-'));
    try {
      await writeFile(join(dir, 'hunt.yar'), RULES.sources[0]!.source);
      const { version } = await importRuleset({ db: platform.db, store: platform.store }, dir);
      await deployRuleset({ db: platform.db, onDeployed: retrohuntOnDeploy(platform.queue) }, version.id);
      const jobs = await platform.queue.list({ name: 'retrohunt' });
      expect(jobs.some((j) => 'rulesetVersion' in j.payload && j.payload.rulesetVersion === version.id)).toBe(true);
      await platform.db.deleteFrom('yara_matches').execute();
      const handler = retrohuntHandler({ ...platform, ruleset: null });
      await handler({ id: 'j2', name: 'retrohunt', attempt: 1, signal: new AbortController().signal, payload: { rulesetVersion: version.id } });
      const rows = await platform.db.selectFrom('yara_matches').selectAll().where('ruleset_version', '=', version.id).execute();
      expect(rows).toHaveLength(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
