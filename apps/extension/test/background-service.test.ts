import { describe, expect, it } from 'vitest';
import { ApiError, type HashEntry, type HashRequest, type SampleReport, type SubmitHashesRequest } from '@malpipe/api-client';
import { createBackground, type ExtensionApi } from '../src/background-service.ts';
import { sendMessage, MessageError, type Message } from '../src/messages.ts';
import { saveSettings, type Settings } from '../src/settings.ts';
import { MemoryStorageArea } from '../src/storage-area.ts';
import { LAST_SELECTION_KEY, MAX_TRACKED, TRACKED_KEY, mergeTracked, type TrackedHash } from '../src/tracked-hashes.ts';
import { describeTracked, shortHash, trackedLink } from '../src/popup-view.ts';

const SERVER = 'https://malpipe.cert.example';
const MD5 = '5f4dcc3b5aa765d61d8327deb882cf99';
const SHA1 = '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12';
const SHA256 = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c';
const TEXT = `MD5 ${MD5.toUpperCase()} SHA-1 ${SHA1} SHA-256 ${SHA256} C2 hxxp://bad[.]example[.]net/g.php`;
const NOW = new Date('2026-11-27T10:00:00Z');

/** A server that queues every hash, then answers what the test sets in `requests` and `samples`. */
class FakeServer implements ExtensionApi {
  readonly submitted: SubmitHashesRequest[] = [];
  readonly requests = new Map<string, HashRequest>();
  readonly samples = new Map<string, SampleReport>();
  readonly tokens: string[] = [];
  failWith: ApiError | null = null;

  client(settings: Settings): ExtensionApi {
    this.tokens.push(settings.token);
    return this;
  }

  health(): Promise<{ status: 'ok'; version: string }> {
    return Promise.resolve({ status: 'ok', version: '0.1.0' });
  }

  submitHashes(request: SubmitHashesRequest): Promise<HashEntry[]> {
    if (this.failWith !== null) return Promise.reject(this.failWith);
    this.submitted.push(request);
    return Promise.resolve(
      (request.hashes ?? []).map((hash, index): HashEntry => {
        const type = hash.length === 32 ? 'md5' : hash.length === 40 ? 'sha1' : 'sha256';
        const id = `req-${index}`;
        this.requests.set(id, { id, hash, type, state: 'queued', sha256: null, errorMessage: null, createdAt: NOW.toISOString(), updatedAt: NOW.toISOString() });
        return { hash, type, id, state: 'queued' };
      }),
    );
  }

  getHashRequest(id: string): Promise<HashRequest> {
    if (this.failWith !== null) return Promise.reject(this.failWith);
    const request = this.requests.get(id);
    return request === undefined ? Promise.reject(new ApiError('HASH_REQUEST_NOT_FOUND', 404, id)) : Promise.resolve(request);
  }

  getSample(hash: string): Promise<SampleReport> {
    const report = this.samples.get(hash);
    return report === undefined ? Promise.reject(new ApiError('SAMPLE_NOT_FOUND', 404, hash)) : Promise.resolve(report);
  }
}

function sampleReport(sha256: string, analysisState: string): SampleReport {
  const at = NOW.toISOString();
  return {
    sample: {
      sha256, md5: MD5, sha1: SHA1, sha512: 'f'.repeat(128), size: 10,
      fileType: { kind: 'executable', format: 'pe32', mime: 'application/vnd.microsoft.portable-executable', description: 'PE32 executable', traits: [] },
      ssdeep: null, tlsh: null, imphash: null, firstSeen: at, lastSeen: at,
    },
    names: [], tags: [], sources: [], results: [], relations: { parents: [], children: [] }, indicators: [], yaraMatches: [],
    analyses: [
      { id: 'old', sha256, rootId: 'old', parentId: null, depth: 0, state: 'failed', errorCode: null, errorMessage: null, createdAt: '2026-01-01T00:00:00Z', startedAt: null, finishedAt: null },
      { id: 'new', sha256, rootId: 'new', parentId: null, depth: 0, state: analysisState, errorCode: null, errorMessage: null, createdAt: at, startedAt: null, finishedAt: null },
    ],
  };
}

