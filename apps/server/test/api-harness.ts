import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { identifyFile } from '@malpipe/analyzers/identify/identify-file';
import type { Role } from '@malpipe/api-client';
import { createApiToken } from '../src/auth/api-tokens.js';
import { loadConfig, type Config } from '../src/config.js';
import { createDatabase } from '../src/database/create-database.js';
import type { Database } from '../src/database/database.js';
import type { RouteInfo } from '../src/http/authenticate.js';
import { buildHttpApp } from '../src/http/build-app.js';
import { submissionOf, type HttpServices } from '../src/http/http-services.js';
import { getAnalysisStatus, getSampleReport } from '../src/analyses/get-sample-report.js';
import { retrohuntOnDeploy } from '../src/hunting/retrohunt-job.js';
import { createJobQueue } from '../src/queue/sqlite-job-queue.js';
import type { SqliteJobQueue } from '../src/queue/sqlite-job-queue.js';
import { submitSample } from '../src/samples/submit-sample.js';
import { createObjectStore } from '../src/storage/create-object-store.js';
import type { ObjectStore } from '../src/storage/object-store.js';

/**
 * The HTTP app on the real embedded adapters (SQLite file, local object store, SQLite queue) in a temp dir,
 * with one token per role. Workers are not started: analyses stay queued unless a test moves them on.
 */
export interface ApiHarness {
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly store: ObjectStore;
  readonly queue: SqliteJobQueue;
  readonly config: Config;
  readonly dir: string;
  readonly routes: readonly RouteInfo[];
  /** A token secret per role. */
  readonly tokens: Readonly<Record<Role, string>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly uploadLimitBytes?: number;
  readonly rateLimitPerMinute?: number;
  readonly webRoot?: string | null;
}

export async function createApiHarness(options: HarnessOptions = {}): Promise<ApiHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'malpipe-api-'));
  const base = loadConfig({ MALPIPE_DATA_DIR: dir });
  const config: Config = Object.freeze({
    ...base,
    http: {
      ...base.http,
      uploadLimitBytes: options.uploadLimitBytes ?? 1024 * 1024,
      rateLimitPerMinute: options.rateLimitPerMinute ?? 10_000,
    },
  });
  const db = await createDatabase(config.databaseUrl);
  const store = await createObjectStore(config.storeUrl);
  const queue = await createJobQueue(config.queueUrl, db);
  const routes: RouteInfo[] = [];
  const submitDeps = {
    db,
    store,
    enqueueAnalysis: async (trx: Database, analysisId: string) => {
      await queue.enqueueInTransaction(trx, 'analyze-sample', { analysisId });
    },
    identify: (bytes: Uint8Array, fileName: string | null) => identifyFile(bytes, fileName ?? undefined),
    uploadLimitBytes: config.http.uploadLimitBytes,
    tmpDir: join(dir, 'tmp'),
    defaultArchivePasswords: config.archivePasswords,
  };
  // The same wiring as compose.ts, minus YARA and the sandbox (no workers run here).
  const services: HttpServices = {
    db,
    store,
    queue,
    submitSample: (upload) => submitSample(submitDeps, submissionOf(upload, config.archivePasswords)),
    getSampleReport: (hash) => getSampleReport(db, hash),
    getAnalysis: (id) => getAnalysisStatus(db, id),
    onRulesetDeployed: retrohuntOnDeploy(queue),
    afterRulesetDeployed: () => queue.wake(),
  };
  const app = await buildHttpApp(services, config, {
    webRoot: options.webRoot === undefined ? null : options.webRoot,
    onRoute: (route) => routes.push(route),
  });
  await app.ready();
  const tokens = {} as Record<Role, string>;
  for (const role of ['admin', 'analyst', 'submitter', 'reader'] as const) {
    tokens[role] = (await createApiToken(db, { name: `test ${role}`, role })).secret;
  }
  return {
    app,
    db,
    store,
    queue,
    config,
    dir,
    routes,
    tokens,
    async close() {
      await app.close();
      await queue.close();
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** A multipart/form-data body for app.inject(). */
export function multipart(
  parts: readonly (
    | { readonly name: string; readonly value: string }
    | { readonly name: string; readonly fileName: string; readonly content: Uint8Array }
  )[],
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----malpipe${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n`));
    if ('content' in part) {
      chunks.push(
        Buffer.from(
          `Content-Disposition: form-data; name="${part.name}"; filename="${part.fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        ),
      );
      chunks.push(Buffer.from(part.content));
    } else {
      chunks.push(Buffer.from(`Content-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}`));
    }
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}
