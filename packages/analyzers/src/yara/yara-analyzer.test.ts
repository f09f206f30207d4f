import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../analyzer.js';
import type { AnalyzerContext, SampleFacts, YaraRuleMatch, YaraScanner } from '../analyzer.js';
import { BUILTIN_ANALYZERS } from '../registry.js';
import { YARA_SCAN_TIMEOUT_MS, yaraAnalyzer } from './yara-analyzer.js';

const FACTS: SampleFacts = {
  sha256: 'a'.repeat(64),
  size: 4,
  fileType: {
    kind: 'data',
    format: 'unknown',
    mime: 'application/octet-stream',
    description: 'data',
    traits: [],
  },
  fileNames: ['x.bin'],
  depth: 0,
};

const BASE: AnalyzerContext = { limits: DEFAULT_LIMITS, archivePasswords: ['infected'] };

function match(namespace: string, rule: string): YaraRuleMatch {
  return { rule, namespace, tags: [], meta: {}, strings: [{ identifier: '$a', offset: 0, length: 1 }] };
}

describe('yaraAnalyzer', () => {
  it('is registered, uses the ruleset version and accepts every sample', () => {
    expect(BUILTIN_ANALYZERS).toContain(yaraAnalyzer);
    expect(yaraAnalyzer.usesRuleset).toBe(true);
    expect(yaraAnalyzer.accepts(FACTS)).toBe(true);
  });

  it('explains why it did nothing when no ruleset is active', async () => {
    const output = await yaraAnalyzer.analyze(new Uint8Array(4), FACTS, BASE);
    expect(output.result).toMatchObject({ engine: null, rulesetVersion: null, matches: [] });
    expect(output.result.skipped).toMatch(/no YARA ruleset/);
    expect(output.tags ?? []).toEqual([]);
  });

  it('sorts matches by namespace and rule, tags each rule once and passes a time budget', async () => {
    const seen: (number | undefined)[] = [];
    const scanner: YaraScanner = {
      engine: 'test-engine',
      rulesetVersion: '0123456789abcdef',
      scan: (_bytes, options) => {
        seen.push(options?.timeoutMs);
        return Promise.resolve([
          match('b', 'Zeta'),
          match('a', 'Same'),
          match('b', 'Same'),
          match('a', 'Alpha'),
        ]);
      },
    };
    const output = await yaraAnalyzer.analyze(new Uint8Array(4), FACTS, { ...BASE, yara: scanner });
    expect(output.result.engine).toBe('test-engine');
    expect(output.result.rulesetVersion).toBe('0123456789abcdef');
    expect(output.result.matches.map((m) => `${m.namespace}:${m.rule}`)).toEqual([
      'a:Alpha',
      'a:Same',
      'b:Same',
      'b:Zeta',
    ]);
    expect(output.tags).toEqual(['yara:Alpha', 'yara:Same', 'yara:Zeta']);
    expect(seen).toEqual([YARA_SCAN_TIMEOUT_MS]);
  });
});
