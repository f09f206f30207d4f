import type { JobHandlers } from './job-queue.js';
import { JOB_NAMES } from './jobs.js';

/**
 * The given handlers plus a no-op for every other job name: for tests and tools that exercise only some
 * jobs, so adding a job to `Jobs` does not break them all.
 */
export function withIdleHandlers(handlers: Partial<JobHandlers>): JobHandlers {
  return { ...Object.fromEntries(JOB_NAMES.map((name) => [name, async () => undefined])), ...handlers } as JobHandlers;
}
