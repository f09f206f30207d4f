import type { YaraSource } from '@malpipe/yara-engine';
import type { RuleIdentity } from './diff-rulesets.js';
import { parseRules, ruleHash } from './parse-rules.js';

/** The rules of a set of sources, each with its content hash (the unit of ruleset diffs and rule history). */
export function ruleIdentities(sources: readonly YaraSource[]): RuleIdentity[] {
  return sources.flatMap((source) =>
    parseRules(source.source, source.origin ?? source.namespace, source.namespace).rules.map((rule) => ({
      namespace: source.namespace,
      name: rule.name,
      hash: ruleHash(rule),
    })),
  );
}
