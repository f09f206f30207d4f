import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, createApiClient, type ApiClient } from '@malpipe/api-client';
import { createApiHarness, type ApiHarness } from './api-harness.js';

/** @malpipe/api-client over real HTTP (global fetch) against the in-test server on 127.0.0.1. */
describe('createApiClient', () => {
  let h: ApiHarness;
  let baseUrl: string;
  let admin: ApiClient;
  beforeAll(async () => {
    h = await createApiHarness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/`;
    admin = createApiClient({ baseUrl, token: h.tokens.admin });
  });
  afterAll(async () => {
    await h.close();
  });

  it('covers the sample lifecycle: upload (Buffer and Blob), report, analysis, search, download', async () => {
    expect(await createApiClient({ baseUrl }).health()).toMatchObject({ status: 'ok' });
    const first = Buffer.from('client sample one\n');
    const second = new Blob(['client sample two\n']);
    const submitted = await admin.submitSamples(
      [
        { name: 'one.txt', data: first },
        { name: 'two.txt', data: second },
      ],
      { tags: ['client'], passwords: ['pw'], force: true },
    );
    expect(submitted.map((s) => s.fileName)).toEqual(['one.txt', 'two.txt']);
    const sha = createHash('sha256').update(first).digest('hex');
    expect(submitted[0]?.sha256).toBe(sha);

    const report = await admin.getSample(sha);
    expect(report.tags).toEqual(['client']);
    const analysis = await admin.getAnalysis(submitted[0]?.analysisId ?? '');
    expect(analysis.state).toBe('queued');
    const page = await admin.search({ tag: 'client', limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).not.toBeNull();
    const next = await admin.search({ tag: 'client', limit: 1, cursor: page.nextCursor ?? '' });
    expect(next.items[0]?.sha256).not.toBe(page.items[0]?.sha256);

    const zip = await admin.downloadSample(sha);
    expect([...zip.subarray(0, 4)]).toEqual([0x50, 0x4b, 0x03, 0x04]);

    const [entry] = await admin.submitHashes({ hashes: [sha] });
    expect(entry).toMatchObject({ state: 'known', sha256: sha });
    expect((await admin.getHashRequest(entry?.id ?? '')).sha256).toBe(sha);

    const jobs = await admin.listJobs({ state: 'queued', limit: 10 });
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    expect((await admin.getJob(jobs[0]?.id ?? '')).id).toBe(jobs[0]?.id);
  });

  it('reports an over-limit upload over real HTTP as 413 SAMPLE_TOO_LARGE, not a broken connection', async () => {
    const big = new Uint8Array(h.config.http.uploadLimitBytes * 16).fill(0x90);
    await expect(admin.submitSamples([{ name: 'big.bin', data: big }])).rejects.toMatchObject({
      code: 'SAMPLE_TOO_LARGE',
      status: 413,
    });
    // The connection and server are still usable afterwards.
    expect((await admin.health()).status).toBe('ok');
  });

  it('manages tokens and raises ApiError with the server code and status', async () => {
    const created = await admin.createToken({ name: 'browser extension', role: 'submitter' });
    const extension = createApiClient({ baseUrl, token: created.token });
    expect((await admin.listTokens()).map((t) => t.id)).toContain(created.id);
    expect(await extension.me()).toEqual({ tokenId: created.id, name: 'browser extension', role: 'submitter', permissions: ['read', 'submit'] });
    expect((await admin.me()).permissions).toContain('jobs:manage');

    const forbidden = await extension.downloadSample('a'.repeat(64)).catch((error: unknown) => error);
    expect(forbidden).toBeInstanceOf(ApiError);
    expect(forbidden).toMatchObject({ code: 'FORBIDDEN', status: 403 });

    expect((await admin.revokeToken(created.id)).revokedAt).not.toBeNull();
    await expect(extension.search({ q: 'x' })).rejects.toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    await expect(admin.getSample('0'.repeat(32))).rejects.toMatchObject({
      code: 'SAMPLE_NOT_FOUND',
      status: 404,
    });
    await expect(admin.retryJob('missing')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND', status: 404 });
    await expect(
      createApiClient({ baseUrl: 'http://127.0.0.1:9', token: 'x' }).health(),
    ).rejects.toMatchObject({
      code: 'NETWORK_FAILED',
      status: 0,
    });
  });

  it('reads Cobalt Strike configs and team servers (typed, empty on a fresh server)', async () => {
    expect(await admin.searchCobaltStrikeConfigs({ watermark: 1_359_593_325, c2: 'example.org', limit: 5 })).toEqual({ configs: [], nextCursor: null });
    expect(await admin.listTeamServers({ limit: 10 })).toEqual([]);
    await expect(admin.listTeamServerProbes('198.51.100.7:443')).rejects.toMatchObject({ status: 404 });
    await expect(admin.getCobaltStrikeConfig('f'.repeat(64))).rejects.toMatchObject({ status: 404 });
  });
});
