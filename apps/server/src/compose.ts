import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { DEFAULT_LIMITS, type Analyzer, type AnalyzerLimits } from '@malpipe/analyzers';
import { BUILTIN_ANALYZERS } from '@malpipe/analyzers/registry';
import { identifyFile } from '@malpipe/analyzers/identify/identify-file';
import { isAppError, toAppError } from '@malpipe/core';
import { createYaraEngine, DEFAULT_RULES_DIR, loadOrCompileRules, loadRulesetFromDirectory } from '@malpipe/yara-engine';
import type { Config } from './config.js';
import { createDatabase } from './database/create-database.js';
import type { Database } from './database/database.js';
import { createJobQueue, type ManagedJobQueue } from './queue/create-job-queue.js';
import { createObjectStore } from './storage/create-object-store.js';
import type { ObjectStore } from './storage/object-store.js';
import { AnalyzerSandbox } from './sandbox/analyzer-sandbox.js';
import type { SandboxYaraSpec } from './sandbox/sandbox-protocol.js';
import { submitSample, type EnqueueAnalysis, type SubmitSampleDeps, type SubmitSampleInput, type SubmitSampleResult } from './samples/submit-sample.js';
import { failAnalysis, runAnalysis, type AnalysisOutcome, type RunAnalysisDeps } from './analyses/run-analysis.js';
import { getAnalysisStatus, getSampleReport } from './analyses/get-sample-report.js';
import { recoverAnalyses, type RecoveryReport } from './analyses/recover-analyses.js';
import { submissionOf, type HttpServices } from './http/http-services.js';
import { HashFetcher, markHashRequestsAnalysed } from './fetcher/hash-fetcher.js';
import { createHashSources, enqueueFetchHash, fetchHashHandler, recoverHashRequests, rescheduleFetchHash } from './fetcher/create-sources.js';
import { createCobaltStrikeHttpServices, csProbeHandler, enqueueCsProbeJob, startCsReprobe } from './cobaltstrike/cobaltstrike-wiring.js';
import { resolveActiveRulesDir, watchActiveRuleset } from './rulesets/active-ruleset.js';
import { getActiveRulesetVersion } from './rulesets/ruleset-repository.js';
import { retrohuntHandler, retrohuntOnDeploy } from './hunting/retrohunt-job.js';

/** Attempts of one analyze-sample job before it goes dead (each attempt skips what earlier ones stored). */
export const ANALYSIS_MAX_ATTEMPTS = 3;

export interface PlatformOptions {
  readonly logger?: Logger;
  /** Without `logger`: log to stderr instead of stdout (the CLI keeps stdout for results). */
  readonly logToStderr?: boolean;
  readonly limits?: Partial<AnalyzerLimits>;
  /** Test-only analysers: module paths loaded by sandbox children, and the same objects for `accepts`. */
  readonly extraAnalyzers?: { readonly modules: readonly string[]; readonly analyzers: readonly Analyzer[] };
  /** Disables YARA entirely (tests that do not need it start faster). */
  readonly yara?: boolean;
  /** Job lease; short leases re-run a dead worker's jobs sooner. Default config.queue.leaseMs (10 s). */
  readonly leaseMs?: number;
  readonly pollIntervalMs?: number;
  /** How often a worker checks for a newly deployed ruleset version; default 5 s. */
  readonly rulesetPollMs?: number;
}

export interface ActiveRuleset {
  readonly engine: 'libyara' | 'yara-x';
  readonly version: string;
  readonly rulesDir: string;
  readonly ruleFiles: number;
}

export interface PlatformServices {
  submitSample(input: SubmitSampleInput): Promise<SubmitSampleResult>;
  runAnalysis(analysisId: string): Promise<AnalysisOutcome>;
  getSampleReport: (hash: string) => ReturnType<typeof getSampleReport>;
  getAnalysis: (id: string) => ReturnType<typeof getAnalysisStatus>;
}

/** Everything a role needs, wired once. Only `close()` releases it. */
export interface Platform {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Database;
  readonly store: ObjectStore;
  readonly queue: ManagedJobQueue;
  readonly sandbox: AnalyzerSandbox;
  readonly analyzers: readonly Analyzer[];
  readonly ruleset: ActiveRuleset | null;
  readonly limits: AnalyzerLimits;
  readonly services: PlatformServices;
  /** Fetches submitted hashes from the configured sample sources (the fetch-hash job). */
  readonly fetcher: HashFetcher;
  /** The services in the shape the HTTP API takes. */
  readonly httpServices: HttpServices;
  close(): Promise<void>;
}

/**
 * The composition root: the only place that picks implementations (database, object store, queue, YARA
 * engine, sandbox) and wires the services. Starts no workers and no listener; see `startWorkers` and main.ts.
 */
