/**
 * Every job the platform runs, mapped to its plain-JSON payload. A job name without a handler in
 * `JobHandlers` is a compile error, not a start-up surprise.
 */
export interface Jobs {
  /** Run every accepting analyser on one sample (see analyses/run-analysis.ts). */
  'analyze-sample': { readonly analysisId: string };
  /** Fetch one submitted hash from the sample sources (see fetcher/hash-fetcher.ts). */
  'fetch-hash': { readonly hashRequestId: string };
  /** Download and parse the beacon stage of a suspected Cobalt Strike team server (see cobaltstrike/run-cs-probe.ts). */
  'cs-probe': { readonly target: string; readonly userAgent?: string };
  /** Scan every stored sample with one ruleset version, e.g. after a deploy (see hunting/run-retrohunt.ts). */
  retrohunt: { readonly rulesetVersion: string };
}

export type JobName = keyof Jobs;

// Record<JobName, true> fails to compile until a new job name is added here too, so the runtime list below
// (used by counts() and to refuse unknown names) can never lag behind `Jobs`.
const JOB_NAME_SET: Readonly<Record<JobName, true>> = { 'analyze-sample': true, 'fetch-hash': true, 'cs-probe': true, retrohunt: true };

/** Every job name, at run time. */
export const JOB_NAMES = Object.freeze(Object.keys(JOB_NAME_SET)) as readonly JobName[];

export function isJobName(value: string): value is JobName {
  return Object.hasOwn(JOB_NAME_SET, value);
}
