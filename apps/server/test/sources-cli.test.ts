import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../src/auth/api-tokens.js';
import { createPlatform, startWorkers, type Platform } from '../src/compose.js';
import { loadConfig } from '../src/config.js';
import { buildHttpApp } from '../src/http/build-app.js';
import { startFakeMalwareBazaar, type FakeMalwareBazaar } from './fake-malwarebazaar.js';
import { startFakeVirusTotal, type FakeVirusTotal } from './fake-virustotal.js';

const CLI = fileURLToPath(new URL('../../cli/bin/malpipe.js', import.meta.url));

function runCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 90_000 },
      (error, stdout, stderr) => {
        resolveRun({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        });
      },
    );
  });
}

describe('malpipe fetch / malpipe sources test', () => {
  let vt: FakeVirusTotal;
  let mb: FakeMalwareBazaar;
  let dir: string;
  let sha256: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    vt = await startFakeVirusTotal({ keys: { 'vt-key': false } });
    mb = await startFakeMalwareBazaar({ apiKey: 'mb-key' });
    dir = await mkdtemp(join(tmpdir(), 'malpipe-sources-cli-'));
    const sample = new TextEncoder().encode('cli fetched sample');
    sha256 = vt.addFile({ bytes: sample, malicious: 1 });
    mb.addFile(sample);
    // `sources test` asks VirusTotal for the EICAR report.
    vt.addFile({
      bytes: new TextEncoder().encode(
        'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*',
      ),
    });
    env = {
      MALPIPE_VT_API_KEY: 'vt-key',
      MALPIPE_VT_BASE_URL: vt.url,
      MALPIPE_MB_API_KEY: 'mb-key',
      MALPIPE_MB_BASE_URL: mb.url,
      MALPIPE_LOG_LEVEL: 'silent',
      MALPIPE_WORKER_CONCURRENCY: '1',
    };
  });
  afterAll(async () => {
    await vt.close();
    await mb.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sources test: reports each source, and fails on a wrong key', async () => {
    const ok = await runCli(['sources', 'test', '--json'], {
      ...env,
      MALPIPE_DATA_DIR: join(dir, 'test-ok'),
    });
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout)).toEqual([
      { source: 'virustotal', status: 'ok', detail: expect.stringContaining('readable') as unknown },
      { source: 'malwarebazaar', status: 'ok', detail: expect.stringContaining('tag query') as unknown },
    ]);
    expect(ok.code).toBe(0);
    const bad = await runCli(['sources', 'test'], {
      ...env,
      MALPIPE_MB_API_KEY: 'wrong',
      MALPIPE_VT_API_KEY: '',
      MALPIPE_DATA_DIR: join(dir, 'test-bad'),
    });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/virustotal\s+not-configured/);
    expect(bad.stdout).toMatch(/malwarebazaar\s+failed\s+UPSTREAM_AUTH_FAILED/);
  });

  it('fetch --local: fetches, analyses and prints the state per hash (exit 1 for a hash nobody has)', async () => {
    const unknown = 'c'.repeat(32);
    const run = await runCli(['fetch', '--local', '--json', sha256, unknown], {
      ...env,
      MALPIPE_DATA_DIR: join(dir, 'local'),
    });
    const requests = JSON.parse(run.stdout) as { hash: string; state: string; sha256: string | null }[];
    expect(requests.map((r) => [r.hash, r.state])).toEqual([
      [sha256, 'analysed'],
      [unknown, 'not-found'],
    ]);
    expect(run.code).toBe(1);
  });

  it('fetch through the server: one request per hash, --wait follows them', async () => {
    const serverDir = join(dir, 'server');
    const config = loadConfig({ ...env, MALPIPE_DATA_DIR: serverDir });
    const platform: Platform = await createPlatform(config, { yara: false, pollIntervalMs: 20 });
    let app: FastifyInstance | undefined;
    try {
      await startWorkers(platform);
      app = await buildHttpApp(platform.httpServices, config, { webRoot: null });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const { secret } = await createApiToken(platform.db, { name: 'cli', role: 'analyst' });
      const run = await runCli(
        ['fetch', '--server', url, '--token', secret, '--wait', '--timeout', '60', sha256],
        {},
      );
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(new RegExp(`^${sha256}\\s+analysed\\s+${sha256}`));
      expect(run.code).toBe(0);
    } finally {
      await app?.close();
      await platform.close();
    }
  });
});