export async function createPlatform(config: Config, options: PlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? pino({ level: config.logLevel }, pino.destination(options.logToStderr === true ? 2 : 1));
  await mkdir(config.dataDir, { recursive: true });
  const db = await createDatabase(config.databaseUrl);
  const closers: (() => Promise<void>)[] = [() => db.destroy()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) {
      await close().catch((error: unknown) => logger.error({ err: error }, 'close failed'));
    }
  };
  try {
    const store = await createObjectStore(config.storeUrl);
    const queue = await createJobQueue(config.queueUrl, db, {
      leaseMs: options.leaseMs ?? config.queue.leaseMs,
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
      defaultMaxAttempts: ANALYSIS_MAX_ATTEMPTS,
      logger: logger.child({ component: 'queue' }),
      maxWaiting: config.queue.maxWaiting,
      retryAfterMs: config.queue.retryAfterMs,
      keepCompletedMs: config.queue.keepCompletedMs,
    });

    // Reassigned when a worker sees another ruleset version deployed (watchActiveRuleset below).
    let ruleset = options.yara === false ? null : await prepareRuleset(config, logger, { db, store });
    const yaraSpec = (active: ActiveRuleset | null): SandboxYaraSpec | null =>
      active === null
        ? null
        : {
            version: active.version,
            engine: active.engine,
            compiledPath: active.engine === 'libyara' ? compiledRulesPath(config, active.version) : null,
            rulesDir: active.rulesDir,
          };
    const sandbox = new AnalyzerSandbox({
      size: config.worker.sandboxProcesses,
      timeoutMs: config.worker.analyzerTimeoutMs,
      memoryMb: config.worker.analyzerMemoryMb,
      extraAnalyzerModules: options.extraAnalyzers?.modules ?? [],
      yara: yaraSpec(ruleset),
    });
    closers.push(() => sandbox.close());
    // Closed first (closers run in reverse): stop taking jobs and let running ones finish while the sandbox lives.
    closers.push(() => queue.close(5_000));
    if (config.roles.includes('worker')) closers.push(startCsReprobe({ db, store, logger, config, queue }).stop);
    if (ruleset !== null && config.roles.includes('worker')) {
      // Deploy/rollback (rulesets/) moves the active version; sandbox children reload on their next call.
      const watcher = watchActiveRuleset({
        db,
        initial: await getActiveRulesetVersion(db),
        ...(options.rulesetPollMs === undefined ? {} : { intervalMs: options.rulesetPollMs }),
        onChange: async () => {
          ruleset = await prepareRuleset(config, logger, { db, store });
          sandbox.setYara(yaraSpec(ruleset));
        },
        onError: (error) => logger.error({ err: error }, 'ruleset reload failed'),
      });
      closers.push(watcher.stop);
    }

    const analyzers = [...BUILTIN_ANALYZERS, ...(options.extraAnalyzers?.analyzers ?? [])];
    const limits: AnalyzerLimits = Object.freeze({ ...DEFAULT_LIMITS, ...options.limits });
    const submitDeps: SubmitSampleDeps = {
      db,
      store,
      enqueueAnalysis: analysisEnqueuer(queue, config, analyzers.length),
      identify: (bytes, fileName) => identifyFile(bytes, fileName ?? undefined),
      uploadLimitBytes: config.http.uploadLimitBytes,
      tmpDir: join(config.dataDir, 'tmp'),
      defaultArchivePasswords: config.archivePasswords,
    };
    const submit = async (input: SubmitSampleInput): Promise<SubmitSampleResult> => {
      const result = await submitSample(submitDeps, input);
      queue.wake();
      return result;
    };
    const runDeps: RunAnalysisDeps = {
      defaultArchivePasswords: config.archivePasswords,
      db,
      store,
      runner: sandbox,
      analyzers,
      get rulesetVersion() {
        return ruleset?.version ?? null;
      },
      limits,
      submitChild: submit,
      maxSampleBytes: config.http.uploadLimitBytes,
      enqueueCsProbe: (trx, target, userAgent) => enqueueCsProbeJob(queue, trx, target, userAgent),
    };
    const fetcher = new HashFetcher({
      db,
      sources: createHashSources(config.sources, db, { maxDownloadBytes: config.http.uploadLimitBytes }),
      submitSample: submit,
      reschedule: (hashRequestId, delayMs) => rescheduleFetchHash(queue, hashRequestId, delayMs),
      notFoundTtlMs: config.sources.notFoundTtlMs,
    });
    const services: PlatformServices = {
      submitSample: submit,
      runAnalysis: (analysisId) => runAnalysis(runDeps, analysisId),
      getSampleReport: (hash) => getSampleReport(db, hash),
      getAnalysis: (id) => getAnalysisStatus(db, id),
    };
    const httpServices: HttpServices = {
      db,
      store,
      queue,
      // Back-pressure at the edge only: children found by workers and recovery are never refused.
      submitSample: async (upload) =>
        queue.assertRoom('analyze-sample').then(() => submit(submissionOf(upload, config.archivePasswords))),
      getSampleReport: services.getSampleReport,
      getAnalysis: services.getAnalysis,
      cobaltStrike: createCobaltStrikeHttpServices(queue),
      fetchQueue: { enqueue: (trx, hashRequestId) => enqueueFetchHash(queue, trx, hashRequestId), wake: () => queue.wake() },
      onRulesetDeployed: retrohuntOnDeploy(queue),
      afterRulesetDeployed: () => queue.wake(),
      metrics: () => queue.renderMetrics(config.roles.join(',')),
    };
    return {
      config,
      logger,
      db,
      store,
      queue,
      sandbox,
      analyzers,
      get ruleset() {
        return ruleset;
      },
      limits,
      services,
      fetcher,
      httpServices,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * A job's lease timeout must outlast its analysers, which may queue behind other jobs' calls for a sandbox
 * child: every analyser timing out, twice over, is the worst case worth waiting for.
 */
function analysisJobOptions(config: Config, analyzerCount: number): { maxAttempts: number; timeoutMs: number } {
  return { maxAttempts: ANALYSIS_MAX_ATTEMPTS, timeoutMs: Math.max(10 * 60_000, config.worker.analyzerTimeoutMs * analyzerCount * 2) };
}

/** Enqueues analyze-sample in the caller's transaction (submission and recovery queue it the same way). */
function analysisEnqueuer(queue: ManagedJobQueue, config: Config, analyzerCount: number): EnqueueAnalysis {
  const jobOptions = analysisJobOptions(config, analyzerCount);
  return async (trx, analysisId) => {
    await queue.enqueueInTransaction(trx, 'analyze-sample', { analysisId }, jobOptions);
  };
}

function compiledRulesPath(config: Config, version: string): string {
  return join(config.dataDir, 'rules', `${version}.yarc`);
}

/**
 * Loads the active ruleset and, with libyara, compiles it once here and saves it for the sandbox children.
 * A broken ruleset stops start-up (YARA_COMPILE_FAILED) rather than silently scanning with nothing.
 */
async function prepareRuleset(config: Config, logger: Logger, deps: { db: Database; store: ObjectStore }): Promise<ActiveRuleset> {
  // A version deployed with `malpipe rules deploy` wins over the configured directory.
  const deployed = await resolveActiveRulesDir({ ...deps, dataDir: config.dataDir });
  const rulesDir = deployed?.rulesDir ?? config.yara.rulesDir ?? DEFAULT_RULES_DIR;
  const engine = await createYaraEngine(config.yara.engine);
  const ruleset = await loadRulesetFromDirectory(rulesDir);
  if (engine.name === 'libyara') {
    const rules = await loadOrCompileRules(engine, ruleset, compiledRulesPath(config, ruleset.version));
    rules.dispose();
  } else {
    // Children compile for themselves; compiling here too reports a broken ruleset at start-up.
    (await engine.compile(ruleset.sources)).dispose();
  }
  logger.info({ engine: engine.name, rulesetVersion: ruleset.version, rulesDir, files: ruleset.sources.length }, 'yara ruleset loaded');
  return { engine: engine.name, version: ruleset.version, rulesDir, ruleFiles: ruleset.sources.length };
}

/** Starts the analyze-sample workers of this process. */
export async function startWorkers(platform: Platform): Promise<void> {
  const { db, logger } = platform;
  platform.sandbox.warm();
  await platform.queue.start(
    {
      'analyze-sample': async (job) => {
        const log = logger.child({ jobId: job.id, analysisId: job.payload.analysisId });
        try {
          const outcome = await platform.services.runAnalysis(job.payload.analysisId);
          log.debug({ sha256: outcome.sha256, state: outcome.state, analyzers: outcome.analyzers.length }, 'analysis finished');
          if (outcome.state === 'completed') await markHashRequestsAnalysed(db, outcome.sha256);
        } catch (error) {
          const appError = toAppError(error);
          // The queue gives up after this attempt: record why on the analysis, then let the job die.
          if (!appError.retryable || job.attempt >= ANALYSIS_MAX_ATTEMPTS) {
            await failAnalysis(db, job.payload.analysisId, appError).catch((e: unknown) => log.error({ err: e }, 'could not mark analysis failed'));
          }
          log.warn({ err: appError, attempt: job.attempt }, 'analysis attempt failed');
          throw isAppError(error) ? error : appError;
        }
      },
      'fetch-hash': fetchHashHandler(platform.fetcher, db, logger),
      'cs-probe': csProbeHandler(platform),
      retrohunt: retrohuntHandler(platform),
    },
    { concurrency: platform.config.worker.concurrency },
  );
}

/** Re-queues analyses a crash left without a job (see recoverAnalyses). */
export async function recoverPlatform(platform: Platform): Promise<RecoveryReport> {
  const report = await recoverAnalyses({
    db: platform.db,
    jobStates: (analysisIds) => platform.queue.analysisJobStates(analysisIds),
    enqueueAnalysis: analysisEnqueuer(platform.queue, platform.config, platform.analyzers.length),
  });
  const hashRequests = await recoverHashRequests(platform.db, platform.queue);
  if (hashRequests.length > 0) platform.logger.info({ requeued: hashRequests.length }, 'hash requests recovered');
  if (report.requeued.length > 0 || hashRequests.length > 0) platform.queue.wake();
  if (report.requeued.length > 0 || report.failed.length > 0) {
    platform.logger.info({ requeued: report.requeued.length, failed: report.failed.length }, 'analyses recovered');
  }
  return report;
}
