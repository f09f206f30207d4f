import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalysisStatusSchema,
  CreatedTokenSchema,
  ErrorBodySchema,
  HashRequestSchema,
  JobListSchema,
  JobSchema,
  SampleReportSchema,
  SearchResponseSchema,
  SubmitHashesResponseSchema,
  SubmitSamplesResponseSchema,
  TokenListSchema,
} from '@malpipe/api-client';
import { bearer, createApiHarness, multipart, type ApiHarness } from './api-harness.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const md5 = (bytes: Uint8Array): string => createHash('md5').update(bytes).digest('hex');

function textSample(label: string): Uint8Array {
  return new TextEncoder().encode(`#!/bin/sh\n# malpipe test sample ${label}\necho hello\n`);
}

describe('HTTP API', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await createApiHarness({ uploadLimitBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await h.close();
  });

  async function upload(
    files: { fileName: string; content: Uint8Array }[],
    fields: { name: string; value: string }[] = [],
  ) {
    const body = multipart([...fields, ...files.map((f) => ({ name: 'file', ...f }))]);
    return h.app.inject({
      method: 'POST',
      url: '/api/v1/samples',
      payload: body.payload,
      headers: { ...body.headers, ...bearer(h.tokens.submitter) },
    });
  }

  it('answers health without a token', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok' });
  });

  it('accepts a multipart upload, then serves its report by every hash', async () => {
    const a = textSample('a');
    const b = textSample('b');
    const res = await upload(
      [
        { fileName: 'dropper.sh', content: a },
        { fileName: '../../etc/evil.sh', content: b },
      ],
      [
        { name: 'tags', value: 'Phishing, campaign-42' },
        { name: 'password', value: 'secret' },
      ],
    );
    expect(res.statusCode, res.body).toBe(202);
    const { samples } = SubmitSamplesResponseSchema.parse(res.json());
    expect(samples.map((s) => s.sha256)).toEqual([sha256(a), sha256(b)]);
    expect(samples.map((s) => s.fileName)).toEqual(['dropper.sh', 'evil.sh']);
    expect(samples.every((s) => s.isNewSample)).toBe(true);

    const again = SubmitSamplesResponseSchema.parse(
      (await upload([{ fileName: 'copy.sh', content: a }])).json(),
    );
    expect(again.samples[0]?.isNewSample).toBe(false);

    for (const hash of [sha256(a), md5(a), sha256(a).toUpperCase()]) {
      const report = await h.app.inject({
        method: 'GET',
        url: `/api/v1/samples/${hash}`,
        headers: bearer(h.tokens.reader),
      });
      expect(report.statusCode, report.body).toBe(200);
      const parsed = SampleReportSchema.parse(report.json());
      expect(parsed.sample.sha256).toBe(sha256(a));
      expect(parsed.sample.size).toBe(a.byteLength);
      expect(parsed.names.sort()).toEqual(['copy.sh', 'dropper.sh']);
      expect(parsed.tags.sort()).toEqual(['campaign-42', 'phishing']);
      expect(parsed.analyses).toHaveLength(2);
    }

    const analysisId = samples[0]?.analysisId ?? '';
    const analysis = await h.app.inject({
      method: 'GET',
      url: `/api/v1/analyses/${analysisId}`,
      headers: bearer(h.tokens.reader),
    });
    expect(analysis.statusCode).toBe(200);
    expect(AnalysisStatusSchema.parse(analysis.json())).toMatchObject({
      id: analysisId,
      sha256: sha256(a),
      state: 'queued',
      children: [],
    });

    const jobs = JobListSchema.parse(
      (
        await h.app.inject({
          method: 'GET',
          url: '/api/v1/jobs?state=queued',
          headers: bearer(h.tokens.admin),
        })
      ).json(),
    ).jobs;
    const job = jobs.find((j) => (j.payload as { analysisId?: string }).analysisId === analysisId);
    expect(job?.name).toBe('analyze-sample');
    const one = await h.app.inject({
      method: 'GET',
      url: `/api/v1/jobs/${job?.id ?? ''}`,
      headers: bearer(h.tokens.reader),
    });
    expect(JobSchema.parse(one.json()).id).toBe(job?.id);
  });

  it('returns 404 SAMPLE_NOT_FOUND for unknown hashes and 400 for malformed ones', async () => {
    const missing = await h.app.inject({
      method: 'GET',
      url: `/api/v1/samples/${'0'.repeat(64)}`,
      headers: bearer(h.tokens.reader),
    });
    expect(missing.statusCode).toBe(404);
    expect(ErrorBodySchema.parse(missing.json()).error.code).toBe('SAMPLE_NOT_FOUND');
    const bad = await h.app.inject({
      method: 'GET',
      url: '/api/v1/samples/not-a-hash',
      headers: bearer(h.tokens.reader),
    });
    expect(bad.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(bad.json()).error.code).toBe('VALIDATION_FAILED');
  });

  it('refuses an upload over the limit with 413 SAMPLE_TOO_LARGE and the JSON error', async () => {
    const res = await upload([{ fileName: 'big.bin', content: new Uint8Array(64 * 1024 + 1).fill(0x41) }]);
    expect(res.statusCode).toBe(413);
    expect(ErrorBodySchema.parse(res.json()).error.code).toBe('SAMPLE_TOO_LARGE');
    // Two files each under the limit but over it together.
    const two = await upload([
      { fileName: 'half1.bin', content: new Uint8Array(40 * 1024).fill(1) },
      { fileName: 'half2.bin', content: new Uint8Array(40 * 1024).fill(2) },
    ]);
    expect(two.statusCode).toBe(413);
    expect(ErrorBodySchema.parse(two.json()).error.code).toBe('SAMPLE_TOO_LARGE');
    // Spooled upload files are removed whether the upload succeeded or not.
    expect(await readdir(join(h.config.dataDir, 'tmp', 'uploads'))).toEqual([]);
  });

  it('rejects uploads without files, with unknown fields, or not multipart', async () => {
    const none = await upload([], [{ name: 'tags', value: 'x' }]);
    expect(none.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(none.json()).error.code).toBe('VALIDATION_FAILED');
    const unknownField = await upload(
      [{ fileName: 'a', content: textSample('u') }],
      [{ name: 'evil', value: '1' }],
    );
    expect(ErrorBodySchema.parse(unknownField.json()).error.code).toBe('VALIDATION_FAILED');
    const json = await h.app.inject({
      method: 'POST',
      url: '/api/v1/samples',
      payload: { a: 1 },
      headers: bearer(h.tokens.submitter),
    });
    expect(json.statusCode).toBe(415);
    expect(ErrorBodySchema.parse(json.json()).error.code).toBe('UNSUPPORTED_INPUT');
  });

  it('downloads a sample as a ZipCrypto ZIP with password "infected"', async () => {
    const content = textSample('download');
    const [submitted] = SubmitSamplesResponseSchema.parse(
      (await upload([{ fileName: 'dl.sh', content }])).json(),
    ).samples;
    const res = await h.app.inject({
      method: 'GET',
      url: `/api/v1/samples/${submitted?.sha256 ?? ''}/download`,
      headers: bearer(h.tokens.analyst),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    const reader = new ZipReader(new Uint8ArrayReader(new Uint8Array(res.rawPayload)), {
      useWebWorkers: false,
    });
    const [entry] = await reader.getEntries();
    expect(entry?.encrypted).toBe(true);
    expect(entry?.filename).toBe(`${sha256(content)}.bin`);
    if (entry === undefined || entry.directory) throw new Error('no file entry');
    await expect(entry.getData(new Uint8ArrayWriter(), { password: 'wrong' })).rejects.toThrow();
    const data = await entry.getData(new Uint8ArrayWriter(), { password: 'infected' });
    expect(Buffer.from(data).equals(Buffer.from(content))).toBe(true);
    await reader.close();

    const missing = await h.app.inject({
      method: 'GET',
      url: `/api/v1/samples/${'f'.repeat(64)}/download`,
      headers: bearer(h.tokens.admin),
    });
    expect(missing.statusCode).toBe(404);
  });

  it('links known hashes at once and queues unknown ones', async () => {
    const content = textSample('hashes');
    const [submitted] = SubmitSamplesResponseSchema.parse(
      (await upload([{ fileName: 'h.sh', content }])).json(),
    ).samples;
    const unknown = 'a'.repeat(40);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/hashes',
      payload: { hashes: [md5(content), unknown, ` ${unknown.toUpperCase()} `] },
      headers: bearer(h.tokens.submitter),
    });
    expect(res.statusCode, res.body).toBe(202);
    const { hashes } = SubmitHashesResponseSchema.parse(res.json());
    expect(hashes).toHaveLength(2);
    expect(hashes[0]).toMatchObject({
      hash: md5(content),
      type: 'md5',
      state: 'known',
      sha256: submitted?.sha256,
    });
    expect(hashes[1]).toMatchObject({ hash: unknown, type: 'sha1', state: 'queued' });
    expect(hashes[1]?.sha256).toBeUndefined();

    // Once an analysis completes, the same hash reports `analysed`; an open request is reused, not duplicated.
    await h.db
      .updateTable('analyses')
      .set({ state: 'completed' })
      .where('id', '=', submitted?.analysisId ?? '')
      .execute();
    const text = `IoCs: hxxp://evil[.]test/x ${sha256(content)} and ${unknown}; not a hash: ${'b'.repeat(33)}`;
    const second = SubmitHashesResponseSchema.parse(
      (
        await h.app.inject({
          method: 'POST',
          url: '/api/v1/hashes',
          payload: { text },
          headers: bearer(h.tokens.admin),
        })
      ).json(),
    ).hashes;
    expect(second.map((e) => [e.type, e.state])).toEqual([
      ['sha256', 'analysed'],
      ['sha1', 'queued'],
    ]);
    expect(second[1]?.id).toBe(hashes[1]?.id);

    const got = await h.app.inject({
      method: 'GET',
      url: `/api/v1/hashes/${hashes[0]?.id ?? ''}`,
      headers: bearer(h.tokens.reader),
    });
    expect(HashRequestSchema.parse(got.json())).toMatchObject({
      hash: md5(content),
      sha256: submitted?.sha256,
    });
    const missing = await h.app.inject({
      method: 'GET',
      url: '/api/v1/hashes/nope',
      headers: bearer(h.tokens.reader),
    });
    expect(missing.statusCode).toBe(404);
  });

  it('validates hash submissions and enforces 10,000 per request', async () => {
    const post = (payload: unknown) =>
      h.app.inject({
        method: 'POST',
        url: '/api/v1/hashes',
        payload: payload as object,
        headers: bearer(h.tokens.submitter),
      });
    const invalid = await post({ hashes: ['xyz'] });
    expect(invalid.statusCode).toBe(400);
    expect(ErrorBodySchema.parse(invalid.json()).error.code).toBe('VALIDATION_FAILED');
    const both = await post({ hashes: ['a'.repeat(32)], text: 'x' });
    expect(ErrorBodySchema.parse(both.json()).error.code).toBe('VALIDATION_FAILED');
    const many = Array.from({ length: 10_001 }, (_, i) => i.toString(16).padStart(32, '0'));
    const tooMany = await post({ hashes: many });
    expect(tooMany.statusCode).toBe(422);
    expect(ErrorBodySchema.parse(tooMany.json()).error.code).toBe('LIMIT_EXCEEDED');
    const exactly = await post({ hashes: many.slice(0, 10_000) });
    expect(exactly.statusCode).toBe(202);
    expect(SubmitHashesResponseSchema.parse(exactly.json()).hashes).toHaveLength(10_000);
  });

  it('manages tokens: create, list without secrets, revoke', async () => {
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      payload: { name: 'sensor', role: 'submitter', rateLimitPerMinute: 5 },
      headers: bearer(h.tokens.admin),
    });
    expect(created.statusCode, created.body).toBe(201);
    const token = CreatedTokenSchema.parse(created.json());
    expect(token.token).toMatch(/^mp_[A-Za-z0-9_-]{43}$/);
    const row = await h.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', token.id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(createHash('sha256').update(token.token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(token.token);

    const listed = await h.app.inject({
      method: 'GET',
      url: '/api/v1/tokens',
      headers: bearer(h.tokens.admin),
    });
    expect(listed.body).not.toContain(token.token);
    expect(TokenListSchema.parse(listed.json()).tokens.map((t) => t.name)).toContain('sensor');

    const ok = await h.app.inject({ method: 'GET', url: '/api/v1/search', headers: bearer(token.token) });
    expect(ok.statusCode).toBe(200);
    const revoked = await h.app.inject({
      method: 'DELETE',
      url: `/api/v1/tokens/${token.id}`,
      headers: bearer(h.tokens.admin),
    });
    expect(revoked.json()).toMatchObject({ id: token.id });
    expect((revoked.json() as { revokedAt: string | null }).revokedAt).not.toBeNull();
    const after = await h.app.inject({ method: 'GET', url: '/api/v1/search', headers: bearer(token.token) });
    expect(after.statusCode).toBe(401);
    const unknown = await h.app.inject({
      method: 'DELETE',
      url: '/api/v1/tokens/nope',
      headers: bearer(h.tokens.admin),
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('retries dead jobs (admin)', async () => {
    const [job] = JobListSchema.parse(
      (
        await h.app.inject({ method: 'GET', url: '/api/v1/jobs?limit=1', headers: bearer(h.tokens.admin) })
      ).json(),
    ).jobs;
    if (job === undefined) throw new Error('expected a job');
    await h.db.updateTable('jobs').set({ state: 'dead', attempts: 3 }).where('id', '=', job.id).execute();
    const dead = JobListSchema.parse(
      (
        await h.app.inject({ method: 'GET', url: '/api/v1/jobs?state=dead', headers: bearer(h.tokens.admin) })
      ).json(),
    );
    expect(dead.jobs.map((j) => j.id)).toEqual([job.id]);
    const retried = await h.app.inject({
      method: 'POST',
      url: `/api/v1/jobs/${job.id}/retry`,
      headers: bearer(h.tokens.admin),
    });
    expect(retried.statusCode, retried.body).toBe(200);
    expect(JobSchema.parse(retried.json())).toMatchObject({ id: job.id, state: 'queued', attempts: 0 });
    const missing = await h.app.inject({
      method: 'GET',
      url: '/api/v1/jobs/nope',
      headers: bearer(h.tokens.admin),
    });
    expect(ErrorBodySchema.parse(missing.json()).error.code).toBe('JOB_NOT_FOUND');
  });

  it('answers unknown routes with 404 NOT_FOUND in the JSON shape', async () => {
    for (const url of ['/api/v1/nope', '/nope', '/api/v2/samples']) {
      const res = await h.app.inject({ method: 'GET', url, headers: bearer(h.tokens.admin) });
      expect(res.statusCode, url).toBe(404);
      expect(ErrorBodySchema.parse(res.json()).error.code).toBe('NOT_FOUND');
    }
  });

  it('serves a valid OpenAPI document listing every route, and the docs page', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as {
      openapi: string;
      paths: Record<string, Record<string, { responses?: object }>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    for (const route of h.routes.filter((r) => r.url.startsWith('/api/v1'))) {
      const path = route.url.replace(/:(\w+)/g, '{$1}');
      expect(doc.paths[path]?.[route.method.toLowerCase()], `${route.method} ${path}`).toBeDefined();
    }
    expect(doc.paths['/api/v1/search']?.get?.responses).toHaveProperty('200');
    expect(openApiProblems(doc)).toEqual([]);
    const upload = doc.paths['/api/v1/samples']?.post as {
      requestBody?: { content?: Record<string, { schema?: { required?: string[] } }> };
    };
    expect(upload.requestBody?.content?.['multipart/form-data']?.schema?.required).toEqual(['file']);
    const docs = await h.app.inject({ method: 'GET', url: '/api/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
  });
});

/** Structural OpenAPI 3 checks: responses present, path parameters declared, every $ref resolvable. */
function openApiProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const root = doc as {
    paths?: Record<string, Record<string, unknown>>;
    components?: Record<string, Record<string, unknown>>;
  };
  const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
  for (const [path, item] of Object.entries(root.paths ?? {})) {
    for (const [method, raw] of Object.entries(item)) {
      if (!methods.has(method)) continue;
      const op = raw as {
        responses?: Record<string, unknown>;
        parameters?: { name: string; in: string; required?: boolean }[];
      };
      if (op.responses === undefined || Object.keys(op.responses).length === 0)
        problems.push(`${method} ${path}: no responses`);
      for (const [, name] of path.matchAll(/\{(\w+)\}/g)) {
        const param = op.parameters?.find((p) => p.name === name && p.in === 'path');
        if (param?.required !== true)
          problems.push(`${method} ${path}: path parameter ${name ?? ''} not declared as required`);
      }
      for (const param of op.parameters ?? []) {
        if (!['path', 'query', 'header', 'cookie'].includes(param.in))
          problems.push(`${method} ${path}: parameter ${param.name} in ${param.in}`);
      }
    }
  }
  const text = JSON.stringify(doc);
  for (const match of text.matchAll(/"\$ref":"#\/components\/(\w+)\/([^"]+)"/g)) {
    const section = match[1] ?? '';
    const name = match[2] ?? '';
    if (root.components?.[section]?.[name] === undefined) problems.push(`unresolved $ref ${section}/${name}`);
  }
  return problems;
}

