/** A rule's identity in a ruleset version: namespace, name and the hash of its normalised text. */
export interface RuleIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly hash: string;
}

export interface RulesetDiff {
  readonly added: readonly RuleIdentity[];
  readonly removed: readonly RuleIdentity[];
  /** Same namespace and name, different normalised text. */
  readonly changed: readonly { readonly namespace: string; readonly name: string; readonly from: string; readonly to: string }[];
  readonly unchanged: number;
}

const keyOf = (r: Pick<RuleIdentity, 'namespace' | 'name'>): string => `${r.namespace}\0${r.name}`;
const byKey = (a: Pick<RuleIdentity, 'namespace' | 'name'>, b: Pick<RuleIdentity, 'namespace' | 'name'>): number => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);

/** What changed from `before` to `after` (formatting and comments are not changes: see `ruleHash`). */
export function diffRuleIdentities(before: readonly RuleIdentity[], after: readonly RuleIdentity[]): RulesetDiff {
  const old = new Map(before.map((r) => [keyOf(r), r]));
  const now = new Map(after.map((r) => [keyOf(r), r]));
  const added = after.filter((r) => !old.has(keyOf(r))).sort(byKey);
  const removed = before.filter((r) => !now.has(keyOf(r))).sort(byKey);
  const changed = after
    .flatMap((r) => {
      const prior = old.get(keyOf(r));
      return prior !== undefined && prior.hash !== r.hash ? [{ namespace: r.namespace, name: r.name, from: prior.hash, to: r.hash }] : [];
    })
    .sort(byKey);
  return { added, removed, changed, unchanged: after.length - added.length - changed.length };
}

