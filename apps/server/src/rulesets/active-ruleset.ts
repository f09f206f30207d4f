import path from 'node:path';
import type { Database } from '../database/database.js';
import type { ObjectStore } from '../storage/object-store.js';
import { findRulesetVersion, getActiveRulesetVersion, materialiseRuleset } from './ruleset-repository.js';

/**
 * How the pipeline follows deployments: the active version in the database (when there is one) wins over
 * the configured rules directory. It is written out under `<dataDir>/rulesets/<version>/` and loaded like
 * any rules directory, so its content version equals the version id and analysis caches stay keyed by it.
 */
export interface ActiveRulesetDeps {
  readonly db: Database;
  readonly store: Pick<ObjectStore, 'getBytes'>;
  readonly dataDir: string;
}

/** The active version's directory, or null when nothing was ever deployed. */
export async function resolveActiveRulesDir(deps: ActiveRulesetDeps): Promise<{ version: string; rulesDir: string } | null> {
  const id = await getActiveRulesetVersion(deps.db);
  if (id === null) return null;
  const version = await findRulesetVersion(deps.db, id);
  if (version === null) return null;
  return { version: id, rulesDir: await materialiseRuleset(deps, version, path.join(deps.dataDir, 'rulesets')) };
}

export interface WatchActiveRulesetOptions {
  readonly db: Database;
  /** The version loaded at start-up (null: none active then). */
  readonly initial: string | null;
  readonly intervalMs?: number;
  /** Called once per change, never concurrently; a failure is reported and retried on the next poll. */
  readonly onChange: (active: string | null) => Promise<void>;
  readonly onError: (error: unknown) => void;
}

/** Polls the active version (a cheap indexed read) and calls `onChange` when it moves. Returns `stop`. */
export function watchActiveRuleset(options: WatchActiveRulesetOptions): { stop: () => Promise<void> } {
  let current = options.initial;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = async (): Promise<void> => {
    try {
      const active = await getActiveRulesetVersion(options.db);
      if (active === current || stopped) return;
      await options.onChange(active);
      current = active;
    } catch (error) {
      options.onError(error);
    }
  };
  const timer = setInterval(() => {
    running = running.then(tick);
  }, options.intervalMs ?? 5_000);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
