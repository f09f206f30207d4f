import type { Command } from 'commander';

/** Each command module exports one `register(program)`; adding a command is one file and one line here. */
export type RegisterCommand = (program: Command) => void;

export const COMMANDS: readonly RegisterCommand[] = [
  // e.g. registerServe, registerAnalyze, registerSubmit, registerSearch, registerToken, registerCs
];
