import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isLibyaraAvailable } from '@malpipe/yara-engine';
import { startTestPlatform, waitForIdle, type TestPlatform } from './pipeline-helpers.js';

const RULE = `rule Malpipe_Pipeline_Marker : test { strings: $m = "malpipe-pipeline-marker" condition: $m }`;

/** Both YARA paths of the sandbox: libyara rules compiled once by the parent; YARA-X compiled by each child. */
describe('YARA in the sandboxed pipeline', () => {
  let t: TestPlatform | null = null;
  let rulesDir: string | null = null;
  afterEach(async () => {
    await t?.dispose();
    t = null;
    if (rulesDir !== null) await rm(rulesDir, { recursive: true, force: true });
    rulesDir = null;
  });

  async function scanWith(engine: 'libyara' | 'yara-x'): Promise<TestPlatform> {
    rulesDir = await mkdtemp(join(tmpdir(), 'malpipe-rules-'));
    await writeFile(join(rulesDir, 'marker.yar'), RULE);
    const platform = await startTestPlatform({ MALPIPE_YARA_ENGINE: engine, MALPIPE_RULES_DIR: rulesDir });
    const bytes = new TextEncoder().encode('prefix malpipe-pipeline-marker suffix');
    const submitted = await platform.platform.services.submitSample({ content: bytes, fileName: 'marker.txt', source: 'test' });
    await waitForIdle(platform.platform);
    const report = await platform.platform.services.getSampleReport(submitted.sha256);
    expect(report?.yaraMatches.map((m) => m.rule)).toEqual(['Malpipe_Pipeline_Marker']);
    expect(report?.results.find((r) => r.analyzer === 'yara')?.result).toMatchObject({ engine, rulesetVersion: platform.platform.ruleset?.version });
    return platform;
  }

  const libyara = isLibyaraAvailable() || process.env.CI === 'true';
  (libyara ? it : it.skip)(`libyara: the parent compiles once and children load the saved rules${libyara ? '' : ' (skipped: the @malpipe/yara-native addon is not built)'}`, async () => {
    t = await scanWith('libyara');
    const version = t.platform.ruleset?.version ?? '';
    expect(existsSync(join(t.dataDir, 'rules', `${version}.yarc`))).toBe(true);
  });

  it('YARA-X: each child compiles the rule directory', async () => {
    t = await scanWith('yara-x');
    expect(t.platform.ruleset?.engine).toBe('yara-x');
    expect(existsSync(join(t.dataDir, 'rules'))).toBe(false);
  });
});
