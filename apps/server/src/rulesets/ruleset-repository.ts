import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@malpipe/core';
import { diffRuleIdentities, ruleIdentities, type RuleIdentity, type RulesetDiff } from '@malpipe/yara-ci';
import { loadRulesetFromDirectory, type YaraSource } from '@malpipe/yara-engine';
import type { Database } from '../database/database.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { RulesetState, RulesetVersionsTable } from './ruleset-tables.js';

/**
 * Ruleset versions: `importRuleset` turns a rules directory (or git work tree) into an immutable version
 * whose id is the pipeline's content version, with the sources kept in the ObjectStore; `deployRuleset` /
 * `rollbackRuleset` choose the active version, which the pipeline loads instead of the configured directory
 * (see active-ruleset.ts). Repositories are functions taking the database, as elsewhere.
 */
export interface RulesetFile {
  /** Relative path inside the ruleset (`apt/cobalt.yar`). */
  readonly path: string;
  readonly namespace: string;
  /** ObjectStore key (content-addressed). */
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
}

export interface RulesetVersion {
  readonly id: string;
  readonly createdAt: string;
  readonly parentId: string | null;
  readonly sourcePath: string | null;
  readonly gitCommit: string | null;
  readonly files: readonly RulesetFile[];
  readonly rules: readonly RuleIdentity[];
  readonly ruleCount: number;
  readonly state: RulesetState;
  readonly activatedAt: string | null;
  /** null: the quality gate did not run before import. */
  readonly checkPassed: boolean | null;
}

export interface RulesetDeps {
  readonly db: Database;
  readonly store: Pick<ObjectStore, 'put' | 'has' | 'getBytes'>;
  readonly now?: () => Date;
}

const VERSION_COLUMNS = ['id', 'created_at', 'parent_id', 'source_path', 'git_commit', 'files', 'rules', 'rule_count', 'check_passed', 'state', 'activated_at'] as const;
/** The columns toVersion reads, typed from the table so the two cannot drift. */
type VersionRow = Pick<RulesetVersionsTable, (typeof VERSION_COLUMNS)[number]>;
const VERSION_ID = /^[0-9a-f]{16}$/;

function toVersion(row: VersionRow): RulesetVersion {
  return {
    id: row.id,
    createdAt: row.created_at,
    parentId: row.parent_id,
    sourcePath: row.source_path,
    gitCommit: row.git_commit,
    files: JSON.parse(row.files) as RulesetFile[],
    rules: JSON.parse(row.rules) as RuleIdentity[],
    ruleCount: Number(row.rule_count),
    state: row.state,
    activatedAt: row.activated_at,
    checkPassed: row.check_passed === null ? null : Number(row.check_passed) === 1,
  };
}

function sourceKey(sha256: string): string {
  return `rulesets/sources/${sha256}`;
}

/** HEAD of the git work tree holding `dir` (`+dirty` with uncommitted changes), or null outside git. */
export function gitCommitOf(dir: string): Promise<string | null> {
  const git = (args: string[]): Promise<string | null> =>
    new Promise((resolve) => {
      execFile('git', ['-C', dir, ...args], { timeout: 10_000 }, (error, stdout) => resolve(error === null ? stdout.trim() : null));
    });
  return git(['rev-parse', 'HEAD']).then(async (head) => {
    if (head === null || !/^[0-9a-f]{40}$/.test(head)) return null;
    const status = await git(['status', '--porcelain', '--', '.']);
    return status === null || status === '' ? head : `${head}+dirty`;
  });
}

export interface ImportRulesetOptions {
  /** The quality gate's report (stored as JSON; `passed` sets check_passed). */
  readonly checkReport?: { readonly passed: boolean } | null;
  /** Recorded as the source; default the directory itself. */
  readonly sourcePath?: string;
}

/**
 * Imports the rules under `dir` as a new draft version; importing identical content again returns the
 * existing version (`created: false`): versions are immutable and named by their content.
 */
