import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createPlatform, type Platform } from '../compose.js';
import { loadConfig } from '../config.js';

/** An embedded platform without workers or YARA (samples are stored, nothing analyses them), for hunting tests. */
export async function startHuntingPlatform(env: Record<string, string> = {}): Promise<{ platform: Platform; dataDir: string; dispose(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'malpipe-hunting-'));
  const config = loadConfig({ MALPIPE_DATA_DIR: dataDir, MALPIPE_LOG_LEVEL: 'silent', MALPIPE_WORKER_CONCURRENCY: '2', ...env });
  const platform = await createPlatform(config, { logger: pino({ level: 'silent' }), yara: false });
  return {
    platform,
    dataDir,
    async dispose() {
      await platform.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Stores bytes as a sample (no worker runs, so no analysis happens). */
export async function storeSample(platform: Platform, bytes: Uint8Array, fileName = 'sample.bin'): Promise<string> {
  return (await platform.services.submitSample({ content: bytes, fileName, source: 'cli' })).sha256;
}
