import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseBeaconConfigs, toNativeJson, type BeaconConfig } from '@malpipe/analyzers/cobaltstrike/index';
import { buildBeacon, sampleSettings } from '@malpipe/analyzers/test/builders/build-beacon';
import { bearer, createApiHarness, type ApiHarness } from '../../test/api-harness.js';
import { createDatabase } from '../database/create-database.js';
import type { Database } from '../database/database.js';
import { buildHttpApp } from '../http/build-app.js';
import { MemoryObjectStore } from '../storage/memory-object-store.js';
import { beaconConfigId } from './beacon-config-id.js';
import { getBeaconConfig, listTeamServers, searchBeaconConfigs, storeBeaconConfigs } from './beacon-config-repository.js';
import { createCobaltStrikeHttpServices } from './cobaltstrike-wiring.js';
import { startEmulatedTeamServer, type EmulatedTeamServer } from './probe/emulated-team-server.js';
import { RateLimiter } from './probe/rate-limiter.js';
import { recordCobaltStrikeResult } from './record-cobaltstrike-result.js';
import { startReprobeSchedule } from './reprobe-schedule.js';
import { responseKey, runCsProbe, type CsProbeDeps } from './run-cs-probe.js';

const X86_STAGE = buildBeacon(sampleSettings({ host: 'x86.c2.example.test', watermark: 1234567890 }), { encoding: 'sleeve', arch: 'x86' });
const X64_STAGE = buildBeacon(sampleSettings({ host: 'x64.c2.example.test', watermark: 987654321 }), { encoding: 'sleeve', arch: 'x64' });
const SHA = 'a'.repeat(64);
const NOW = '2026-11-27T12:00:00.000Z';

function only(bytes: Uint8Array): BeaconConfig {
  const configs = parseBeaconConfigs(bytes).configs;
  expect(configs).toHaveLength(1);
  return configs[0] as BeaconConfig;
}

async function addSample(db: Database, sha256: string): Promise<void> {
  await db
    .insertInto('samples')
    .values({ sha256, md5: 'm', sha1: 's', sha512: 'x', size: 1, file_kind: 'executable', file_format: 'pe32', mime: 'application/octet-stream', file_description: '', file_traits: '[]', ssdeep: null, tlsh: null, imphash: null, first_seen: NOW, last_seen: NOW })
    .execute();
}

let server: EmulatedTeamServer;
beforeAll(async () => {
  server = await startEmulatedTeamServer({ stages: { x86: X86_STAGE, x64: X64_STAGE } });
});
afterAll(() => server.close());

