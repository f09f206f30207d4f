import { z } from 'zod';

/** Wire shapes of /api/v1/rulesets and /api/v1/rules (server routes, CLI and the dashboard's ruleset and rule pages). */
export const VersionParamsSchema = z.object({ version: z.string().regex(/^[0-9a-f]{16}$/, 'a 16-hex-digit ruleset version') });
export const RuleNameParamsSchema = z.object({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'a YARA rule name') });

const RuleIdentitySchema = z.object({ namespace: z.string(), name: z.string(), hash: z.string() });

export const RulesetVersionSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  parentId: z.string().nullable(),
  sourcePath: z.string().nullable(),
  gitCommit: z.string().nullable(),
  state: z.enum(['draft', 'active', 'retired']),
  activatedAt: z.string().nullable(),
  ruleCount: z.number(),
  fileCount: z.number(),
  checkPassed: z.boolean().nullable(),
});

export const RulesetListSchema = z.object({ active: z.string().nullable(), versions: z.array(RulesetVersionSchema) });

export const RulesetDiffSchema = z.object({
  added: z.array(RuleIdentitySchema),
  removed: z.array(RuleIdentitySchema),
  changed: z.array(z.object({ namespace: z.string(), name: z.string(), from: z.string(), to: z.string() })),
  unchanged: z.number(),
});

export const RulesetDetailSchema = RulesetVersionSchema.extend({
  files: z.array(z.object({ path: z.string(), namespace: z.string(), sha256: z.string(), size: z.number() })),
  rules: z.array(RuleIdentitySchema),
  /** Against the parent version; null for the first version. */
  diff: RulesetDiffSchema.nullable(),
  /** The quality gate's report as stored at import (schema malpipe-yara-check/1), or null. */
  checkReport: z.record(z.string(), z.unknown()).nullable(),
});

export const RuleHistorySchema = z.object({
  name: z.string(),
  versions: z.array(
    z.object({ namespace: z.string(), ruleHash: z.string(), firstVersion: z.string(), lastVersion: z.string(), firstSeenAt: z.string(), lastSeenAt: z.string() }),
  ),
  /** This rule's findings and test results from the active version's report if it holds the rule, else from the newest version holding it that has a report. */
  checks: z
    .object({ version: z.string(), findings: z.array(z.record(z.string(), z.unknown())), tests: z.record(z.string(), z.unknown()).nullable() })
    .nullable(),
  matches: z.array(z.object({ sha256: z.string(), rulesetVersion: z.string(), namespace: z.string() })),
});

export type RulesetVersionSummary = z.infer<typeof RulesetVersionSchema>;
export type RulesetList = z.infer<typeof RulesetListSchema>;
export type RulesetDetail = z.infer<typeof RulesetDetailSchema>;
export type RuleHistory = z.infer<typeof RuleHistorySchema>;
