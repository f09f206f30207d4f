import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { ensureAdminToken } from './auth/api-tokens.js';
import { loadConfig, type Config } from './config.js';
import { createPlatform, recoverPlatform, startWorkers, type Platform } from './compose.js';
import { buildHttpApp } from './http/build-app.js';
import { startWorkerHealthServer, type WorkerHealthServer } from './worker-health.js';

export interface RunServerOptions {
  readonly logger?: Logger;
  /** Stop on SIGTERM/SIGINT (default true; tests that embed the server pass false). */
  readonly handleSignals?: boolean;
}

export interface RunningServer {
  readonly platform: Platform;
  /** `http://host:port` when the api role runs. */
  readonly url: string | null;
  readonly http: FastifyInstance | null;
  /** Stops accepting requests and jobs, lets running jobs finish (bounded), closes everything. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the roles in `config.roles`: `api` (the HTTP API on `config.http`) and/or `worker` (the job
 * handlers). Before either, a recovery sweep re-queues analyses a crash left without a job.
 */
export async function runServer(config: Config, options: RunServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  // An api-only process never analyses: no YARA compile at start-up.
  const platform = await createPlatform(config, { logger, yara: config.roles.includes('worker') });
  let http: FastifyInstance | null = null;
  let url: string | null = null;
  let stopping: Promise<void> | null = null;
  let health: WorkerHealthServer | null = null;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info('server stopping');
      if (http !== null) await http.close().catch((error: unknown) => logger.error({ err: error }, 'http close failed'));
      await health?.close();
      await platform.close();
      logger.info('server stopped');
    })();
    return stopping;
  };

  try {
    await recoverPlatform(platform);
    if (config.roles.includes('worker')) {
      await startWorkers(platform);
      logger.info({ concurrency: config.worker.concurrency, ruleset: platform.ruleset?.version ?? null }, 'workers started');
      if (config.worker.healthPort !== null) {
        health = await startWorkerHealthServer(platform.queue, { host: config.http.host, port: config.worker.healthPort, role: config.roles.join(',') });
        logger.info({ url: health.url }, 'worker health listening');
      }
    }
    if (config.roles.includes('api')) {
      await ensureAdminToken(platform.db, config, {
        printOnce: (message) => process.stderr.write(message),
        info: (message) => logger.info(message),
      });
      http = await buildHttpApp(platform.httpServices, config, { logger });
      const address = await http.listen({ host: config.http.host, port: config.http.port });
      url = address;
      logger.info({ url }, 'api listening');
    }
  } catch (error) {
    await stop();
    throw error;
  }

  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'signal received');
      // A second signal while stopping means "now".
      process.once(signal, () => process.exit(130));
      void stop().then(
        () => {
          process.exitCode = 0;
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exitCode = 1;
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { platform, url, http, stop };
}

// `node --import tsx apps/server/src/main.ts`: configuration from the environment only.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await runServer(loadConfig());
  } catch (error) {
    process.stderr.write(`malpipe: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
