// The server's public surface for the CLI, benchmarks and tests.
export { loadConfig, type Config, type Role } from './config.js';
export { createPlatform, startWorkers, recoverPlatform, ANALYSIS_MAX_ATTEMPTS, type Platform, type PlatformOptions, type PlatformServices, type ActiveRuleset } from './compose.js';
export { runServer, type RunServerOptions, type RunningServer } from './main.js';
export { submitSample, type SubmitSampleInput, type SubmitSampleResult, type SubmitSampleDeps, type ParentLink, type AnalysisOptions } from './samples/submit-sample.js';
export type { SampleContent } from './samples/spool-sample.js';
export { findSampleByHash, getSample, listChildren, listParents, detectHashType } from './samples/sample-repository.js';
export { runAnalysis, type AnalysisOutcome, type AnalyzerRunSummary, type RunAnalysisDeps } from './analyses/run-analysis.js';
export { getAnalysis, findAnalysis, listAnalysesOfRoot, type Analysis } from './analyses/analysis-repository.js';
export { getSampleReport, getAnalysisStatus } from './analyses/get-sample-report.js';
export { AnalyzerSandbox, type AnalyzerSandboxOptions } from './sandbox/analyzer-sandbox.js';
