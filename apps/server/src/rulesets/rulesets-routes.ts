import type { z } from 'zod';
import {
  RuleHistorySchema,
  RuleNameParamsSchema,
  RulesetDetailSchema,
  RulesetListSchema,
  RulesetVersionSchema,
  VersionParamsSchema,
} from '@malpipe/api-client';
import { AppError } from '@malpipe/core';
import type { Database } from '../database/database.js';
import type { ZodApp } from '../http/zod-app.js';
import { principalOf } from '../http/authenticate.js';
import {
  deployRuleset,
  diffRulesets,
  getActiveRulesetVersion,
  getCheckReport,
  getRuleHistory,
  getRuleMatches,
  getRulesetVersion,
  listRulesetVersions,
  rollbackRuleset,
  type RuleHistoryEntry,
  type RulesetVersion,
} from './ruleset-repository.js';

function summary(version: RulesetVersion): z.infer<typeof RulesetVersionSchema> {
  return {
    id: version.id,
    createdAt: version.createdAt,
    parentId: version.parentId,
    sourcePath: version.sourcePath,
    gitCommit: version.gitCommit,
    state: version.state,
    activatedAt: version.activatedAt,
    ruleCount: version.ruleCount,
    fileCount: version.files.length,
    checkPassed: version.checkPassed,
  };
}

/**
 * The rule's latest check results: from the active version's report when the active version holds the rule,
 * else from the newest version holding it that has a report (a rule added in a draft shows that draft's
 * findings, not an active report that never saw it). Null when no version holding the rule has a report.
 */
async function ruleChecks(db: Database, name: string, history: readonly RuleHistoryEntry[]): Promise<z.infer<typeof RuleHistorySchema>['checks']> {
  const active = await getActiveRulesetVersion(db);
  const newestFirst = [...history].sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt)).map((entry) => entry.lastVersion);
  const activeHoldsRule = active !== null && (await getRulesetVersion(db, active)).rules.some((rule) => rule.name === name);
  for (const version of new Set([...(activeHoldsRule ? [active] : []), ...newestFirst])) {
    const report = await getCheckReport(db, version);
    if (report === null) continue;
    const findings = Array.isArray(report.findings) ? (report.findings as Record<string, unknown>[]).filter((f) => f.rule === name) : [];
    const tests = Array.isArray(report.tests) ? ((report.tests as Record<string, unknown>[]).find((t) => t.rule === name) ?? null) : null;
    return { version, findings, tests };
  }
  return null;
}

/**
 * Ruleset versions under /api/v1/rulesets and rule history under /api/v1/rules. Reading needs `read`;
 * deploying and rolling back change what every worker scans with, so they need an admin permission
 * (`jobs:manage`, the admin-only operations permission).
 */
export function registerRulesetRoutes(
  api: ZodApp,
  services: {
    readonly db: Database;
    readonly onRulesetDeployed?: (trx: Database, version: string) => Promise<unknown>;
    readonly afterRulesetDeployed?: () => void;
  },
): void {
  const { db, onRulesetDeployed, afterRulesetDeployed } = services;
  api.get(
    '/rulesets',
    {
      config: { permission: 'read' },
      schema: { summary: 'Ruleset versions, newest first, and the active one', tags: ['rulesets'], response: { 200: RulesetListSchema } },
    },
    async () => ({ active: await getActiveRulesetVersion(db), versions: (await listRulesetVersions(db)).map(summary) }),
  );

  api.get(
    '/rulesets/:version',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'One ruleset version: files, rules, diff against its parent, quality-gate report',
        tags: ['rulesets'],
        params: VersionParamsSchema,
        response: { 200: RulesetDetailSchema },
      },
    },
    async (request) => {
      const version = await getRulesetVersion(db, request.params.version);
      const diff = version.parentId === null ? null : await diffRulesets(db, version.parentId, version.id);
      return {
        ...summary(version),
        files: version.files.map((f) => ({ path: f.path, namespace: f.namespace, sha256: f.sha256, size: f.size })),
        rules: [...version.rules],
        diff: diff === null ? null : { ...diff, added: [...diff.added], removed: [...diff.removed], changed: [...diff.changed] },
        checkReport: await getCheckReport(db, version.id),
      };
    },
  );

  api.post(
    '/rulesets/:version/deploy',
    {
      config: { permission: 'jobs:manage' },
      schema: { summary: 'Make this version the active ruleset (workers reload it)', tags: ['rulesets'], params: VersionParamsSchema, response: { 200: RulesetVersionSchema } },
    },
    async (request) => {
      const deployed = await deployRuleset(
        onRulesetDeployed === undefined ? { db } : { db, onDeployed: onRulesetDeployed },
        request.params.version,
        principalOf(request).tokenId,
      );
      afterRulesetDeployed?.();
      return summary(deployed);
    },
  );

  api.post(
    '/rulesets/rollback',
    {
      config: { permission: 'jobs:manage' },
      schema: { summary: 'Return to the version deployed before the active one', tags: ['rulesets'], response: { 200: RulesetVersionSchema } },
    },
    async () => summary(await rollbackRuleset({ db })),
  );

  api.get(
    '/rules/:name/history',
    {
      config: { permission: 'read' },
      schema: {
        summary: "A rule's content history across versions, its latest check results and the samples it matched",
        tags: ['rulesets'],
        params: RuleNameParamsSchema,
        response: { 200: RuleHistorySchema },
      },
    },
    async (request) => {
      const { name } = request.params;
      const versions = await getRuleHistory(db, name);
      const matches = await getRuleMatches(db, name);
      if (versions.length === 0 && matches.length === 0) throw new AppError('NOT_FOUND', `no rule named ${name} in any ruleset version`);
      return { name, versions, checks: await ruleChecks(db, name, versions), matches };
    },
  );
}
