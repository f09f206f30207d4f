import type { YaraScanner } from '@malpipe/analyzers';
import { createYaraEngine, createYaraScanner, loadCompiledRules, loadRulesetFromDirectory, scannerFromCompiledRules } from '@malpipe/yara-engine';
import type { SandboxYaraSpec } from './sandbox-protocol.js';

/**
 * Loads the active ruleset inside a sandbox child: libyara loads the rules the parent compiled and saved
 * (milliseconds); YARA-X, which cannot save, compiles the rule directory itself. A missing or stale saved
 * file also falls back to compiling, so a child never scans with the wrong rules.
 */
export async function loadYaraScanner(spec: SandboxYaraSpec): Promise<YaraScanner> {
  const engine = await createYaraEngine(spec.engine);
  if (spec.compiledPath !== null) {
    const rules = await loadCompiledRules(engine, spec.version, spec.compiledPath).catch(() => null);
    if (rules !== null) return scannerFromCompiledRules(rules, spec.version);
  }
  const ruleset = await loadRulesetFromDirectory(spec.rulesDir);
  return createYaraScanner(engine, ruleset);
}
