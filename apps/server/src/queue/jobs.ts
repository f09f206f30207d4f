/**
 * Every job the platform runs, mapped to its plain-JSON payload. A job name without a handler in
 * `JobHandlers` is a compile error, not a start-up surprise.
 */
export interface Jobs {
  /** Run every accepting analyser on one sample (see pipeline/run-analysis.ts). */
  'analyze-sample': { readonly analysisId: string };
}

export type JobName = keyof Jobs;
