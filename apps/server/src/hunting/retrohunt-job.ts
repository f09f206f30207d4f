import { AppError } from '@malpipe/core';
import { createRuleset, loadRulesetFromDirectory, type Ruleset } from '@malpipe/yara-engine';
import type { Database } from '../database/database.js';
import { findRulesetVersion, loadRulesetSources } from '../rulesets/ruleset-repository.js';
import type { JobContext, TransactionalJobQueue } from '../queue/job-queue.js';
import { runRetrohunt, type RetrohuntPlatform } from './run-retrohunt.js';

/** Finds the sources of a ruleset version; null when this resolver does not know it. */
export type RulesetResolver = (version: string) => Promise<Ruleset | null>;

export interface RetrohuntJobPlatform extends RetrohuntPlatform {
  /** The active ruleset, if any (compose.ts `Platform.ruleset`). */
  readonly ruleset: { readonly version: string; readonly rulesDir: string } | null;
  readonly config: { readonly worker: { readonly concurrency: number } };
}

/** A local hunt can take long: one attempt, a generous lease (a rescan of a big store is hours, not minutes). */
export const RETROHUNT_JOB_OPTIONS = { maxAttempts: 1, timeoutMs: 12 * 60 * 60_000 } as const;

/**
 * Queues a local retrohunt with a ruleset version, e.g. right after `deployRuleset` stored it (pass the
 * deploy's transaction so the job exists exactly when the version does; call `queue.wake()` after commit).
 */
export async function enqueueRetrohunt(queue: Pick<TransactionalJobQueue, 'enqueue' | 'enqueueInTransaction'>, rulesetVersion: string, trx?: Database): Promise<string> {
  return trx === undefined
    ? queue.enqueue('retrohunt', { rulesetVersion }, RETROHUNT_JOB_OPTIONS)
    : queue.enqueueInTransaction(trx, 'retrohunt', { rulesetVersion }, RETROHUNT_JOB_OPTIONS);
}

/** The `onDeployed` hook of `deployRuleset`: every deploy queues a rescan of the store, in the deploy's transaction. */
export function retrohuntOnDeploy(queue: Pick<TransactionalJobQueue, 'enqueue' | 'enqueueInTransaction'>): (trx: Database, version: string) => Promise<string> {
  return (trx, version) => enqueueRetrohunt(queue, version, trx);
}

/** Resolves versions stored by `malpipe rules import` (rulesets/), sources read back from the ObjectStore. */
export function storedRulesetResolver(platform: RetrohuntPlatform): RulesetResolver {
  return async (version) => {
    const stored = await findRulesetVersion(platform.db, version);
    if (stored === null) return null;
    return createRuleset(await loadRulesetSources(platform, stored));
  };
}

/** Resolves the platform's active ruleset when its version is the one asked for. */
export function activeRulesetResolver(platform: Pick<RetrohuntJobPlatform, 'ruleset'>): RulesetResolver {
  return async (version) => {
    if (platform.ruleset === null || platform.ruleset.version !== version) return null;
    const ruleset = await loadRulesetFromDirectory(platform.ruleset.rulesDir);
    return ruleset.version === version ? ruleset : null;
  };
}

/**
 * The `retrohunt` job handler: resolves the version (through `resolvers`, then the stored ruleset versions,
 * then the active ruleset directory) and scans every stored sample with it. An unknown version fails at once (not retryable).
 */
export function retrohuntHandler(platform: RetrohuntJobPlatform, resolvers: readonly RulesetResolver[] = []): (job: JobContext<'retrohunt'>) => Promise<void> {
  const chain = [...resolvers, storedRulesetResolver(platform), activeRulesetResolver(platform)];
  return async (job) => {
    const version = job.payload.rulesetVersion;
    if (typeof version !== 'string' || version === '') throw new AppError('VALIDATION_FAILED', 'retrohunt job without a ruleset version', { retryable: false });
    let ruleset: Ruleset | null = null;
    for (const resolve of chain) {
      ruleset = await resolve(version);
      if (ruleset !== null) break;
    }
    if (ruleset === null) throw new AppError('NOT_FOUND', `ruleset version ${version} is unknown here`, { retryable: false });
    await runRetrohunt(platform, ruleset, { signal: job.signal, concurrency: platform.config.worker.concurrency });
  };
}
