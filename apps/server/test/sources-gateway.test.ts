import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashRequestSchema, SampleReportSchema, SubmitHashesResponseSchema } from '@malpipe/api-client';
import { createApiToken } from '../src/auth/api-tokens.js';
import { createPlatform, startWorkers, type Platform } from '../src/compose.js';
import { loadConfig } from '../src/config.js';
import { buildHttpApp } from '../src/http/build-app.js';
import { startFakeMalwareBazaar, type FakeMalwareBazaar } from './fake-malwarebazaar.js';
import { startFakeVirusTotal, type FakeVirusTotal } from './fake-virustotal.js';

/** POST /api/v1/hashes end to end: the platform as compose.ts wires it, sources on local fake servers. */
describe('the hash gateway', () => {
  let vt: FakeVirusTotal;
  let mb: FakeMalwareBazaar;
  let dir: string;
  let platform: Platform;
  let app: FastifyInstance;
  let token: string;

  beforeAll(async () => {
    vt = await startFakeVirusTotal({ keys: { 'public-key': false } });
    mb = await startFakeMalwareBazaar({ apiKey: 'mb-key' });
    dir = await mkdtemp(join(tmpdir(), 'malpipe-gateway-'));
    const config = loadConfig({
      MALPIPE_DATA_DIR: dir,
      MALPIPE_LOG_LEVEL: 'silent',
      MALPIPE_WORKER_CONCURRENCY: '1',
      MALPIPE_VT_API_KEY: 'public-key',
      MALPIPE_VT_BASE_URL: vt.url,
      MALPIPE_MB_API_KEY: 'mb-key',
      MALPIPE_MB_BASE_URL: mb.url,
    });
    platform = await createPlatform(config, { yara: false, pollIntervalMs: 20 });
    await startWorkers(platform);
    app = await buildHttpApp(platform.httpServices, config, { webRoot: null });
    await app.ready();
    token = (await createApiToken(platform.db, { name: 'gateway test', role: 'analyst' })).secret;
  });
  afterAll(async () => {
    await app.close();
    await platform.close();
    await vt.close();
    await mb.close();
    await rm(dir, { recursive: true, force: true });
  });

  const headers = (): Record<string, string> => ({ authorization: `Bearer ${token}` });

  async function waitForState(
    id: string,
    states: readonly string[],
  ): Promise<ReturnType<typeof HashRequestSchema.parse>> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const response = await app.inject({ method: 'GET', url: `/api/v1/hashes/${id}`, headers: headers() });
      const request = HashRequestSchema.parse(response.json());
      if (states.includes(request.state)) return request;
      if (Date.now() > deadline)
        throw new Error(`request ${id} still ${request.state}: ${request.errorMessage ?? ''}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('answers at once with an id per hash found in free text, fetches, analyses, and keeps the VirusTotal report', async () => {
    const sample = new TextEncoder().encode('MZ gateway sample, served by MalwareBazaar');
    const sha256 = vt.addFile({ bytes: sample, names: ['gw.exe'], malicious: 12, tags: ['peexe'] });
    mb.addFile(sample, { fileName: 'gw.exe', signature: 'FakeFamily' });
    const unknown = '9'.repeat(40);
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/hashes',
      headers: headers(),
      payload: {
        text: `IoCs from the report:\n- ${sha256.toUpperCase()} (loader)\n- sha1=${unknown};\nnot a hash: ${'a'.repeat(50)}`,
      },
    });
    expect(response.statusCode).toBe(202);
    const { hashes } = SubmitHashesResponseSchema.parse(response.json());
    expect(hashes.map((h) => [h.hash, h.state])).toEqual([
      [sha256, 'queued'],
      [unknown, 'queued'],
    ]);
    const [found, missing] = hashes;
    expect(await waitForState(found?.id ?? '', ['analysed'])).toMatchObject({ sha256 });
    expect(await waitForState(missing?.id ?? '', ['not-found'])).toMatchObject({
      errorMessage: 'no source has this hash',
    });

    const report = SampleReportSchema.parse(
      (await app.inject({ method: 'GET', url: `/api/v1/samples/${sha256}`, headers: headers() })).json(),
    );
    expect(report.sources).toContain('malwarebazaar');
    expect(report.results.map((r) => r.analyzer)).toContain('virustotal');

    // Known now: linked at once, nothing fetched again.
    const before = vt.requests.length + mb.requests.length;
    const again = SubmitHashesResponseSchema.parse(
      (
        await app.inject({
          method: 'POST',
          url: '/api/v1/hashes',
          headers: headers(),
          payload: { hashes: [sha256] },
        })
      ).json(),
    );
    expect(again.hashes[0]).toMatchObject({ state: 'analysed', sha256 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(vt.requests.length + mb.requests.length).toBe(before);
  });

  it('refuses malformed hashes and oversized lists with clear errors', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/api/v1/hashes',
      headers: headers(),
      payload: { hashes: ['xyz', '1234'] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    const many = Array.from({ length: 10_001 }, (_, i) => i.toString(16).padStart(32, '0'));
    const tooMany = await app.inject({
      method: 'POST',
      url: '/api/v1/hashes',
      headers: headers(),
      payload: { hashes: many },
    });
    expect(tooMany.statusCode).toBe(422);
  });
});
