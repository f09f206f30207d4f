import type { Analyzer, YaraRuleMatch } from '../analyzer.js';

export interface YaraAnalyzerResult {
  /** Engine that produced the matches (`libyara`, `yara-x`); null when skipped. */
  readonly engine: string | null;
  readonly rulesetVersion: string | null;
  /** Sorted by namespace then rule, so results do not depend on the engine's order. */
  readonly matches: readonly YaraRuleMatch[];
  /** Why nothing was scanned, when nothing was. */
  readonly skipped?: string;
}

/** Budget for one scan; libyara enforces it, YARA-X relies on the runner killing the child process. */
export const YARA_SCAN_TIMEOUT_MS = 60_000;

function compareMatches(a: YaraRuleMatch, b: YaraRuleMatch): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  if (a.rule !== b.rule) return a.rule < b.rule ? -1 : 1;
  return 0;
}

/** Scans the sample with the active ruleset (`context.yara`); each matching rule becomes a `yara:<rule>` tag. */
export const yaraAnalyzer: Analyzer<YaraAnalyzerResult> = {
  name: 'yara',
  version: '1.0.0',
  usesRuleset: true,
  accepts: () => true,
  async analyze(bytes, _facts, context) {
    const scanner = context.yara;
    if (scanner === undefined) {
      const skipped = 'no YARA ruleset is active (context.yara is not set)';
      return { result: { engine: null, rulesetVersion: null, matches: [], skipped }, warnings: [skipped] };
    }
    const matches = [...(await scanner.scan(bytes, { timeoutMs: YARA_SCAN_TIMEOUT_MS }))].sort(
      compareMatches,
    );
    const tags = [...new Set(matches.map((match) => `yara:${match.rule}`))];
    return { result: { engine: scanner.engine, rulesetVersion: scanner.rulesetVersion, matches }, tags };
  },
};
