import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestPlatform, waitForIdle, type TestPlatform } from '../../test/pipeline-helpers.js';
import { deployRuleset, importRuleset, rollbackRuleset } from './ruleset-repository.js';

const rule = (name: string, marker: string): string => `rule ${name} { strings: $m = "${marker}" condition: $m }\n`;

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** compose.ts: a deployed version wins over the configured directory, and workers follow deploy/rollback. */
describe('the pipeline follows the active ruleset version', () => {
  let t: TestPlatform | null = null;
  const dirs: string[] = [];
  afterAll(async () => {
    await t?.dispose();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function rulesDir(source: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'malpipe-active-rules-'));
    dirs.push(dir);
    await writeFile(join(dir, 'markers.yar'), source);
    return dir;
  }

  async function rulesMatching(marker: string): Promise<{ rules: string[]; version: unknown }> {
    if (t === null) throw new Error('no platform');
    const submitted = await t.platform.services.submitSample({ content: new TextEncoder().encode(`x ${marker} y`), fileName: `${marker}.txt`, source: 'test' });
    await waitForIdle(t.platform);
    const report = await t.platform.services.getSampleReport(submitted.sha256);
    return { rules: report?.yaraMatches.map((m) => m.rule) ?? [], version: report?.yaraMatches[0]?.rulesetVersion };
  }

  it('scans with the configured directory, then each deployed version, then the rolled-back one', async () => {
    const configured = await rulesDir(rule('Configured_Marker', 'malpipe-configured-marker'));
    t = await startTestPlatform({ MALPIPE_RULES_DIR: configured }, { rulesetPollMs: 50 });
    const { db, store } = t.platform;
    expect(await rulesMatching('malpipe-configured-marker')).toMatchObject({ rules: ['Configured_Marker'] });

    const v1 = (await importRuleset({ db, store }, await rulesDir(rule('First_Marker', 'malpipe-first-marker')))).version.id;
    const v2 = (await importRuleset({ db, store }, await rulesDir(rule('Second_Marker', 'malpipe-second-marker')))).version.id;
    await deployRuleset({ db }, v1);
    await waitFor(() => t?.platform.ruleset?.version === v1);
    expect(await rulesMatching('malpipe-first-marker')).toEqual({ rules: ['First_Marker'], version: v1 });

    await deployRuleset({ db }, v2);
    await waitFor(() => t?.platform.ruleset?.version === v2);
    expect(await rulesMatching('malpipe-second-marker')).toEqual({ rules: ['Second_Marker'], version: v2 });

    await rollbackRuleset({ db });
    await waitFor(() => t?.platform.ruleset?.version === v1);
    expect(await rulesMatching('malpipe-first-marker-again malpipe-first-marker')).toEqual({ rules: ['First_Marker'], version: v1 });
  });
});
