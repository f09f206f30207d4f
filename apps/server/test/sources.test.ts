import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@malpipe/core';
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from '@zip.js/zip.js';
import { MalwareBazaarClient, unzipSample } from '../src/sources/malwarebazaar-client.js';
import { MalwareBazaarSource } from '../src/sources/malwarebazaar-source.js';
import { UrlSource } from '../src/sources/url-source.js';
import { isVirusTotalError, VirusTotalClient } from '../src/sources/virustotal-client.js';
import { VirusTotalSource } from '../src/sources/virustotal-source.js';
import { startFakeMalwareBazaar, type FakeMalwareBazaar } from './fake-malwarebazaar.js';
import { startFakeVirusTotal, type FakeVirusTotal } from './fake-virustotal.js';

const signal = new AbortController().signal;
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const UNKNOWN = 'f'.repeat(64);

describe(VirusTotalClient.name, () => {
  let vt: FakeVirusTotal;
  let sha256: string;
  beforeAll(async () => {
    vt = await startFakeVirusTotal({ keys: { premium: true, public: false } });
    sha256 = vt.addFile({
      bytes: bytes('MZ fake sample one'),
      names: ['one.exe'],
      tags: ['peexe'],
      malicious: 42,
    });
    vt.addFile({ bytes: bytes('second') });
    vt.addFile({ bytes: bytes('third') });
  });
  afterAll(() => vt.close());

  it('reads a file report by SHA-256 and by MD5 with the x-apikey header', async () => {
    const client = new VirusTotalClient({ apiKey: 'public', baseUrl: vt.url });
    const file = await client.getFile(sha256);
    expect(file.attributes.names).toEqual(['one.exe']);
    expect(file.attributes.last_analysis_stats?.['malicious']).toBe(42);
    const md5 = file.attributes.md5 ?? '';
    expect((await client.getFile(md5)).id).toBe(sha256);
  });

  it('maps the error envelope: NotFoundError, WrongCredentialsError, ForbiddenError', async () => {
    const client = new VirusTotalClient({ apiKey: 'public', baseUrl: vt.url });
    const notFound = await client.getFile(UNKNOWN).catch((e: unknown) => e);
    expect(isVirusTotalError(notFound, 'NotFoundError')).toBe(true);
    const wrong = await new VirusTotalClient({ apiKey: 'nope', baseUrl: vt.url })
      .getFile(sha256)
      .catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'UPSTREAM_AUTH_FAILED', vtCode: 'WrongCredentialsError' });
    const forbidden = await client.downloadFile(sha256).catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ code: 'FORBIDDEN', vtCode: 'ForbiddenError' });
  });

  it('downloads through the redirect without sending the key to the redirect target', async () => {
    const client = new VirusTotalClient({ apiKey: 'premium', baseUrl: vt.url });
    expect(new TextDecoder().decode(await client.downloadFile(sha256))).toBe('MZ fake sample one');
  });

  it('pages Intelligence search with cursors and reads Livehunt and Retrohunt', async () => {
    const client = new VirusTotalClient({ apiKey: 'premium', baseUrl: vt.url });
    vt.searchResults.push(...Array.from({ length: 5 }, (_, i) => i.toString(16).padStart(64, '0')));
    const first = await client.search('tag:peexe', { limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.cursor).toBe('2');
    const all: string[] = [];
    for await (const object of client.searchAll('tag:peexe', { pageSize: 2 })) all.push(object.id);
    expect(all).toEqual(vt.searchResults);
    const notifications = await client.huntingNotificationFiles({ limit: 10 });
    expect(notifications.data[0]?.context_attributes?.['rule_name']).toBe('fake_rule');
    const job = await client.createRetrohuntJob({ rules: 'rule a { condition: true }', corpus: 'main' });
    expect(job.attributes.status).toBe('queued');
    expect((await client.getRetrohuntJob(job.id)).attributes.status).toBe('finished');
    expect((await client.retrohuntMatchingFiles(job.id, { limit: 2 })).data).toHaveLength(2);
    await expect(
      new VirusTotalClient({ apiKey: 'public', baseUrl: vt.url }).search('x'),
    ).rejects.toMatchObject({ vtCode: 'ForbiddenError' });
  });

  it('turns HTML error pages and garbage into UPSTREAM_FAILED, and 429 into a quota error with retryAt', async () => {
    const client = new VirusTotalClient({ apiKey: 'public', baseUrl: vt.url });
    vt.failNext(1, 500, '<html>oops</html>');
    await expect(client.getFile(sha256)).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', retryable: true });
    vt.failNext(1, 200, '{"data": "not an object"');
    await expect(client.getFile(sha256)).rejects.toMatchObject({ code: 'UPSTREAM_FAILED' });
    vt.failNext(1, 429, '{"error":{"code":"QuotaExceededError","message":"Quota exceeded"}}');
    const quota = (await client.getFile(sha256).then(
      () => null,
      (e: unknown) => e,
    )) as AppError;
    expect(quota).toMatchObject({ code: 'UPSTREAM_QUOTA_EXCEEDED', vtCode: 'QuotaExceededError' });
    expect(quota.details?.['retryAt']).toBeGreaterThan(Date.now());
  });

  it('as a source: a public key yields the report without the file', async () => {
    const found = await new VirusTotalSource(
      new VirusTotalClient({ apiKey: 'public', baseUrl: vt.url }),
    ).lookup({ hash: sha256 }, signal);
    expect(found).toMatchObject({
      status: 'found',
      sha256,
      file: null,
      report: { detections: { malicious: 42, total: 70 }, names: ['one.exe'], tags: ['peexe'] },
    });
    if (found.status === 'found') expect(found.fileError?.code).toBe('FORBIDDEN');
    expect(
      await new VirusTotalSource(new VirusTotalClient({ apiKey: 'public', baseUrl: vt.url })).lookup(
        { hash: UNKNOWN },
        signal,
      ),
    ).toEqual({ status: 'not-found' });
  });
});