describe('search', () => {
  let h: ApiHarness;
  const shas: string[] = [];
  beforeAll(async () => {
    h = await createApiHarness();
    // 25 samples with distinct last_seen plus 5 sharing one timestamp, to exercise the sha256 tie-breaker.
    const rows = Array.from({ length: 30 }, (_, i) => {
      const sha = createHash('sha256').update(`sample ${i}`).digest('hex');
      shas.push(sha);
      const seen = i < 25 ? new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() : '2026-02-01T00:00:00.000Z';
      return {
        sha256: sha,
        md5: createHash('md5').update(`sample ${i}`).digest('hex'),
        sha1: createHash('sha1').update(`sample ${i}`).digest('hex'),
        sha512: createHash('sha512').update(`sample ${i}`).digest('hex'),
        size: 100 + i,
        file_kind: i % 2 === 0 ? 'executable' : 'script',
        file_format: i % 2 === 0 ? 'pe32' : 'powershell',
        mime: 'application/octet-stream',
        file_description: 'test',
        file_traits: '[]',
        ssdeep: null,
        tlsh: null,
        imphash: null,
        first_seen: seen,
        last_seen: seen,
      };
    });
    await h.db.insertInto('samples').values(rows).execute();
    await h.db
      .insertInto('sample_names')
      .values({ sha256: shas[3] ?? '', name: 'Invoice_2026.PDF.exe', first_seen: '2026-01-01T00:00:00.000Z' })
      .execute();
    await h.db
      .insertInto('sample_tags')
      .values({ sha256: shas[4] ?? '', tag: 'emotet' })
      .execute();
    await h.db
      .insertInto('yara_matches')
      .values({
        sha256: shas[5] ?? '',
        ruleset_version: 'v1',
        rule: 'CobaltStrike_Beacon',
        namespace: 'default',
        tags: '[]',
      })
      .execute();
    const indicator = await h.db
      .insertInto('indicators')
      .values({ type: 'domain', value: 'evil.example.net', first_seen: '2026-01-01T00:00:00.000Z' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await h.db
      .insertInto('sample_indicators')
      .values({ sha256: shas[6] ?? '', indicator_id: Number(indicator.id), analyzer: 'ioc', context: null })
      .execute();
  });
  afterAll(async () => {
    await h.close();
  });

  const search = async (query: string) => {
    const res = await h.app.inject({
      method: 'GET',
      url: `/api/v1/search?${query}`,
      headers: bearer(h.tokens.reader),
    });
    expect(res.statusCode, res.body).toBe(200);
    return SearchResponseSchema.parse(res.json());
  };

  it('pages through every sample exactly once, newest first, with a stable cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const result: Awaited<ReturnType<typeof search>> = await search(
        `limit=7${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      seen.push(...result.items.map((i) => i.sha256));
      cursor = result.nextCursor;
      if (cursor === null) break;
      // A sample inserted with an older timestamp mid-way must not shift the pages already served.
      if (page === 1) {
        const row = await h.db
          .selectFrom('samples')
          .selectAll()
          .where('sha256', '=', shas[0] ?? '')
          .executeTakeFirstOrThrow();
        await h.db
          .insertInto('samples')
          .values({ ...row, sha256: 'f'.repeat(64), last_seen: '2026-01-01T00:00:00.000Z' })
          .execute();
      }
    }
    expect(cursor).toBeNull();
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(31);
    // The five tied samples come first, ordered by sha256 descending.
    const tied = shas.slice(25).sort().reverse();
    expect(seen.slice(0, 5)).toEqual(tied);
    expect(seen[5]).toBe(shas[24]);
    await h.db.deleteFrom('samples').where('sha256', '=', 'f'.repeat(64)).execute();
  });

  it('filters by hash, name, type, tag, yara rule, indicator and date range', async () => {
    expect((await search(`hash=${shas[2]?.toUpperCase() ?? ''}`)).items.map((i) => i.sha256)).toEqual([
      shas[2],
    ]);
    expect((await search('name=invoice_2026')).items.map((i) => i.sha256)).toEqual([shas[3]]);
    expect((await search('name=%25')).items).toEqual([]);
    expect((await search('type=powershell&limit=200')).items).toHaveLength(15);
    expect((await search('tag=emotet')).items.map((i) => i.tags)).toEqual([['emotet']]);
    expect((await search('yara=CobaltStrike_Beacon')).items.map((i) => i.sha256)).toEqual([shas[5]]);
    expect((await search('ioc=evil.example.net')).items.map((i) => i.sha256)).toEqual([shas[6]]);
    const ranged = await search(`from=2026-01-01T00:10:00Z&to=2026-01-01T00:12:00Z`);
    expect(ranged.items.map((i) => i.sha256)).toEqual([shas[12], shas[11], shas[10]]);
    expect((await search('type=pe32&tag=emotet')).items).toHaveLength(1);
    expect((await search('type=powershell&tag=emotet')).items).toHaveLength(0);
  });

  it('interprets q as a hash, a defanged IoC or a word', async () => {
    expect((await search(`q=${shas[7] ?? ''}`)).items.map((i) => i.sha256)).toEqual([shas[7]]);
    expect((await search('q=evil%5B.%5Dexample%5B.%5Dnet')).items.map((i) => i.sha256)).toEqual([shas[6]]);
    expect((await search('q=emotet')).items.map((i) => i.sha256)).toEqual([shas[4]]);
    expect((await search('q=CobaltStrike_Beacon')).items.map((i) => i.sha256)).toEqual([shas[5]]);
    expect((await search('q=Invoice_2026.PDF.exe')).items.map((i) => i.sha256)).toEqual([shas[3]]);
  });

  it('rejects a forged cursor and an out-of-range limit', async () => {
    for (const query of ['cursor=bm90LWpzb24', 'limit=0', 'limit=201', 'from=yesterday']) {
      const res = await h.app.inject({
        method: 'GET',
        url: `/api/v1/search?${query}`,
        headers: bearer(h.tokens.reader),
      });
      expect(res.statusCode, query).toBe(400);
      expect(ErrorBodySchema.parse(res.json()).error.code).toBe('VALIDATION_FAILED');
    }
  });
});
