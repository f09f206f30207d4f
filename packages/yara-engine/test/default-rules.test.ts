import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, yaraAnalyzer } from '@malpipe/analyzers';
import type { AnalyzerContext, SampleFacts } from '@malpipe/analyzers';
import { createLibyaraEngine } from '../src/libyara-engine.js';
import { createYaraXEngine } from '../src/yara-x-engine.js';
import { createYaraScanner } from '../src/create-yara-scanner.js';
import type { RulesetScanner } from '../src/create-yara-scanner.js';
import { DEFAULT_RULES_DIR, loadRulesetFromDirectory } from '../src/load-ruleset.js';
import type { Ruleset } from '../src/load-ruleset.js';
import { outlineRules } from '../src/outline-rules.js';
import type { YaraEngine } from '../src/yara-engine.js';
import { IN_CI, defaultRuleSamples, missing, systemBinaries } from './yara-test-support.js';

let ruleset: Ruleset;

beforeAll(async () => {
  ruleset = await loadRulesetFromDirectory(DEFAULT_RULES_DIR);
});

describe('default ruleset (rules/default)', () => {
  it('is versioned and every rule carries author, description and date', () => {
    expect(ruleset.version).toMatch(/^[0-9a-f]{16}$/);
    expect(ruleset.sources.length).toBeGreaterThanOrEqual(5);
    for (const source of ruleset.sources) {
      const outline = outlineRules(source.source);
      expect(outline.complete, source.origin).toBe(true);
      for (const rule of outline.rules) {
        expect(rule.meta.author, rule.name).toBe('malpipe');
        expect(typeof rule.meta.description, rule.name).toBe('string');
        expect(rule.meta.date, rule.name).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      }
    }
  });

  it('has a built positive sample for every rule', () => {
    const ruleNames = ruleset.sources.flatMap((s) => outlineRules(s.source).rules.map((r) => r.name)).sort();
    const covered = [...new Set(defaultRuleSamples().flatMap((s) => s.rules))].sort();
    expect(covered).toEqual(ruleNames);
  });
});

const ENGINES: { name: string; create: () => YaraEngine; skip: string | null }[] = [
  { name: 'libyara', create: () => createLibyaraEngine(), skip: missing('libyara') },
  { name: 'yara-x', create: () => createYaraXEngine(), skip: null },
];

for (const { name, create, skip } of ENGINES) {
  describe.skipIf(skip !== null && !IN_CI)(`default ruleset under ${name}`, () => {
    let scanner: RulesetScanner;

    beforeAll(async () => {
      scanner = await createYaraScanner(create(), ruleset);
    });
    afterAll(() => scanner.dispose());

    it.each(defaultRuleSamples().map((s) => [s.name, s] as const))(
      'matches exactly its rules on %s',
      async (_, sample) => {
        const matches = await scanner.scan(sample.bytes);
        expect(matches.map((m) => m.rule).sort()).toEqual([...sample.rules].sort());
        for (const match of matches) {
          expect(match.strings.length).toBeGreaterThan(0);
          for (const s of match.strings) expect(s.offset + s.length).toBeLessThanOrEqual(sample.bytes.length);
        }
      },
    );

    it('matches no ordinary system binary', async () => {
      const files = systemBinaries();
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        expect(await scanner.scanFile(file), file).toEqual([]);
      }
    });

    it('drives the yara analyser: result, matches and yara:<rule> tags', async () => {
      const sample = defaultRuleSamples().find((s) => s.name === 'macro.doc')!;
      const facts: SampleFacts = {
        sha256: '0'.repeat(64),
        size: sample.bytes.length,
        fileType: {
          kind: 'document',
          format: 'ole',
          mime: 'application/msword',
          description: 'OLE',
          traits: [],
        },
        fileNames: [sample.name],
        depth: 0,
      };
      const context: AnalyzerContext = {
        limits: DEFAULT_LIMITS,
        archivePasswords: ['infected'],
        yara: scanner,
      };
      const output = await yaraAnalyzer.analyze(sample.bytes, facts, context);
      expect(output.result.engine).toBe(name);
      expect(output.result.rulesetVersion).toBe(ruleset.version);
      expect(output.result.matches.map((m) => m.rule)).toEqual(['Office_OLE_Macro_AutoExec']);
      expect(output.tags).toEqual(['yara:Office_OLE_Macro_AutoExec']);
      expect(JSON.parse(JSON.stringify(output.result))).toEqual(output.result);
    });
  });
}

it('ships rules whose source files are plain text without NUL bytes', async () => {
  for (const source of ruleset.sources) {
    expect(source.source.includes('\0'), source.origin).toBe(false);
    expect((await readFile(`${DEFAULT_RULES_DIR}/${source.origin}`, 'utf8')).length).toBe(
      source.source.length,
    );
  }
});