export async function importRuleset(
  deps: RulesetDeps,
  dir: string,
  options: ImportRulesetOptions = {},
): Promise<{ version: RulesetVersion; created: boolean }> {
  const ruleset = await loadRulesetFromDirectory(dir);
  const existing = await findRulesetVersion(deps.db, ruleset.version);
  if (existing !== null) return { version: existing, created: false };
  if (ruleset.sources.length === 0) throw new AppError('VALIDATION_FAILED', `no .yar or .yara files under ${dir}`);

  const files: RulesetFile[] = [];
  for (const source of ruleset.sources) {
    const bytes = Buffer.from(source.source, 'utf8');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = sourceKey(sha256);
    if (!(await deps.store.has(key))) await deps.store.put(key, bytes);
    files.push({ path: source.origin ?? `${source.namespace}.yar`, namespace: source.namespace, key, sha256, size: bytes.byteLength });
  }
  const rules = ruleIdentities(ruleset.sources);
  const now = (deps.now?.() ?? new Date()).toISOString();
  const gitCommit = await gitCommitOf(dir);
  await deps.db.transaction().execute(async (trx) => {
    const parent =
      (await trx.selectFrom('ruleset_versions').select('id').where('state', '=', 'active').executeTakeFirst()) ??
      (await trx.selectFrom('ruleset_versions').select('id').orderBy('created_at', 'desc').orderBy('id').limit(1).executeTakeFirst());
    await trx
      .insertInto('ruleset_versions')
      .values({
        id: ruleset.version,
        created_at: now,
        parent_id: parent?.id ?? null,
        source_path: options.sourcePath ?? path.resolve(dir),
        git_commit: gitCommit,
        files: JSON.stringify(files),
        rules: JSON.stringify(rules),
        rule_count: rules.length,
        check_report: options.checkReport == null ? null : JSON.stringify(options.checkReport),
        check_passed: options.checkReport == null ? null : options.checkReport.passed ? 1 : 0,
        state: 'draft',
        activated_at: null,
      })
      .execute();
    for (const rule of rules) {
      const updated = await trx
        .updateTable('ruleset_rule_history')
        .set({ last_version: ruleset.version, last_seen_at: now })
        .where('namespace', '=', rule.namespace)
        .where('name', '=', rule.name)
        .where('rule_hash', '=', rule.hash)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) {
        await trx
          .insertInto('ruleset_rule_history')
          .values({ namespace: rule.namespace, name: rule.name, rule_hash: rule.hash, first_version: ruleset.version, last_version: ruleset.version, first_seen_at: now, last_seen_at: now })
          .execute();
      }
    }
  });
  const version = await findRulesetVersion(deps.db, ruleset.version);
  if (version === null) throw new AppError('INTERNAL', `ruleset version ${ruleset.version} vanished after import`);
  return { version, created: true };
}

