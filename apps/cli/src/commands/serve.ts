import type { Command } from 'commander';
import { AppError } from '@malpipe/core';

interface ServeOptions {
  readonly role?: string;
  readonly data?: string;
  readonly port?: string;
  readonly host?: string;
}

const ROLE_SETTINGS: Readonly<Record<string, string>> = { api: 'api', worker: 'worker', all: 'api,worker' };

/** `malpipe serve`: the HTTP API and/or the workers, until SIGTERM/SIGINT. Flags override MALPIPE_* settings. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the malpipe server (HTTP API and/or analysis workers) on the embedded defaults or the configured backends')
    .option('--role <role>', 'api | worker | all (default: $MALPIPE_ROLES or all)')
    .option('--data <dir>', 'data directory (default: $MALPIPE_DATA_DIR or ./malpipe-data)')
    .option('--port <n>', 'HTTP port (default: $MALPIPE_PORT or 8787)')
    .option('--host <address>', 'HTTP listen address (default: $MALPIPE_HOST or 127.0.0.1)')
    .action(async (options: ServeOptions) => {
      const overrides: Record<string, string> = {};
      if (options.role !== undefined) {
        const roles = ROLE_SETTINGS[options.role];
        if (roles === undefined) throw new AppError('VALIDATION_FAILED', `--role must be api, worker or all, not "${options.role}"`);
        overrides.MALPIPE_ROLES = roles;
      }
      if (options.data !== undefined) overrides.MALPIPE_DATA_DIR = options.data;
      if (options.port !== undefined) overrides.MALPIPE_PORT = options.port;
      if (options.host !== undefined) overrides.MALPIPE_HOST = options.host;
      // Loaded on use: the server (Fastify, the pipeline) is heavy for every other command's start-up.
      const { loadConfig } = await import('@malpipe/server/config');
      const { runServer } = await import('@malpipe/server/main');
      // Flags win over the environment; loadConfig validates both the same way.
      const config = loadConfig({ ...process.env, ...overrides });
      const server = await runServer(config);
      if (server.url !== null) process.stderr.write(`malpipe: serving on ${server.url} (data in ${config.dataDir})\n`);
      else process.stderr.write(`malpipe: workers running (data in ${config.dataDir})\n`);
    });
}
