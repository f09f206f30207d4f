import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createYaraEngine } from '@malpipe/yara-engine';
import { writeSyntheticGoodware } from '../test/synthetic-goodware.js';
import { checkRuleset, type CheckReport } from './check-ruleset.js';
import { yaraCliVersion } from './engine-checks.js';
import { formatCheckReport } from './format-report.js';

const EXAMPLES = fileURLToPath(new URL('../../../rules/examples', import.meta.url));
const BAD = fileURLToPath(new URL('../test/fixtures/bad-ruleset', import.meta.url));
const hasYaraCli = (await yaraCliVersion()) !== null;
if (!hasYaraCli && process.env.CI === 'true') throw new Error('the yara CLI is required in CI (.ci/run installs it)');
if (!hasYaraCli) console.warn('yara CLI not installed: its compile checks and differential are skipped');

let goodware: string;
beforeAll(() => {
  goodware = mkdtempSync(path.join(tmpdir(), 'malpipe-goodware-'));
  writeSyntheticGoodware(goodware);
});
afterAll(() => rmSync(goodware, { recursive: true, force: true }));

/** Open findings as `file rule id`, leaving out the yara CLI's (present only where it is installed). */
function openFindings(report: CheckReport): string[] {
  return report.findings
    .filter((f) => f.status === 'open' && !f.message.startsWith('yara 4.x'))
    .map((f) => `${f.file} ${f.rule ?? '-'} ${f.id}`)
    .sort();
}

describe(checkRuleset.name, () => {
  it('passes rules/examples clean: no finding, every positive matched, no goodware match', async () => {
    const report = await checkRuleset(EXAMPLES, { goodwareDir: goodware });
    expect(report.findings, formatCheckReport(report)).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.ruleset.rules).toHaveLength(10);
    const positives = report.tests.flatMap((t) => t.positives);
    expect(positives).toHaveLength(11); // ten manifest entries and one meta hash1
    expect(positives.every((p) => p.matched === true)).toBe(true);
    expect(report.engines.available).toEqual(expect.arrayContaining(['yara-x']));
    expect(report.cost?.rules.every((r) => r.ratio !== null && r.ratio < 10)).toBe(true);
  });

  it('also runs clean against the default goodware (a sample of /usr/bin)', async () => {
    const report = await checkRuleset(EXAMPLES, { goodwareMaxFiles: 16, cost: { enabled: false } });
    expect(report.goodware.dir).toBe('/usr/bin');
    expect(report.goodware.files).toBeGreaterThan(0);
    expect(report.findings, formatCheckReport(report)).toEqual([]);
  });

  it('reports exactly the expected findings on the bad ruleset, and fails', async () => {
    const report = await checkRuleset(BAD, { goodwareDir: goodware });
    expect(openFindings(report)).toEqual([
      'duplicate-b.yar Bad_Twin duplicate-rule-name',
      'meta.yar Bad_Missing_Meta meta-missing',
      'slow.yar Bad_Slow_Base64_Blob no-atom',
      'slow.yar Bad_Slow_Base64_Blob slow-rule',
      'slow.yar Bad_Slow_Base64_Blob yarax/slow_pattern',
      'slow.yar Bad_Unbounded_Url unbounded-regex',
      'unreferenced.yar Bad_Unreferenced_String compile-error',
      'unreferenced.yar Bad_Unreferenced_String unreferenced-string',
    ]);
    expect(report.findings.filter((f) => f.status === 'suppressed').map((f) => `${f.rule} ${f.id}`)).toEqual(['Bad_Suppressed_Short_Atom short-atom']);
    expect(report.findings.filter((f) => f.status === 'baselined').map((f) => `${f.rule} ${f.id}`)).toEqual(['Bad_Twin_Renamed duplicate-logic']);
    expect(report.passed).toBe(false);
    const slow = report.cost?.rules.find((r) => r.rule === 'Bad_Slow_Base64_Blob');
    expect(slow?.ratio).toBeGreaterThan(10);
    expect(formatCheckReport(report)).toMatch(new RegExp(`^FAILED: ${report.summary.error} error`, 'm'));
    expect(report.summary.error).toBe(hasYaraCli ? 11 : 8);
  });

  it.runIf(hasYaraCli)('adds the yara 4.x compile diagnostics when the CLI is installed', async () => {
    const report = await checkRuleset(BAD, { goodwareDir: goodware, cost: { enabled: false } });
    const cli = report.findings.filter((f) => f.message.startsWith('yara 4.x')).map((f) => `${f.rule ?? '-'} ${f.id}`).sort();
    expect(cli).toEqual(['Bad_Slow_Base64_Blob yara4/slow', 'Bad_Unbounded_Url yara4/slow', 'Bad_Unreferenced_String compile-error']);
    expect(report.engines.available).toContain('yara-cli');
  });

  it('flags a cost regression against a previous report', async () => {
    // The previous report knew the slow rule as cheap as the baseline: now it costs many times more.
    const engine = (await createYaraEngine('auto')).name;
    const cost = { engine, corpusFiles: 4, corpusBytes: 4 << 20, iterations: 3, baselineMs: 5, noise: 0, rules: [{ rule: 'Bad_Slow_Base64_Blob', file: 'slow.yar', ms: 5, ratio: 1 }] };
    const report = await checkRuleset(BAD, { goodwareDir: goodware, yaraCli: false, cost: { previous: { cost } } });
    expect(report.cost?.engine).toBe(engine);
    expect(report.findings.filter((f) => f.id === 'cost-regression').map((f) => f.rule)).toEqual(['Bad_Slow_Base64_Blob']);
  });
});