export async function findRulesetVersion(db: Database, id: string): Promise<RulesetVersion | null> {
  if (!VERSION_ID.test(id)) return null;
  const row = await db.selectFrom('ruleset_versions').select(VERSION_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row === undefined ? null : toVersion(row);
}

export async function getRulesetVersion(db: Database, id: string): Promise<RulesetVersion> {
  const version = await findRulesetVersion(db, id);
  if (version === null) throw new AppError('NOT_FOUND', `no ruleset version ${id}`);
  return version;
}

/** The stored quality-gate report of a version (parsed JSON), or null. */
export async function getCheckReport(db: Database, id: string): Promise<Record<string, unknown> | null> {
  const row = await db.selectFrom('ruleset_versions').select('check_report').where('id', '=', id).executeTakeFirst();
  return row?.check_report == null ? null : (JSON.parse(row.check_report) as Record<string, unknown>);
}

/** Newest first. */
export async function listRulesetVersions(db: Database, limit = 100): Promise<RulesetVersion[]> {
  const rows = await db.selectFrom('ruleset_versions').select(VERSION_COLUMNS).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
  return rows.map(toVersion);
}

export async function getActiveRulesetVersion(db: Database): Promise<string | null> {
  const row = await db.selectFrom('ruleset_versions').select('id').where('state', '=', 'active').executeTakeFirst();
  return row?.id ?? null;
}

/** Rules added, removed and changed from version `a` to version `b`. */
export async function diffRulesets(db: Database, a: string, b: string): Promise<RulesetDiff> {
  const [from, to] = await Promise.all([getRulesetVersion(db, a), getRulesetVersion(db, b)]);
  return diffRuleIdentities(from.rules, to.rules);
}

async function setActive(trx: Database, id: string, now: string): Promise<void> {
  await trx.updateTable('ruleset_versions').set({ state: 'retired' }).where('state', '=', 'active').execute();
  await trx.updateTable('ruleset_versions').set({ state: 'active', activated_at: now }).where('id', '=', id).execute();
}

/** Makes `id` the active version (idempotent); workers pick it up on their next poll. */
export async function deployRuleset(deps: Pick<RulesetDeps, 'db' | 'now'> & { readonly onDeployed?: (trx: Database, id: string) => Promise<unknown> }, id: string, deployedBy: string | null = null): Promise<RulesetVersion> {
  const version = await getRulesetVersion(deps.db, id);
  if (version.state === 'active') return version;
  const now = (deps.now?.() ?? new Date()).toISOString();
  await deps.db.transaction().execute(async (trx) => {
    const last = await trx.selectFrom('ruleset_deployments').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
    await trx.insertInto('ruleset_deployments').values({ seq: Number(last?.seq ?? 0) + 1, version_id: id, deployed_at: now, deployed_by: deployedBy, rolled_back_at: null }).execute();
    await setActive(trx, id, now);
    await deps.onDeployed?.(trx, id); // e.g. hunting/retrohunt-job.ts retrohuntOnDeploy: rescan the store with it
  });
  return getRulesetVersion(deps.db, id);
}

/** Returns to the version deployed before the active one; CONFLICT when there is none. */
export async function rollbackRuleset(deps: Pick<RulesetDeps, 'db' | 'now'>): Promise<RulesetVersion> {
  const now = (deps.now?.() ?? new Date()).toISOString();
  const target = await deps.db.transaction().execute(async (trx) => {
    const live = await trx.selectFrom('ruleset_deployments').select(['seq', 'version_id']).where('rolled_back_at', 'is', null).orderBy('seq', 'desc').limit(2).execute();
    const [current, previous] = live;
    if (current === undefined || previous === undefined) {
      throw new AppError('CONFLICT', current === undefined ? 'no ruleset has been deployed' : 'no earlier deployment to roll back to');
    }
    await trx.updateTable('ruleset_deployments').set({ rolled_back_at: now }).where('seq', '=', current.seq).execute();
    await setActive(trx, previous.version_id, now);
    return previous.version_id;
  });
  return getRulesetVersion(deps.db, target);
}

/** The sources of a version, read back from the ObjectStore. */
export async function loadRulesetSources(deps: { readonly store: Pick<ObjectStore, 'getBytes'> }, version: RulesetVersion): Promise<YaraSource[]> {
  const sources: YaraSource[] = [];
  for (const file of version.files) {
    const bytes = await deps.store.getBytes(file.key, 64 * 1024 * 1024);
    sources.push({ namespace: file.namespace, source: Buffer.from(bytes).toString('utf8'), origin: file.path });
  }
  return sources;
}

/**
 * Writes a version's files under `<root>/<id>/` (once; a finished directory is reused) so the pipeline and
 * its sandbox children load it like any rules directory, with the same content version.
 */
export async function materialiseRuleset(deps: { readonly store: Pick<ObjectStore, 'getBytes'> }, version: RulesetVersion, root: string): Promise<string> {
  const target = path.join(root, version.id);
  if (await stat(path.join(target, '.complete')).then(() => true, () => false)) return target;
  const temp = path.join(root, `.${version.id}.${randomUUID()}`);
  try {
    for (const file of version.files) {
      const relative = path.normalize(file.path);
      if (relative.startsWith('..') || path.isAbsolute(relative)) throw new AppError('PATH_TRAVERSAL', `ruleset file path ${file.path}`);
      const sources = await loadRulesetSources(deps, { ...version, files: [file] });
      const full = path.join(temp, relative);
      await mkdir(path.dirname(full), { recursive: true });
      await writeFile(full, sources[0]?.source ?? '');
    }
    await writeFile(path.join(temp, '.complete'), version.id);
    await rm(target, { recursive: true, force: true });
    await rename(temp, target);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return target;
}

export interface RuleHistoryEntry {
  readonly namespace: string;
  readonly ruleHash: string;
  readonly firstVersion: string;
  readonly lastVersion: string;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
}

/** Every content a rule has had, oldest first. */
export async function getRuleHistory(db: Database, name: string): Promise<RuleHistoryEntry[]> {
  const rows = await db.selectFrom('ruleset_rule_history').selectAll().where('name', '=', name).orderBy('first_seen_at').orderBy('rule_hash').execute();
  return rows.map((r) => ({ namespace: r.namespace, ruleHash: r.rule_hash, firstVersion: r.first_version, lastVersion: r.last_version, firstSeenAt: r.first_seen_at, lastSeenAt: r.last_seen_at }));
}

/** Samples the rule matched (any ruleset version), newest versions first. */
export async function getRuleMatches(db: Database, name: string, limit = 100): Promise<{ sha256: string; rulesetVersion: string; namespace: string }[]> {
  const rows = await db.selectFrom('yara_matches').select(['sha256', 'ruleset_version', 'namespace']).where('rule', '=', name).orderBy('ruleset_version', 'desc').orderBy('sha256').limit(limit).execute();
  return rows.map((r) => ({ sha256: r.sha256, rulesetVersion: r.ruleset_version, namespace: r.namespace }));
}