describe('Cobalt Strike storage, probe job and pipeline hook', () => {
  let db: Database;
  let store: MemoryObjectStore;
  let deps: CsProbeDeps;
  beforeEach(async () => {
    db = await createDatabase('sqlite::memory:');
    store = new MemoryObjectStore();
    deps = {
      db,
      store,
      probe: { allowLoopbackForTests: true, schemes: ['http'], retries: 0, totalTimeoutMs: 5_000, rateLimiter: new RateLimiter({ globalIntervalMs: 0, perHostIntervalMs: 0 }) },
    };
    return () => db.destroy();
  });

  it('deduplicates a config seen in a sample (JSON from the sandbox) and served by a team server', async () => {
    await addSample(db, SHA);
    const parsed = only(X86_STAGE);
    // What the pipeline gets: the analyser's native JSON after a trip through the sandbox protocol.
    const fromSandbox = JSON.parse(JSON.stringify(toNativeJson(parsed))) as ReturnType<typeof toNativeJson>;
    expect(beaconConfigId(fromSandbox)).toBe(beaconConfigId(parsed));

    const [fromSample] = await storeBeaconConfigs(db, { sha256: SHA, analyzer: 'cobaltstrike' }, [fromSandbox], NOW);
    expect((await getBeaconConfig(db, fromSample as string)).jpcert).toBeNull();
    const [fromServer] = await storeBeaconConfigs(db, { server: { host: '203.0.113.7', port: 443 }, scheme: 'https' }, [parsed], '2026-11-28T00:00:00.000Z');
    expect(fromServer).toBe(fromSample);

    const detail = await getBeaconConfig(db, fromSample as string);
    expect(detail).toMatchObject({ watermark: 1234567890, c2Hosts: ['x86.c2.example.test'], architecture: 'x86', firstSeen: NOW, lastSeen: '2026-11-28T00:00:00.000Z' });
    expect(detail.samples).toEqual([{ sha256: SHA, analyzer: 'cobaltstrike', firstSeen: NOW }]);
    expect(detail.servers).toMatchObject([{ id: '203.0.113.7:443', scheme: 'https' }]);
    // The in-process copy carried the TLV records, so the JPCERT view was filled in.
    expect(detail.jpcert).toMatchObject({ Watermark: 1234567890, C2Server: 'x86.c2.example.test,/jquery.min.js' });
    expect(await db.selectFrom('cs_beacon_configs').select('id').execute()).toHaveLength(1);
  });

  it('searches configs by watermark, C2 host, public-key MD5 and version, with a cursor', async () => {
    const x86 = only(X86_STAGE);
    const x64 = only(X64_STAGE);
    await storeBeaconConfigs(db, { server: { host: '203.0.113.7', port: 80 }, scheme: 'http' }, [x86], '2026-11-27T00:00:01.000Z');
    await storeBeaconConfigs(db, { server: { host: '203.0.113.7', port: 80 }, scheme: 'http' }, [x64], '2026-11-27T00:00:02.000Z');
    expect((await searchBeaconConfigs(db, { watermark: 987654321 })).configs.map((c) => c.c2Hosts)).toEqual([['x64.c2.example.test']]);
    expect((await searchBeaconConfigs(db, { c2: 'X86.C2.example.test' })).configs.map((c) => c.watermark)).toEqual([1234567890]);
    const md5 = x86.publicKey?.md5 as string;
    expect((await searchBeaconConfigs(db, { publicKeyMd5: md5.toUpperCase() })).configs).toHaveLength(2);
    expect((await searchBeaconConfigs(db, { version: x86.version.number ?? 'none', watermark: 1234567890 })).configs).toHaveLength(1);
    expect((await searchBeaconConfigs(db, { watermark: 1 })).configs).toEqual([]);
    const first = await searchBeaconConfigs(db, { limit: 1 });
    expect(first.configs.map((c) => c.watermark)).toEqual([987654321]);
    const second = await searchBeaconConfigs(db, { limit: 1, cursor: first.nextCursor ?? '' });
    expect(second.configs.map((c) => c.watermark)).toEqual([1234567890]);
    expect(second.nextCursor).toBeNull();
  });

  it('runs a probe job: configs stored and linked, raw responses kept, one history row per attempt', async () => {
    const summary = await runCsProbe(deps, `127.0.0.1:${server.port}`);
    expect(summary).toMatchObject({ serverId: `127.0.0.1:${server.port}`, outcome: 'config', attempts: 2 });
    expect(summary.configIds).toHaveLength(2);
    const probes = await db.selectFrom('cs_probes').selectAll().orderBy('arch', 'desc').execute();
    expect(probes.map((p) => [p.arch, p.outcome, p.http_status])).toEqual([
      ['x86', 'config', 200],
      ['x64', 'config', 200],
    ]);
    const x86Probe = probes[0];
    expect(x86Probe?.response_key).toMatch(/^cs-responses\//);
    expect(Buffer.from(await store.getBytes(x86Probe?.response_key as string)).equals(Buffer.from(X86_STAGE))).toBe(true);
    const [listed] = await listTeamServers(db);
    expect(listed).toMatchObject({ host: '127.0.0.1', port: server.port, address: '127.0.0.1', lastOutcome: 'config', probeCount: 1 });
    expect(new Set(listed?.configIds)).toEqual(new Set(summary.configIds));

    // Probing again moves timestamps, adds history, creates no new config.
    await runCsProbe(deps, `127.0.0.1:${server.port}`);
    expect(await db.selectFrom('cs_beacon_configs').select('id').execute()).toHaveLength(2);
    expect(await db.selectFrom('cs_probes').select('id').execute()).toHaveLength(4);
    expect((await listTeamServers(db))[0]?.probeCount).toBe(2);
  });

  it('records a refused target without connecting, and a 404-only server as not-found', async () => {
    const refused = await runCsProbe({ ...deps, probe: { ...deps.probe, allowLoopbackForTests: false } }, `127.0.0.1:${server.port}`);
    expect(refused.outcome).toBe('refused');
    const refusedMeta = await runCsProbe(deps, '169.254.169.254:80');
    expect(refusedMeta.outcome).toBe('refused');
    const row = await db.selectFrom('cs_probes').selectAll().where('server_id', '=', '169.254.169.254:80').executeTakeFirstOrThrow();
    expect(row.error).toMatch(/^FORBIDDEN: .*link-local/);

    const empty = await startEmulatedTeamServer({});
    try {
      const notFound = await runCsProbe(deps, `127.0.0.1:${empty.port}`);
      expect(notFound).toMatchObject({ outcome: 'not-found', configIds: [] });
      expect(empty.requests.map((r) => r.status)).toEqual([404, 404]);
    } finally {
      await empty.close();
    }
    expect(responseKey('ab'.repeat(32))).toBe(`cs-responses/ab/${'ab'.repeat(32)}`);
  });

  it('pipeline hook: stores the analyser configs and queues each stager URL once per cool-down', async () => {
    await addSample(db, SHA);
    const result = JSON.parse(
      JSON.stringify({ beaconDetected: true, configs: [toNativeJson(only(X64_STAGE))], stagers: [{ url: 'http://203.0.113.9:8080/Kx9a', userAgent: 'Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko' }, { url: null }, { url: 'http://user:pw@203.0.113.9/x' }], errors: [] }),
    ) as unknown;
    const queued: [string, string | undefined][] = [];
    const enqueue = async (_trx: Database, target: string, userAgent?: string): Promise<void> => void queued.push([target, userAgent]);
    const first = await db.transaction().execute((trx) => recordCobaltStrikeResult(trx, SHA, 'cobaltstrike', result, enqueue));
    expect(first.configIds).toHaveLength(1);
    expect(first.probesQueued).toEqual(['http://203.0.113.9:8080/Kx9a']);
    const second = await db.transaction().execute((trx) => recordCobaltStrikeResult(trx, SHA, 'cobaltstrike', result, enqueue));
    expect(second.probesQueued).toEqual([]);
    expect(queued).toEqual([['http://203.0.113.9:8080/Kx9a', 'Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko']]);
    expect((await getBeaconConfig(db, first.configIds[0] as string)).samples.map((s) => s.sha256)).toEqual([SHA]);
    // Other analysers and foreign shapes are ignored.
    expect(await recordCobaltStrikeResult(db, SHA, 'pe', result, enqueue)).toEqual({ configIds: [], probesQueued: [] });
    expect(await recordCobaltStrikeResult(db, SHA, 'cobaltstrike', { configs: 'nope' }, enqueue)).toEqual({ configIds: [], probesQueued: [] });
  });

  it('re-probe schedule queues servers not probed recently, once', async () => {
    await runCsProbe(deps, `127.0.0.1:${server.port}`);
    await storeBeaconConfigs(db, { server: { host: '198.51.100.1', port: 443 }, scheme: 'https' }, [only(X86_STAGE)], NOW);
    const queued: string[] = [];
    const now = new Date(Date.now() + 60_000);
    const schedule = startReprobeSchedule({ db, enqueue: async (t) => void queued.push(t), intervalMs: 0, staleAfterMs: 3_600_000, now: () => now });
    expect(await schedule.tick()).toEqual(['198.51.100.1:443']);
    expect(await schedule.tick()).toEqual([]);
    await schedule.stop();
    expect(queued).toEqual(['198.51.100.1:443']);
  });
});

describe('Cobalt Strike routes', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await createApiHarness();
  });
  afterAll(() => h.close());

  it('queues a probe (analyst+, 202 with a job id) and validates the target', async () => {
    const app = await buildHttpApp(
      { db: h.db, store: h.store, queue: h.queue, submitSample: () => Promise.reject(new Error('unused')), getSampleReport: async () => null, getAnalysis: async () => null, cobaltStrike: createCobaltStrikeHttpServices(h.queue) },
      h.config,
      { webRoot: null },
    );
    try {
      const ok = await app.inject({ method: 'POST', url: '/api/v1/cobaltstrike/probe', headers: bearer(h.tokens.analyst), payload: { target: '203.0.113.5:8080' } });
      expect(ok.statusCode).toBe(202);
      const job = await h.queue.get(ok.json<{ jobId: string }>().jobId);
      expect(job).toMatchObject({ name: 'cs-probe', payload: { target: '203.0.113.5:8080' }, state: 'queued' });
      const forbidden = await app.inject({ method: 'POST', url: '/api/v1/cobaltstrike/probe', headers: bearer(h.tokens.submitter), payload: { target: '203.0.113.5:8080' } });
      expect(forbidden.statusCode).toBe(403);
      const bad = await app.inject({ method: 'POST', url: '/api/v1/cobaltstrike/probe', headers: bearer(h.tokens.admin), payload: { target: 'ftp://x' } });
      expect(bad.statusCode).toBe(400);
    } finally {
      await app.close();
    }
    const disabled = await h.app.inject({ method: 'POST', url: '/api/v1/cobaltstrike/probe', headers: bearer(h.tokens.admin), payload: { target: '203.0.113.5:8080' } });
    expect(disabled.json<{ error: { code: string } }>().error.code).toBe('CONFIG_INVALID');
  });

  it('searches configs and lists servers with their configs', async () => {
    const x86 = only(X86_STAGE);
    const [id] = await storeBeaconConfigs(h.db, { server: { host: '203.0.113.7', port: 8443, address: '203.0.113.7' }, scheme: 'https' }, [x86]);
    const search = await h.app.inject({ url: '/api/v1/cobaltstrike/configs?watermark=1234567890', headers: bearer(h.tokens.reader) });
    expect(search.statusCode).toBe(200);
    expect(search.json<{ configs: { id: string }[] }>().configs.map((c) => c.id)).toEqual([id]);
    const byHost = await h.app.inject({ url: '/api/v1/cobaltstrike/configs?c2=nowhere.example', headers: bearer(h.tokens.reader) });
    expect(byHost.json<{ configs: unknown[] }>().configs).toEqual([]);
    const detail = await h.app.inject({ url: `/api/v1/cobaltstrike/configs/${id}`, headers: bearer(h.tokens.reader) });
    expect(detail.statusCode).toBe(200);
    expect(detail.json()).toMatchObject({ id, jpcert: { Watermark: 1234567890 }, native: { watermark: 1234567890 }, servers: [{ id: '203.0.113.7:8443', scheme: 'https' }] });
    const missing = await h.app.inject({ url: `/api/v1/cobaltstrike/configs/${'0'.repeat(64)}`, headers: bearer(h.tokens.reader) });
    expect(missing.statusCode).toBe(404);
    const servers = await h.app.inject({ url: '/api/v1/cobaltstrike/servers', headers: bearer(h.tokens.reader) });
    expect(servers.json()).toMatchObject({ servers: [{ id: '203.0.113.7:8443', address: '203.0.113.7', configIds: [id] }] });
    const anonymous = await h.app.inject({ url: '/api/v1/cobaltstrike/servers' });
    expect(anonymous.statusCode).toBe(401);
    const openapi = await h.app.inject({ url: '/api/openapi.json' });
    expect(Object.keys(openapi.json<{ paths: Record<string, unknown> }>().paths)).toEqual(
      expect.arrayContaining(['/api/v1/cobaltstrike/probe', '/api/v1/cobaltstrike/configs', '/api/v1/cobaltstrike/configs/{id}', '/api/v1/cobaltstrike/servers']),
    );
  });

  it('serves the probe history of a server', async () => {
    await runCsProbe({ db: h.db, store: new MemoryObjectStore(), probe: { retries: 0 } }, '169.254.169.254:80');
    const history = await h.app.inject({ url: `/api/v1/cobaltstrike/servers/${encodeURIComponent('169.254.169.254:80')}/probes`, headers: bearer(h.tokens.reader) });
    expect(history.statusCode).toBe(200);
    expect(history.json()).toMatchObject({ probes: [{ outcome: 'refused', url: '169.254.169.254:80', httpStatus: null, error: expect.stringContaining('FORBIDDEN') }] });
    const unknown = await h.app.inject({ url: '/api/v1/cobaltstrike/servers/192.0.2.1%3A1/probes', headers: bearer(h.tokens.reader) });
    expect(unknown.statusCode).toBe(404);
  });
});
