import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ScriptedFailures, fileDigests, listenOnLoopback } from './fake-upstream.js';

/**
 * A local server speaking the VirusTotal API v3 as documented (x-apikey auth, `{"data": ...}` objects,
 * `{"error": {"code", "message"}}` envelopes, cursor pagination with `meta.cursor` and `links.next`, 429
 * QuotaExceededError past a per-key quota per window, 403 ForbiddenError on premium endpoints for a public
 * key). Every request is recorded with its arrival time so tests can count requests per window.
 */
export interface FakeVirusTotalOptions {
  /** API key -> premium? Unknown keys get 401 WrongCredentialsError. */
  readonly keys: Readonly<Record<string, boolean>>;
  /** Requests allowed per key per sliding window; more get 429 QuotaExceededError. */
  readonly quota?: { readonly limit: number; readonly windowMs: number };
}

export interface FakeFile {
  readonly bytes: Uint8Array;
  readonly names?: readonly string[];
  readonly tags?: readonly string[];
  readonly malicious?: number;
  /** Premium keys may download it (redirected to /storage/...). Default true. */
  readonly downloadable?: boolean;
}

export interface FakeVirusTotal {
  readonly url: string;
  readonly requests: {
    readonly at: number;
    readonly path: string;
    readonly status: number;
    readonly key: string | null;
  }[];
  addFile(file: FakeFile): string;
  /** Makes the next `count` requests fail with this status and body. */
  failNext(count: number, status: number, body: string): void;
  readonly searchResults: string[];
  close(): Promise<void>;
}

