import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { identifyFile } from '@malpipe/analyzers/identify/identify-file';
import { loadConfig, type SourcesConfig } from '../src/config.js';
import { createDatabase } from '../src/database/create-database.js';
import type { Database } from '../src/database/database.js';
import { createHashSources, enqueueFetchHash, recoverHashRequests } from '../src/fetcher/create-sources.js';
import { HashFetcher, listSourceReports, type HashFetcherDeps } from '../src/fetcher/hash-fetcher.js';
import { submitHashes } from '../src/hashes/submit-hashes.js';
import { submitSample } from '../src/samples/submit-sample.js';
import { SqliteJobQueue } from '../src/queue/sqlite-job-queue.js';
import { MemoryObjectStore } from '../src/storage/memory-object-store.js';
import { startFakeMalwareBazaar, type FakeMalwareBazaar } from './fake-malwarebazaar.js';
import { startFakeVirusTotal, type FakeVirusTotal } from './fake-virustotal.js';

const signal = new AbortController().signal;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe(HashFetcher.name, () => {
  let vt: FakeVirusTotal;
  let mb: FakeMalwareBazaar;
  let dir: string;
  let db: Database;
  let rescheduled: { id: string; delayMs: number }[];
  let enqueued: string[];

  beforeAll(async () => {
    vt = await startFakeVirusTotal({ keys: { premium: true, public: false } });
    mb = await startFakeMalwareBazaar({ apiKey: 'mb-key' });
  });
  afterAll(async () => {
    await vt.close();
    await mb.close();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'malpipe-fetcher-'));
    db = await createDatabase(`sqlite:${join(dir, 'db.sqlite')}`);
    rescheduled = [];
    enqueued = [];
    vt.requests.length = 0;
    mb.requests.length = 0;
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  function sourcesConfig(vtKey: string | null, mbKey: string | null, perMinute = 1000): SourcesConfig {
    const base = loadConfig({}).sources;
    return {
      ...base,
      virustotal: { apiKey: vtKey, baseUrl: vt.url, rateLimits: [{ limit: perMinute, windowMs: 60_000 }] },
      malwarebazaar: { apiKey: mbKey, baseUrl: mb.url, rateLimits: [{ limit: perMinute, windowMs: 60_000 }] },
    };
  }

  function fetcher(config: SourcesConfig, extra: Partial<HashFetcherDeps> = {}): HashFetcher {
    const store = new MemoryObjectStore();
    return new HashFetcher({
      db,
      sources: createHashSources(config, db, { maxDownloadBytes: 1024 * 1024, rateMarginMs: 0 }),
      submitSample: (input) =>
        submitSample(
          {
            db,
            store,
            enqueueAnalysis: async () => undefined,
            identify: (b, name) => identifyFile(b, name ?? undefined),
            uploadLimitBytes: 1024 * 1024,
            tmpDir: dir,
            defaultArchivePasswords: [],
          },
          input,
        ),
      reschedule: async (id, delayMs) => void rescheduled.push({ id, delayMs }),
      notFoundTtlMs: 3600_000,
      retryBaseMs: 1_000,
      maxAttempts: 3,
      ...extra,
    });
  }

  async function request(hash: string): Promise<string> {
    const [entry] = await submitHashes(db, {
      hashes: [hash],
      fetchQueue: { enqueue: async (_trx, id) => void enqueued.push(id), wake: () => undefined },
    });
    if (entry === undefined) throw new Error('no entry');
    return entry.id;
  }

  const state = (id: string) =>
    db.selectFrom('hash_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('queues a fetch job per unknown hash and fetches from VirusTotal with a premium key, storing the report as a result', async () => {
    const sha256 = vt.addFile({ bytes: bytes('premium sample'), names: ['p.exe'], malicious: 3 });
    const id = await request(sha256);
    expect(enqueued).toEqual([id]);
    expect(await fetcher(sourcesConfig('premium', 'mb-key')).fetch(id, signal)).toMatchObject({
      state: 'fetched',
      source: 'virustotal',
      sha256,
    });
    expect(await state(id)).toMatchObject({ state: 'fetched', sample_sha256: sha256 });
    const result = await db
      .selectFrom('analysis_results')
      .selectAll()
      .where('sha256', '=', sha256)
      .where('analyzer', '=', 'virustotal')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(result.result ?? '{}')).toMatchObject({
      detections: { malicious: 3 },
      names: ['p.exe'],
    });
    expect(
      await db.selectFrom('sample_sources').select('source').where('sha256', '=', sha256).execute(),
    ).toEqual([{ source: 'virustotal' }]);
    expect(mb.requests).toHaveLength(0);
  });

  it('keeps the VirusTotal report when only MalwareBazaar has the file, and by MD5', async () => {
    const sample = bytes('bazaar only sample');
    const sha256 = vt.addFile({ bytes: sample, malicious: 9 });
    mb.addFile(sample, { fileName: 'b.exe', tags: ['exe'] });
    const md5 =
      (
        await new (await import('../src/sources/virustotal-client.js')).VirusTotalClient({
          apiKey: 'public',
          baseUrl: vt.url,
        }).getFile(sha256)
      ).attributes.md5 ?? '';
    const id = await request(md5);
    expect(await fetcher(sourcesConfig('public', 'mb-key')).fetch(id, signal)).toMatchObject({
      state: 'fetched',
      source: 'malwarebazaar',
      sha256,
    });
    const analyzers = (
      await db.selectFrom('analysis_results').select('analyzer').where('sha256', '=', sha256).execute()
    ).map((r) => r.analyzer);
    expect(analyzers).toContain('virustotal');
  });

  it('stores the VirusTotal report on its own when no source can provide the file', async () => {
    const sha256 = vt.addFile({ bytes: bytes('report only'), malicious: 50, tags: ['trojan'] });
    const id = await request(sha256);
    expect(await fetcher(sourcesConfig('public', 'mb-key')).fetch(id, signal)).toEqual({
      state: 'not-found',
      reports: ['virustotal'],
    });
    const row = await state(id);
    expect(row.state).toBe('not-found');
    expect(row.error_message).toMatch(/report\(s\) stored from virustotal/);
    const [stored] = await listSourceReports(db, sha256);
    expect(stored).toMatchObject({
      source: 'virustotal',
      report: { tags: ['trojan'], detections: { malicious: 50 } },
    });
    expect(await listSourceReports(db, stored?.report.md5 ?? '')).toHaveLength(1);
  });

  it('marks a hash unknown everywhere not-found, and answers from the not-found cache next time', async () => {
    const hash = '0123456789abcdef0123456789abcdef';
    const first = await request(hash);
    const f = fetcher(sourcesConfig('public', 'mb-key'));
    expect(await f.fetch(first, signal)).toEqual({ state: 'not-found', reports: [] });
    const upstream = vt.requests.length + mb.requests.length;
    expect(upstream).toBe(2);
    const second = await request(hash);
    expect(second).not.toBe(first);
    expect(await f.fetch(second, signal)).toMatchObject({ state: 'not-found' });
    expect(vt.requests.length + mb.requests.length).toBe(upstream);
  });

  it('retries a source answering 500s or garbage with back-off, then fails the request; the circuit opens', async () => {
    const hash = 'a'.repeat(64);
    const id = await request(hash);
    const f = fetcher(sourcesConfig('public', null), { circuit: { threshold: 2, cooldownMs: 60_000 } });
    vt.failNext(1, 500, '<html>Internal error</html>');
    expect(await f.fetch(id, signal)).toMatchObject({ state: 'retrying' });
    expect(await state(id)).toMatchObject({ state: 'queued' });
    vt.failNext(1, 200, 'garbage{');
    expect(await f.fetch(id, signal)).toMatchObject({ state: 'retrying' });
    expect(rescheduled.map((r) => r.delayMs)).toEqual([1_000, 2_000]);
    // Two failures opened the circuit: the third run waits for it instead of calling VirusTotal.
    const before = vt.requests.length;
    expect(await f.fetch(id, signal)).toMatchObject({ state: 'waiting' });
    expect(vt.requests.length).toBe(before);
    const failing = fetcher(sourcesConfig('public', null), {
      circuit: { threshold: 100, cooldownMs: 1 },
      maxAttempts: 3,
    });
    await db.deleteFrom('source_circuits').execute();
    vt.failNext(1, 502, 'bad gateway');
    expect(await failing.fetch(id, signal)).toMatchObject({ state: 'failed' });
    expect((await state(id)).error_message).toMatch(/gave up after 3 attempts/);
  });

  it('reschedules on a 429 QuotaExceededError without counting an attempt, and holds back every worker', async () => {
    const sha256 = vt.addFile({ bytes: bytes('quota sample') });
    const id = await request(sha256);
    const f = fetcher(sourcesConfig('premium', null));
    vt.failNext(1, 429, JSON.stringify({ error: { code: 'QuotaExceededError', message: 'Quota exceeded' } }));
    const outcome = await f.fetch(id, signal);
    expect(outcome).toMatchObject({ state: 'waiting' });
    expect(rescheduled).toHaveLength(1);
    expect(rescheduled[0]?.delayMs).toBeGreaterThan(50_000);
    expect(await state(id)).toMatchObject({ state: 'queued' });
    expect(await db.selectFrom('hash_fetches').selectAll().execute()).toEqual([]);
    // The shared budget is now spent: a second fetcher (another worker) does not even ask VirusTotal.
    const before = vt.requests.length;
    expect(await fetcher(sourcesConfig('premium', null)).fetch(id, signal)).toMatchObject({
      state: 'waiting',
    });
    expect(vt.requests.length).toBe(before);
  });

  it('waits for the local per-key budget instead of exceeding it', async () => {
    const a = await request('b'.repeat(64));
    const b = await request('c'.repeat(64));
    const f = fetcher(sourcesConfig('public', null, 1));
    expect(await f.fetch(a, signal)).toMatchObject({ state: 'not-found' });
    expect(await f.fetch(b, signal)).toMatchObject({ state: 'waiting' });
    expect(vt.requests).toHaveLength(1);
    expect((await state(b)).error_message).toMatch(/budget/);
  });

  it('links a sample stored meanwhile without asking any source, and shares one lookup between concurrent requests', async () => {
    const sample = bytes('dedupe sample');
    const sha256 = vt.addFile({ bytes: sample });
    const now = new Date().toISOString();
    const ids = ['r1', 'r2'];
    for (const id of ids) {
      await db
        .insertInto('hash_requests')
        .values({
          id,
          hash: sha256,
          hash_type: 'sha256',
          state: 'queued',
          sample_sha256: null,
          error_message: null,
          requested_by: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
    const f = fetcher(sourcesConfig('premium', null));
    const outcomes = await Promise.all(ids.map((id) => f.fetch(id, signal)));
    expect(outcomes.map((o) => o.state)).toEqual(['fetched', 'fetched']);
    expect(vt.requests.filter((r) => r.path.endsWith(sha256))).toHaveLength(1);
    const later = await request(sha256);
    expect((await state(later)).state).toBe('known');
    await db.updateTable('hash_requests').set({ state: 'queued' }).where('id', '=', 'r1').execute();
    const before = vt.requests.length;
    expect(await f.fetch('r1', signal)).toEqual({ state: 'known', sha256 });
    expect(vt.requests.length).toBe(before);
  });

  it('refuses a file whose digests do not match the requested hash', async () => {
    const sha256 = vt.addFile({ bytes: bytes('honest') });
    const id = await request(sha256);
    // A MalwareBazaar that answers get_info for the hash but serves other bytes.
    const liar = await startFakeMalwareBazaar({ apiKey: 'mb-key' });
    try {
      const other = liar.addFile(bytes('different bytes'));
      const config = {
        ...sourcesConfig(null, 'mb-key'),
        malwarebazaar: { apiKey: 'mb-key', baseUrl: liar.url, rateLimits: [] },
      };
      const realFetch = globalThis.fetch;
      const swapped: typeof fetch = (input, init) => {
        const body = typeof init?.body === 'string' ? init.body.replace(sha256, other) : init?.body;
        return realFetch(input, { ...init, body });
      };
      globalThis.fetch = swapped;
      try {
        expect(await fetcher(config).fetch(id, signal)).toMatchObject({
          state: 'retrying',
          reason: expect.stringMatching(/do not match/) as unknown,
        });
      } finally {
        globalThis.fetch = realFetch;
      }
      expect(await db.selectFrom('samples').select('sha256').execute()).toEqual([]);
    } finally {
      await liar.close();
    }
  });

  it('rejects malformed hashes and more than 10,000 per request; takes 10,000 with one job each', async () => {
    await expect(submitHashes(db, { hashes: ['not-a-hash'] })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(
      submitHashes(db, {
        hashes: Array.from({ length: 10_001 }, (_, i) => i.toString(16).padStart(32, '0')),
      }),
    ).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    const many = Array.from({ length: 10_000 }, (_, i) => i.toString(16).padStart(64, '0'));
    const entries = await submitHashes(db, {
      hashes: many,
      fetchQueue: { enqueue: async (_trx, id) => void enqueued.push(id), wake: () => undefined },
    });
    expect(entries).toHaveLength(10_000);
    expect(new Set(enqueued)).toEqual(new Set(entries.map((e) => e.id)));
  });

  it('lets only the owning job fetch, and re-queues open requests whose job is gone', async () => {
    const queue = new SqliteJobQueue(db);
    const fetchQueue = {
      enqueue: (trx: Database, id: string) => enqueueFetchHash(queue, trx, id),
      wake: () => undefined,
    };
    const [owned] = await submitHashes(db, { hashes: ['d'.repeat(64)], fetchQueue });
    const [orphan] = await submitHashes(db, { hashes: ['e'.repeat(64)] });
    const [live] = await submitHashes(db, { hashes: ['1'.repeat(64)], fetchQueue });
    const ownerOf = async (id: string) =>
      (
        await db
          .selectFrom('hash_fetches')
          .select('job_id')
          .where('hash_request_id', '=', id)
          .executeTakeFirst()
      )?.job_id ?? null;
    const firstJob = await ownerOf(owned?.id ?? '');
    expect(firstJob).not.toBeNull();
    expect(
      await fetcher(sourcesConfig('public', null)).fetch(owned?.id ?? '', signal, 'some-stale-job'),
    ).toEqual({ state: 'skipped' });
    expect(vt.requests).toHaveLength(0);

    await db
      .updateTable('jobs')
      .set({ state: 'dead' })
      .where('id', '=', firstJob ?? '')
      .execute();
    expect((await recoverHashRequests(db, queue)).sort()).toEqual([owned?.id, orphan?.id].sort());
    const secondJob = await ownerOf(owned?.id ?? '');
    expect(secondJob).not.toBe(firstJob);
    expect(await ownerOf(orphan?.id ?? '')).not.toBeNull();
    expect(await ownerOf(live?.id ?? '')).not.toBeNull();
    expect(await recoverHashRequests(db, queue)).toEqual([]);
    // The new owner does the work.
    expect(
      await fetcher(sourcesConfig('public', null)).fetch(owned?.id ?? '', signal, secondJob ?? ''),
    ).toMatchObject({ state: 'not-found' });
    await queue.close(0);
  });
});
