import type { Logger } from 'pino';
import { AppError } from '@malpipe/core';
import type { Config } from '../config.js';
import type { Database } from '../database/database.js';
import type { JobContext, TransactionalJobQueue } from '../queue/job-queue.js';
import type { ObjectStore } from '../storage/object-store.js';
import { parseProbeTarget, PROBE_DEFAULTS } from './probe/probe-team-server.js';
import { RateLimiter } from './probe/rate-limiter.js';
import { startReprobeSchedule, type ReprobeSchedule } from './reprobe-schedule.js';
import { runCsProbe, type CsProbeDeps } from './run-cs-probe.js';

/**
 * How compose.ts wires Cobalt Strike probing into the platform: the `cs-probe` job (options, enqueue, handler),
 * the HTTP services, and the worker's re-probe schedule. Kept here so compose.ts needs one line per hook.
 */

/** A probe is 4 attempts with retries and pacing: minutes at worst. Two tries: a second run from a fresh start. */
export const CS_PROBE_JOB_OPTIONS = { maxAttempts: 2, timeoutMs: 10 * 60_000 } as const;

/** What the HTTP routes need to start a probe. */
export interface CobaltStrikeHttpServices {
  /** Validates the target and queues a `cs-probe` job; returns the job id. */
  enqueueProbe(target: string): Promise<string>;
}

export function enqueueCsProbeJob(queue: Pick<TransactionalJobQueue, 'enqueueInTransaction'>, trx: Database, target: string, userAgent?: string): Promise<string> {
  return queue.enqueueInTransaction(trx, 'cs-probe', userAgent === undefined ? { target } : { target, userAgent }, CS_PROBE_JOB_OPTIONS);
}

export function createCobaltStrikeHttpServices(queue: Pick<TransactionalJobQueue, 'enqueue'>): CobaltStrikeHttpServices {
  return {
    enqueueProbe: (target) => {
      parseProbeTarget(target);
      return queue.enqueue('cs-probe', { target }, CS_PROBE_JOB_OPTIONS);
    },
  };
}

interface CsPlatformSlice {
  readonly db: Database;
  readonly store: Pick<ObjectStore, 'put'>;
  readonly logger: Logger;
  readonly config: Pick<Config, 'cobaltStrike'>;
}

/** Probe options from the configuration; one rate limiter shared by every probe of the process. */
export function csProbeDeps(platform: CsPlatformSlice, limiter = new RateLimiter({ globalIntervalMs: PROBE_DEFAULTS.globalIntervalMs, perHostIntervalMs: PROBE_DEFAULTS.perHostIntervalMs })): CsProbeDeps {
  const cs = platform.config.cobaltStrike;
  return {
    db: platform.db,
    store: platform.store,
    logger: platform.logger.child({ component: 'cs-probe' }),
    probe: { allowPrivate: cs.allowPrivate, proxy: cs.proxy, rateLimiter: limiter },
  };
}

/** The `cs-probe` job handler. A malformed target fails at once (it will not parse better next time). */
export function csProbeHandler(platform: CsPlatformSlice): (job: JobContext<'cs-probe'>) => Promise<void> {
  const deps = csProbeDeps(platform);
  return async (job) => {
    if (typeof job.payload.target !== 'string') throw new AppError('VALIDATION_FAILED', 'cs-probe job without a target', { retryable: false });
    const userAgent = typeof job.payload.userAgent === 'string' && job.payload.userAgent !== '' ? { userAgent: job.payload.userAgent } : {};
    await runCsProbe({ ...deps, probe: { ...deps.probe, ...userAgent, signal: job.signal } }, job.payload.target);
  };
}

/** The worker's re-probe schedule (off when `reprobeIntervalMs` is 0); `stop` belongs in the platform's closers. */
export function startCsReprobe(platform: CsPlatformSlice & { readonly queue: Pick<TransactionalJobQueue, 'enqueue'> }): ReprobeSchedule {
  return startReprobeSchedule({
    db: platform.db,
    enqueue: (target) => platform.queue.enqueue('cs-probe', { target }, CS_PROBE_JOB_OPTIONS),
    intervalMs: platform.config.cobaltStrike.reprobeIntervalMs,
    staleAfterMs: platform.config.cobaltStrike.reprobeAfterMs,
    logger: platform.logger.child({ component: 'cs-reprobe' }),
  });
}
