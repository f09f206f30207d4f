import type { Logger } from 'pino';
import type { Database } from '../database/database.js';
import { listServersDueForProbe } from './beacon-config-repository.js';

export interface ReprobeScheduleOptions {
  readonly db: Database;
  /** Queues one `cs-probe` job. */
  readonly enqueue: (target: string) => Promise<unknown>;
  /** How often to look for stale servers; 0 disables the schedule. */
  readonly intervalMs: number;
  /** A server probed longer ago than this is probed again. */
  readonly staleAfterMs: number;
  /** Servers queued per tick, so a large catalogue is spread over time (and the rate limits hold). */
  readonly batch?: number;
  readonly logger?: Logger;
  readonly now?: () => Date;
}

export interface ReprobeSchedule {
  /** One pass (also what the timer runs); returns the targets queued. */
  tick(): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * Periodically re-probes known team servers (worker role): team servers come and go and change profiles, and
 * JPCERT-style monitoring is about seeing that. Each queued server is marked `queued` so the next tick and the
 * pipeline do not queue it twice. Overlapping ticks are skipped; `stop` waits for a running one.
 */
export function startReprobeSchedule(options: ReprobeScheduleOptions): ReprobeSchedule {
  let running: Promise<string[]> | null = null;
  const tick = (): Promise<string[]> => {
    running ??= (async () => {
      try {
        const now = options.now?.() ?? new Date();
        const before = new Date(now.getTime() - options.staleAfterMs).toISOString();
        const due = await listServersDueForProbe(options.db, before, options.batch ?? 50);
        for (const id of due) {
          await options.db.updateTable('cs_team_servers').set({ last_outcome: 'queued', last_probed_at: now.toISOString() }).where('id', '=', id).execute();
          await options.enqueue(id);
        }
        if (due.length > 0) options.logger?.info({ servers: due.length }, 'cs re-probes queued');
        return due;
      } finally {
        running = null;
      }
    })();
    return running;
  };
  const timer =
    options.intervalMs > 0
      ? setInterval(() => {
          tick().catch((error: unknown) => options.logger?.warn({ err: error }, 'cs re-probe tick failed'));
        }, options.intervalMs)
      : null;
  timer?.unref();
  return {
    tick,
    async stop() {
      if (timer !== null) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