async function setUp(options: { configured?: boolean; permitted?: boolean } = {}) {
  const local = new MemoryStorageArea();
  const session = new MemoryStorageArea();
  const server = new FakeServer();
  const permissionChecks: string[] = [];
  if (options.configured ?? true) await saveSettings(local, { serverUrl: `${SERVER}/`, token: 'mp_token' });
  const background = createBackground({
    local,
    session,
    createApi: (settings) => server.client(settings),
    hasServerPermission: (serverUrl) => {
      permissionChecks.push(serverUrl);
      return Promise.resolve(options.permitted ?? true);
    },
    now: () => NOW,
  });
  const send = (message: Message): Promise<unknown> => background.handleMessage(message);
  return { local, session, server, background, send, permissionChecks };
}

describe(createBackground.name, () => {
  it('submits only the hashes of a selection, with the stored token, and tracks one entry each', async () => {
    const { background, server, local, session } = await setUp();
    expect(await background.submitText(TEXT)).toEqual({ ok: true, submitted: 3, indicators: 2 });
    expect(server.submitted).toEqual([{ hashes: [MD5, SHA1, SHA256] }]);
    expect(server.tokens).toEqual(['mp_token']);
    const tracked = local.snapshot()[TRACKED_KEY] as TrackedHash[];
    expect(tracked.map((item) => [item.hash, item.requestId, item.state, item.serverUrl])).toEqual([
      [MD5, 'req-0', 'queued', SERVER],
      [SHA1, 'req-1', 'queued', SERVER],
      [SHA256, 'req-2', 'queued', SERVER],
    ]);
    // The URL and the domain go to session storage for the popup, not to the server.
    expect(session.snapshot()[LAST_SELECTION_KEY]).toMatchObject({
      hashCount: 3,
      error: null,
      indicators: [
        { type: 'url', value: 'http://bad.example.net/g.php' },
        { type: 'domain', value: 'bad.example.net' },
      ],
    });
  });

  it('does not call the server when the selection has no hash', async () => {
    const { background, server } = await setUp();
    expect(await background.submitText('only hxxp://bad[.]example[.]net')).toEqual({ ok: true, submitted: 0, indicators: 2 });
    expect(server.submitted).toEqual([]);
  });

  it.each([
    ['not configured', { configured: false }, 'NOT_CONFIGURED'],
    ['the host permission is missing', { permitted: false }, 'NO_PERMISSION'],
  ])('refuses to submit when %s, and records why', async (_name, options, code) => {
    const { background, server, session } = await setUp(options);
    const outcome = await background.submitText(TEXT);
    expect(outcome).toMatchObject({ ok: false, code });
    expect(server.submitted).toEqual([]);
    expect((session.snapshot()[LAST_SELECTION_KEY] as { error: string }).error).toMatch(new RegExp(`^${code}: `));
  });

  it('reports a server error without tracking anything', async () => {
    const { background, server, local } = await setUp();
    server.failWith = new ApiError('UNAUTHORIZED', 401, 'missing or invalid API token');
    expect(await background.submitText(TEXT)).toEqual({ ok: false, code: 'UNAUTHORIZED', message: 'missing or invalid API token' });
    expect(local.snapshot()[TRACKED_KEY]).toBeUndefined();
  });

  it('refresh follows each request, then reads the stored sample for its file type and latest analysis', async () => {
    const { background, server } = await setUp();
    await background.submitText(TEXT);
    const sha256OfMd5 = 'a'.repeat(10) + SHA256.slice(10);
    server.requests.set('req-0', { ...server.requests.get('req-0')!, state: 'fetched', sha256: sha256OfMd5 });
    server.requests.set('req-1', { ...server.requests.get('req-1')!, state: 'not-found', errorMessage: 'no source has it' });
    server.samples.set(sha256OfMd5, sampleReport(sha256OfMd5, 'running'));
    const state = await background.refresh();
    expect(state.serverUrl).toBe(SERVER);
    expect(state.tracked.map((item) => [item.hash, item.state, item.sha256, item.fileType, item.analysisState, item.message])).toEqual([
      [MD5, 'fetched', sha256OfMd5, 'PE32 executable', 'running', null],
      [SHA1, 'not-found', null, null, null, 'no source has it'],
      [SHA256, 'queued', null, null, null, null],
    ]);
    expect(trackedLink(state.tracked[0]!)).toBe(`${SERVER}/samples/${sha256OfMd5}`);
    expect(trackedLink(state.tracked[2]!)).toBe(`${SERVER}/samples/${SHA256}`);
  });

  it('refresh stops at the first network failure and keeps what it had', async () => {
    const { background, server, send } = await setUp();
    await background.submitText(TEXT);
    server.failWith = new ApiError('NETWORK_FAILED', 0, 'cannot reach the server');
    await expect(sendMessage(send, { type: 'refresh' })).rejects.toMatchObject({ code: 'NETWORK_FAILED' });
    const state = await sendMessage(send, { type: 'get-state' });
    expect(state.tracked.map((item) => item.state)).toEqual(['queued', 'queued', 'queued']);
  });

  it('a second submission of the same hash replaces its entry and moves it to the top', async () => {
    const { background } = await setUp();
    await background.submitText(TEXT);
    await background.submitText(`again ${SHA1}`);
    const state = await background.getState();
    expect(state.tracked.map((item) => item.hash)).toEqual([SHA1, MD5, SHA256]);
  });

  it('runs concurrent operations one after the other (no lost storage writes)', async () => {
    const { background } = await setUp();
    await Promise.all([background.submitText(`a ${MD5}`), background.submitText(`b ${SHA1}`), background.refresh()]);
    expect((await background.getState()).tracked.map((item) => item.hash).sort()).toEqual([MD5, SHA1].sort());
  });
});

