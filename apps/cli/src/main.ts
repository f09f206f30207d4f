import { Command } from 'commander';
import { isAppError } from '@malpipe/core';
import { COMMANDS } from './commands/index.js';

const program = new Command()
  .name('malpipe')
  .description('Automated malware analysis: samples, Cobalt Strike configs, YARA CI/CD, C&C monitoring, memory forensics.')
  .showHelpAfterError();

for (const register of COMMANDS) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Diagnostics go to stderr; stdout stays machine-readable.
  if (isAppError(error)) {
    process.stderr.write(`malpipe: ${error.code}: ${error.message}\n`);
  } else {
    process.stderr.write(`malpipe: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exitCode = 1;
}
