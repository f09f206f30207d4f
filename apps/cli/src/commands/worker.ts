import type { Command } from 'commander';
import { AppError } from '@malpipe/core';

interface WorkerOptions {
  readonly data?: string;
  readonly concurrency?: string;
  readonly healthPort?: string;
  readonly host?: string;
}

/**
 * `malpipe worker`: `malpipe serve --role worker` under its own name, for the machines of a scaled-out CERT
 * that only analyse (MALPIPE_DATABASE_URL, MALPIPE_STORE_URL and MALPIPE_QUEUE_URL point at the shared backends).
 */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Run analysis workers only (same as `serve --role worker`); scale out by starting more')
    .option('--data <dir>', 'data directory (default: $MALPIPE_DATA_DIR or ./malpipe-data)')
    .option(
      '--concurrency <n>',
      'analyses at once in this process (default: $MALPIPE_WORKER_CONCURRENCY or 2)',
    )
    .option(
      '--health-port <n>',
      'serve /health and /metrics on this port (default: $MALPIPE_WORKER_HEALTH_PORT; none)',
    )
    .option('--host <address>', 'address of the health listener (default: $MALPIPE_HOST or 127.0.0.1)')
    .action(async (options: WorkerOptions) => {
      const overrides: Record<string, string> = { MALPIPE_ROLES: 'worker' };
      if (options.data !== undefined) overrides.MALPIPE_DATA_DIR = options.data;
      if (options.concurrency !== undefined) overrides.MALPIPE_WORKER_CONCURRENCY = options.concurrency;
      if (options.healthPort !== undefined) overrides.MALPIPE_WORKER_HEALTH_PORT = options.healthPort;
      if (options.host !== undefined) overrides.MALPIPE_HOST = options.host;
      // Loaded on use, so other commands (and --help) start without the server modules.
      const { loadConfig } = await import('@malpipe/server/config');
      const { runServer } = await import('@malpipe/server/main');
      const config = loadConfig({ ...process.env, ...overrides });
      if (!config.roles.includes('worker'))
        throw new AppError('CONFIG_INVALID', 'malpipe worker needs the worker role');
      await runServer(config);
      process.stderr.write(
        `malpipe: worker running (queue ${config.queueUrl.replace(/\/\/[^@/]*@/, '//***@')})\n`,
      );
    });
}