export async function startFakeVirusTotal(options: FakeVirusTotalOptions): Promise<FakeVirusTotal> {
  const files = new Map<string, FakeFile & { sha256: string; md5: string; sha1: string }>();
  const requests: FakeVirusTotal['requests'] = [];
  const searchResults: string[] = [];
  const retrohunts = new Map<string, { rules: string; created: number }>();
  const failures = new ScriptedFailures();

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, code: string, message: string): void =>
    send(res, status, { error: { code, message } });
  const fileObject = (f: FakeFile & { sha256: string; md5: string; sha1: string }): unknown => ({
    type: 'file',
    id: f.sha256,
    links: { self: `/api/v3/files/${f.sha256}` },
    attributes: {
      sha256: f.sha256,
      md5: f.md5,
      sha1: f.sha1,
      size: f.bytes.byteLength,
      names: f.names ?? [],
      meaningful_name: f.names?.[0],
      tags: f.tags ?? [],
      first_submission_date: 1_700_000_000,
      last_analysis_stats: {
        malicious: f.malicious ?? 0,
        suspicious: 0,
        undetected: 70 - (f.malicious ?? 0),
        harmless: 0,
      },
      last_analysis_results: {
        'ESET-NOD32': {
          category: (f.malicious ?? 0) > 0 ? 'malicious' : 'undetected',
          engine_name: 'ESET-NOD32',
          result: (f.malicious ?? 0) > 0 ? 'Win32/Fake.A' : null,
        },
      },
    },
  });
  const find = (id: string) =>
    files.get(id.toLowerCase()) ??
    [...files.values()].find((f) => f.md5 === id.toLowerCase() || f.sha1 === id.toLowerCase());
  const page = (res: ServerResponse, url: URL, items: readonly unknown[]): void => {
    const limit = Math.min(Number(url.searchParams.get('limit') ?? '10'), 300);
    const offset = Number(url.searchParams.get('cursor') ?? '0');
    const slice = items.slice(offset, offset + limit);
    const next = offset + limit < items.length ? String(offset + limit) : undefined;
    send(res, 200, {
      data: slice,
      meta: next === undefined ? {} : { cursor: next },
      links: {
        self: url.toString(),
        ...(next === undefined ? {} : { next: `${url.pathname}?cursor=${next}` }),
      },
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname.startsWith('/storage/')) {
      const f = files.get(url.pathname.slice('/storage/'.length));
      if (f === undefined) return error(res, 404, 'NotFoundError', 'gone');
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': f.bytes.byteLength,
      });
      return void res.end(f.bytes);
    }
    const key = req.headers['x-apikey'];
    if (typeof key !== 'string')
      return error(res, 401, 'AuthenticationRequiredError', 'X-Apikey header is missing');
    const premium = options.keys[key];
    if (premium === undefined) return error(res, 401, 'WrongCredentialsError', 'Wrong API key');
    if (options.quota !== undefined) {
      const since = Date.now() - options.quota.windowMs;
      const recent = requests.filter((r) => r.key === key && r.at > since && r.status !== 429).length;
      if (recent > options.quota.limit) return error(res, 429, 'QuotaExceededError', 'Quota exceeded');
    }
    if (failures.respond(res) !== null) return;
    const path = url.pathname.replace(/^\/api\/v3/, '');
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && (m = /^\/files\/([^/]+)$/.exec(path)) !== null) {
      const f = find(decodeURIComponent(m[1] ?? ''));
      return f === undefined
        ? error(res, 404, 'NotFoundError', `File "${m[1] ?? ''}" not found`)
        : send(res, 200, { data: fileObject(f) });
    }
    if (req.method === 'GET' && (m = /^\/files\/([^/]+)\/download$/.exec(path)) !== null) {
      if (!premium)
        return error(res, 403, 'ForbiddenError', 'You are not allowed to perform the requested operation');
      const f = find(decodeURIComponent(m[1] ?? ''));
      if (f === undefined || f.downloadable === false)
        return error(res, 404, 'NotFoundError', 'File not found');
      res.writeHead(302, { location: `/storage/${f.sha256}` });
      return void res.end();
    }
    if (!premium && path.startsWith('/intelligence/'))
      return error(res, 403, 'ForbiddenError', 'Premium only');
    if (req.method === 'GET' && path === '/intelligence/search') {
      if ((url.searchParams.get('query') ?? '') === '')
        return error(res, 400, 'BadRequestError', 'query required');
      return page(
        res,
        url,
        searchResults.map((sha256) => {
          const f = files.get(sha256);
          return f === undefined ? { type: 'file', id: sha256, attributes: {} } : fileObject(f);
        }),
      );
    }
    if (req.method === 'GET' && path === '/intelligence/hunting_notification_files') {
      return page(
        res,
        url,
        [...files.values()].map((f) => ({
          ...(fileObject(f) as object),
          context_attributes: {
            rule_name: 'fake_rule',
            ruleset_name: 'fake',
            notification_id: `n-${f.sha256.slice(0, 8)}`,
            match_in_subfile: false,
          },
        })),
      );
    }
    if (req.method === 'POST' && path === '/intelligence/retrohunt_jobs') {
      let rules: unknown;
      try {
        rules = (JSON.parse(body) as { data?: { type?: string; attributes?: { rules?: unknown } } }).data
          ?.attributes?.rules;
      } catch {
        return error(res, 400, 'BadRequestError', 'body is not JSON');
      }
      if (typeof rules !== 'string' || rules === '')
        return error(res, 400, 'InvalidArgumentError', 'rules required');
      const id = `job-${retrohunts.size + 1}`;
      retrohunts.set(id, { rules, created: Math.floor(Date.now() / 1000) });
      return send(res, 200, {
        data: {
          type: 'retrohunt_job',
          id,
          attributes: {
            status: 'queued',
            rules,
            progress: 0,
            creation_date: retrohunts.get(id)?.created,
            corpus: 'main',
          },
        },
      });
    }
    if (
      req.method === 'GET' &&
      (m = /^\/intelligence\/retrohunt_jobs\/([^/]+)(\/matching_files)?$/.exec(path)) !== null
    ) {
      const job = retrohunts.get(m[1] ?? '');
      if (job === undefined) return error(res, 404, 'NotFoundError', 'no such job');
      if (m[2] !== undefined) return page(res, url, [...files.values()].map(fileObject));
      return send(res, 200, {
        data: {
          type: 'retrohunt_job',
          id: m[1],
          attributes: {
            status: 'finished',
            rules: job.rules,
            progress: 100,
            num_matches: files.size,
            creation_date: job.created,
          },
        },
      });
    }
    return error(res, 404, 'NotFoundError', `no route ${path}`);
  };

  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const originalEnd = res.end.bind(res);
      const key = req.headers['x-apikey'];
      const record = {
        at: Date.now(),
        path: req.url ?? '',
        status: 0,
        key: typeof key === 'string' ? key : null,
      };
      if (!(req.url ?? '').startsWith('/storage/')) requests.push(record);
      res.end = ((...args: Parameters<typeof originalEnd>) => {
        record.status = res.statusCode;
        return originalEnd(...args);
      }) as typeof res.end;
      handle(req, res, body);
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/api/v3`,
    requests,
    searchResults,
    addFile(file) {
      const digests = fileDigests(file.bytes);
      files.set(digests.sha256, { ...file, ...digests });
      return digests.sha256;
    },
    failNext: (count, status, body) => failures.failNext(count, status, body),
    close,
  };
}
