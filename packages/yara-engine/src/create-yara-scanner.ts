import type { YaraRuleMatch, YaraScanner } from '@malpipe/analyzers';
import type { Ruleset } from './load-ruleset.js';
import type { CompiledRules, YaraEngine, YaraScanOptions } from './yara-engine.js';

/** The scanner analysers receive (`AnalyzerContext.yara`), holding one compiled ruleset. */
export interface RulesetScanner extends YaraScanner {
  readonly rules: CompiledRules;
  scanFile(path: string, options?: YaraScanOptions): Promise<readonly YaraRuleMatch[]>;
  dispose(): void;
}

/** Wraps rules compiled (or loaded) elsewhere, e.g. by `loadCompiledRules` in a pipeline child process. */
export function scannerFromCompiledRules(rules: CompiledRules, rulesetVersion: string): RulesetScanner {
  return {
    engine: rules.engine,
    rulesetVersion,
    rules,
    scan: (bytes, options) => rules.scan(bytes, options),
    scanFile: (path, options) => rules.scanFile(path, options),
    dispose: () => rules.dispose(),
  };
}

/** Compiles `ruleset` once with `engine`; YARA_COMPILE_FAILED carries origin and line. */
export async function createYaraScanner(engine: YaraEngine, ruleset: Ruleset): Promise<RulesetScanner> {
  return scannerFromCompiledRules(await engine.compile(ruleset.sources), ruleset.version);
}
