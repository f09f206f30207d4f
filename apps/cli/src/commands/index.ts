import type { Command } from 'commander';
import { registerAnalyze } from './analyze.js';
import { registerCs } from './cs.js';
import { registerExport } from './export.js';
import { registerFetch } from './fetch.js';
import { registerImport } from './import.js';
import { registerJobs } from './jobs.js';
import { registerMigrate } from './migrate.js';
import { registerRules } from './rules.js';
import { registerSearch } from './search.js';
import { registerServe } from './serve.js';
import { registerSources } from './sources.js';
import { registerSubmit } from './submit.js';
import { registerToken } from './token.js';
import { registerWorker } from './worker.js';

/** Each command module exports one `register(program)`; adding a command is one file and one line here. */
export type RegisterCommand = (program: Command) => void;

export const COMMANDS: readonly RegisterCommand[] = [
  // e.g. registerServe, registerAnalyze, registerSubmit, registerSearch, registerToken, registerCs
  registerServe,
  registerWorker,
  registerAnalyze,
  registerSubmit,
  registerSearch,
  registerToken,
  registerJobs,
  registerCs,
  registerFetch,
  registerSources,
  registerRules,
  registerMigrate,
  registerExport,
  registerImport,
];