describe('message handling', () => {
  it.each([
    [undefined],
    ['submit-text'],
    [{ type: 'submit-text' }],
    [{ type: 'submit-text', text: 42 }],
    [{ type: 'set-token', token: 'x' }],
  ])('refuses %j as BAD_MESSAGE', async (message) => {
    const { background, server } = await setUp();
    expect(await background.handleMessage(message)).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE' } });
    expect(server.submitted).toEqual([]);
  });

  it('submit-text, refresh, check-server and clear answer with typed results', async () => {
    const { send } = await setUp();
    expect(await sendMessage(send, { type: 'submit-text', text: TEXT })).toEqual({ ok: true, submitted: 3, indicators: 2 });
    expect((await sendMessage(send, { type: 'refresh' })).tracked).toHaveLength(3);
    expect(await sendMessage(send, { type: 'check-server' })).toEqual({ serverUrl: SERVER, version: '0.1.0' });
    expect(await sendMessage(send, { type: 'clear' })).toEqual({ serverUrl: SERVER, tracked: [], lastSelection: null });
  });

  it('turns a failure into a MessageError with the code', async () => {
    const { send } = await setUp({ configured: false });
    const failure = sendMessage(send, { type: 'check-server' });
    await expect(failure).rejects.toBeInstanceOf(MessageError);
    await expect(failure).rejects.toMatchObject({ code: 'NOT_CONFIGURED' });
  });

  it('sendMessage reports a missing reply', async () => {
    await expect(sendMessage(() => Promise.resolve(undefined), { type: 'get-state' })).rejects.toMatchObject({ code: 'NO_REPLY' });
  });
});

describe('tracked hashes and popup view', () => {
  const item = (hash: string, serverUrl = SERVER): TrackedHash => ({
    hash, type: 'sha256', serverUrl, requestId: 'r', state: 'known', sha256: null, fileType: null, analysisState: 'queued',
    message: null, submittedAt: NOW.toISOString(), updatedAt: NOW.toISOString(),
  });

  it('keeps one entry per server and hash, newest first, at most MAX_TRACKED', () => {
    const existing = Array.from({ length: MAX_TRACKED }, (_, index) => item(index.toString(16).padStart(64, '0')));
    const merged = mergeTracked(existing, [item(SHA256), item(existing[5]!.hash), item(SHA256, 'https://other.example')]);
    expect(merged).toHaveLength(MAX_TRACKED);
    expect(merged.slice(0, 3).map((entry) => entry.hash)).toEqual([SHA256, existing[5]!.hash, SHA256]);
    expect(merged.filter((entry) => entry.hash === existing[5]!.hash)).toHaveLength(1);
  });

  it('shortens long digests and describes the state', () => {
    expect(shortHash(MD5)).toBe(MD5);
    expect(shortHash(SHA256)).toBe('ef537f25c895…448c8635fb6c');
    expect(describeTracked(item(SHA256))).toBe('known, analysis queued');
  });

  it('escapes the hash in the dashboard link', () => {
    expect(trackedLink(item('../admin?x'))).toBe(`${SERVER}/samples/..%2Fadmin%3Fx`);
  });
});