describe(MalwareBazaarClient.name, () => {
  let mb: FakeMalwareBazaar;
  let sha256: string;
  beforeAll(async () => {
    mb = await startFakeMalwareBazaar({ apiKey: 'mb-key' });
    sha256 = mb.addFile(bytes('MZ bazaar sample'), {
      fileName: 'invoice.exe',
      signature: 'AgentTesla',
      tags: ['exe', 'AgentTesla'],
    });
  });
  afterAll(() => mb.close());

  it('answers get_info, and opens the AES-encrypted get_file ZIP', async () => {
    const client = new MalwareBazaarClient({ apiKey: 'mb-key', baseUrl: mb.url });
    expect(await client.getInfo(sha256)).toMatchObject({
      sha256_hash: sha256,
      signature: 'AgentTesla',
      file_name: 'invoice.exe',
    });
    expect(await client.getInfo(UNKNOWN)).toBeNull();
    const file = await client.getFile(sha256);
    expect(new TextDecoder().decode(file?.bytes)).toBe('MZ bazaar sample');
    expect(await client.getFile(UNKNOWN)).toBeNull();
  });

  it('queries by tag and signature, empty lists for no results', async () => {
    const client = new MalwareBazaarClient({ apiKey: 'mb-key', baseUrl: mb.url });
    expect((await client.getTagInfo('AgentTesla')).map((s) => s.sha256_hash)).toEqual([sha256]);
    expect((await client.getSigInfo('AgentTesla')).map((s) => s.sha256_hash)).toEqual([sha256]);
    expect(await client.getTagInfo('nothing')).toEqual([]);
  });

  it('reports illegal hashes, wrong keys, 500s and garbage with clear codes', async () => {
    const client = new MalwareBazaarClient({ apiKey: 'mb-key', baseUrl: mb.url });
    await expect(client.getInfo('zz')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(
      new MalwareBazaarClient({ apiKey: 'bad', baseUrl: mb.url }).getInfo(sha256),
    ).rejects.toMatchObject({ code: 'UPSTREAM_AUTH_FAILED' });
    mb.failNext(1, 500, 'Internal Server Error');
    await expect(client.getInfo(sha256)).rejects.toMatchObject({ code: 'UPSTREAM_FAILED' });
    mb.failNext(1, 200, '<html>maintenance</html>');
    await expect(client.getInfo(sha256)).rejects.toMatchObject({ code: 'UPSTREAM_FAILED' });
    mb.failNext(1, 429, '');
    await expect(client.getInfo(sha256)).rejects.toMatchObject({ code: 'UPSTREAM_QUOTA_EXCEEDED' });
  });

  it('bounds what comes out of the ZIP and refuses a wrong password or several members', async () => {
    const zip = async (members: readonly string[], password: string): Promise<Uint8Array> => {
      const writer = new ZipWriter(new Uint8ArrayWriter(), {
        password,
        encryptionStrength: 1,
        useWebWorkers: false,
      });
      for (const name of members) await writer.add(name, new Uint8ArrayReader(new Uint8Array(10_000)));
      return writer.close();
    };
    await expect(unzipSample(await zip(['a.exe'], 'infected'), 1_000, 'test')).rejects.toMatchObject({
      code: 'SAMPLE_TOO_LARGE',
    });
    expect((await unzipSample(await zip(['a.exe'], 'infected'), 10_000, 'test')).bytes).toHaveLength(10_000);
    await expect(unzipSample(await zip(['a.exe'], 'other'), 10_000, 'test')).rejects.toMatchObject({
      code: 'UPSTREAM_FAILED',
    });
    await expect(
      unzipSample(await zip(['a.exe', 'b.exe'], 'infected'), 10_000, 'test'),
    ).rejects.toMatchObject({ code: 'UPSTREAM_FAILED' });
  });

  it('as a source: resolves an MD5 to the file', async () => {
    const source = new MalwareBazaarSource(new MalwareBazaarClient({ apiKey: 'mb-key', baseUrl: mb.url }));
    const info = await new MalwareBazaarClient({ apiKey: 'mb-key', baseUrl: mb.url }).getInfo(sha256);
    const found = await source.lookup({ hash: info?.md5_hash ?? '' }, signal);
    expect(found).toMatchObject({
      status: 'found',
      sha256,
      file: { fileName: 'invoice.exe' },
      report: { signature: 'AgentTesla' },
    });
  });
});

describe(UrlSource.name, () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/sample.bin') return void res.end('payload bytes');
      if (req.url === '/big') return void res.end(Buffer.alloc(4096));
      if (req.url === '/to-metadata') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
        return void res.end();
      }
      if (req.url === '/hop') {
        res.writeHead(301, { location: '/sample.bin' });
        return void res.end();
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses loopback unless allowed, and names like localhost that resolve to it', async () => {
    await expect(new UrlSource().lookup({ url: `${base}/sample.bin` }, signal)).rejects.toMatchObject({
      code: 'URL_FORBIDDEN',
    });
    const port = new URL(base).port;
    await expect(
      new UrlSource().lookup({ url: `http://localhost:${port}/sample.bin` }, signal),
    ).rejects.toMatchObject({ code: 'URL_FORBIDDEN' });
    await expect(new UrlSource().lookup({ url: 'file:///etc/passwd' }, signal)).rejects.toMatchObject({
      code: 'URL_FORBIDDEN',
    });
    const found = await new UrlSource({ allowPrivate: true }).lookup({ url: `${base}/hop` }, signal);
    expect(found).toMatchObject({ status: 'found', file: { fileName: 'sample.bin' } });
  });

  it('re-checks redirects and bounds size', async () => {
    // 127.0.0.1 is allowed explicitly; the redirect to the link-local metadata address is not.
    const lab = new UrlSource({ allowedNetworks: ['127.0.0.1/32'] });
    expect(await lab.fetchUrl(`${base}/sample.bin`)).not.toBeNull();
    await expect(lab.fetchUrl(`${base}/to-metadata`)).rejects.toMatchObject({ code: 'URL_FORBIDDEN' });
    await expect(
      new UrlSource({ allowPrivate: true, maxBytes: 1000 }).fetchUrl(`${base}/big`),
    ).rejects.toMatchObject({ code: 'SAMPLE_TOO_LARGE' });
    expect(await new UrlSource({ allowPrivate: true }).fetchUrl(`${base}/missing`)).toBeNull();
  });
});
