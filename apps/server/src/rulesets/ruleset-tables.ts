/** The ruleset tables (migration 0006-ruleset-versions), merged into the database Schema. */
export interface RulesetTables {
  ruleset_versions: RulesetVersionsTable;
  ruleset_deployments: RulesetDeploymentsTable;
  ruleset_rule_history: RulesetRuleHistoryTable;
}

export type RulesetState = 'draft' | 'active' | 'retired';

/** One immutable ruleset version. `id` is the content version the pipeline computes (createRuleset). */
export interface RulesetVersionsTable {
  id: string;
  created_at: string;
  /** The version active (else the newest) when this one was imported. */
  parent_id: string | null;
  source_path: string | null;
  /** HEAD of the git work tree the rules came from; `+dirty` when it had uncommitted changes. */
  git_commit: string | null;
  /** JSON: [{ path, namespace, key, sha256, size }]; the bytes live in the ObjectStore under `key`. */
  files: string;
  /** JSON: [{ namespace, name, hash }] (hash of the normalised rule text). */
  rules: string;
  rule_count: number;
  /** JSON CheckReport of the quality gate, when it ran. */
  check_report: string | null;
  /** 1 passed, 0 failed, null not checked. */
  check_passed: number | null;
  state: RulesetState;
  activated_at: string | null;
}

/** The deploy log: the active version is the newest row not rolled back. */
export interface RulesetDeploymentsTable {
  seq: number;
  version_id: string;
  deployed_at: string;
  deployed_by: string | null;
  rolled_back_at: string | null;
}

/** Each distinct content of a rule, with the first and last versions that contained it. */
export interface RulesetRuleHistoryTable {
  namespace: string;
  name: string;
  rule_hash: string;
  first_version: string;
  last_version: string;
  first_seen_at: string;
  last_seen_at: string;
}
