import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig, type Config } from '../src/config.js';
import { createPlatform, startWorkers, type Platform, type PlatformOptions } from '../src/compose.js';
import { analyzers as hostileAnalyzers } from './pipeline-fixtures/hostile-analyzers.js';

export const HOSTILE_MODULE = fileURLToPath(new URL('./pipeline-fixtures/hostile-analyzers.ts', import.meta.url));

export interface TestPlatform {
  readonly platform: Platform;
  readonly dataDir: string;
  dispose(): Promise<void>;
}

/** An embedded platform (SQLite, local objects, sandbox) in a fresh temp dir, workers running. */
export async function startTestPlatform(env: Record<string, string> = {}, options: PlatformOptions = {}): Promise<TestPlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'malpipe-pipeline-'));
  const config: Config = loadConfig({
    MALPIPE_DATA_DIR: dataDir,
    MALPIPE_WORKER_CONCURRENCY: '2',
    MALPIPE_ANALYZER_TIMEOUT_MS: '4000',
    MALPIPE_ANALYZER_MEMORY_MB: '256',
    MALPIPE_LOG_LEVEL: 'silent',
    ...env,
  });
  const platform = await createPlatform(config, {
    logger: pino({ level: 'silent' }),
    extraAnalyzers: { modules: [HOSTILE_MODULE], analyzers: hostileAnalyzers },
    pollIntervalMs: 50,
    ...options,
  });
  await startWorkers(platform);
  return {
    platform,
    dataDir,
    async dispose() {
      await platform.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until no analysis is queued or running (children included); fails after `timeoutMs`. */
export async function waitForIdle(platform: Platform, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = await platform.db
      .selectFrom('analyses')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', 'in', ['queued', 'running'])
      .executeTakeFirstOrThrow();
    if (Number(pending.n) === 0) return;
    if (Date.now() > deadline) throw new Error(`${pending.n} analyses still pending after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
