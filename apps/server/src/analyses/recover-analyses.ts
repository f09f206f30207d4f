import type { Database } from '../database/database.js';

/** What the job queue knows about analyze-sample jobs, by analysis id. */
export interface AnalysisJobStates {
  /** Analyses with a job that will still run (queued, running or awaiting a retry). */
  readonly live: ReadonlySet<string>;
  /** Analyses whose job gave up (dead), with its last error. */
  readonly dead: ReadonlyMap<string, string | null>;
}

export interface RecoverAnalysesDeps {
  readonly db: Database;
  readonly jobStates: (analysisIds: readonly string[]) => Promise<AnalysisJobStates>;
  /** Enqueues analyze-sample inside the transaction that resets the analysis. */
  readonly enqueueAnalysis: (trx: Database, analysisId: string) => Promise<void>;
  readonly now?: () => Date;
}

export interface RecoveryReport {
  readonly requeued: readonly string[];
  readonly failed: readonly string[];
}

const BATCH = 500;

/**
 * Start-up sweep, belt and braces on top of the transactional enqueue: an analysis left `queued` or
 * `running` with no job that will run it gets a new job; one whose job died is marked failed (re-queueing it
 * would only kill the next worker too).
 */
export async function recoverAnalyses(deps: RecoverAnalysesDeps): Promise<RecoveryReport> {
  const requeued: string[] = [];
  const failed: string[] = [];
  let after = '';
  for (;;) {
    const rows = await deps.db
      .selectFrom('analyses')
      .select('id')
      .where('state', 'in', ['queued', 'running'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(BATCH)
      .execute();
    if (rows.length === 0) break;
    after = rows[rows.length - 1]?.id ?? after;
    const ids = rows.map((r) => r.id);
    const states = await deps.jobStates(ids);
    for (const id of ids) {
      if (states.live.has(id)) continue;
      const now = (deps.now?.() ?? new Date()).toISOString();
      if (states.dead.has(id)) {
        await deps.db
          .updateTable('analyses')
          .set({ state: 'failed', error_code: 'ANALYZER_CRASHED', error_message: `the analysis job gave up: ${states.dead.get(id) ?? 'unknown error'}`, finished_at: now })
          .where('id', '=', id)
          .where('state', 'in', ['queued', 'running'])
          .execute();
        failed.push(id);
        continue;
      }
      await deps.db.transaction().execute(async (trx) => {
        await trx.updateTable('analyses').set({ state: 'queued', started_at: null }).where('id', '=', id).execute();
        await deps.enqueueAnalysis(trx, id);
      });
      requeued.push(id);
    }
    if (rows.length < BATCH) break;
  }
  return { requeued, failed };
}
