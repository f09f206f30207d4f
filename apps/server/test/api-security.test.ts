import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBodySchema, MeSchema, PERMISSIONS, ROLES } from '@malpipe/api-client';
import { createApiToken, ensureAdminToken, revokeApiToken } from '../src/auth/api-tokens.js';
import { hasPermission, ROLE_PERMISSIONS, type Permission } from '../src/auth/permissions.js';
import { bearer, createApiHarness, type ApiHarness } from './api-harness.js';

/** Every protected route the API is expected to have; the walk below must find at least these. */
const EXPECTED_ROUTES: Readonly<Record<string, Permission>> = {
  'POST /api/v1/samples': 'submit',
  'GET /api/v1/samples/:hash': 'read',
  'GET /api/v1/samples/:sha256/download': 'download',
  'POST /api/v1/hashes': 'submit',
  'GET /api/v1/hashes/:id': 'read',
  'GET /api/v1/search': 'read',
  'GET /api/v1/analyses/:id': 'read',
  'GET /api/v1/jobs/:id': 'read',
  'GET /api/v1/jobs': 'jobs:manage',
  'POST /api/v1/jobs/:id/retry': 'jobs:manage',
  'POST /api/v1/tokens': 'tokens:manage',
  'GET /api/v1/tokens': 'tokens:manage',
  'DELETE /api/v1/tokens/:id': 'tokens:manage',
  'GET /api/v1/me': 'read',
  'POST /api/v1/cobaltstrike/probe': 'download',
  'GET /api/v1/cobaltstrike/configs': 'read',
  'GET /api/v1/cobaltstrike/configs/:id': 'read',
  'GET /api/v1/cobaltstrike/servers': 'read',
  'GET /api/v1/cobaltstrike/servers/:id/probes': 'read',
  'GET /api/v1/rulesets': 'read',
  'GET /api/v1/rulesets/:version': 'read',
  'POST /api/v1/rulesets/:version/deploy': 'jobs:manage',
  'POST /api/v1/rulesets/rollback': 'jobs:manage',
  'GET /api/v1/rules/:name/history': 'read',
};

const concreteUrl = (url: string): string =>
  url.replace(':hash', 'a'.repeat(64)).replace(':sha256', 'b'.repeat(64)).replace(':id', 'some-id');

describe('API security', () => {
  let h: ApiHarness;
  let revoked: string;
  beforeAll(async () => {
    h = await createApiHarness();
    const { token, secret } = await createApiToken(h.db, { name: 'revoked admin', role: 'admin' });
    await revokeApiToken(h.db, token.id);
    revoked = secret;
  });
  afterAll(async () => {
    await h.close();
  });

  it('walks every registered route: 401 without or with a bad token, 403 for each role lacking the permission', async () => {
    const protectedRoutes = h.routes.filter((r) => r.permission !== null);
    const declared = Object.fromEntries(protectedRoutes.map((r) => [`${r.method} ${r.url}`, r.permission]));
    expect(declared).toEqual(EXPECTED_ROUTES);
    // Nothing under /api/v1 is public except health.
    expect(h.routes.filter((r) => r.url.startsWith('/api/v1') && r.public).map((r) => r.url)).toEqual([
      '/api/v1/health',
    ]);

    const expectError = (
      res: { statusCode: number; json(): unknown },
      status: number,
      code: string,
      what: string,
    ) => {
      expect(res.statusCode, what).toBe(status);
      expect(ErrorBodySchema.parse(res.json()).error.code, what).toBe(code);
    };
    let checks = 0;
    for (const route of protectedRoutes) {
      const method = route.method as 'GET' | 'POST' | 'DELETE';
      const url = concreteUrl(route.url);
      const what = `${route.method} ${route.url}`;
      expectError(await h.app.inject({ method, url }), 401, 'UNAUTHORIZED', `${what} without token`);
      // Fastify adds a HEAD route per GET route; it must be guarded the same way.
      if (method === 'GET')
        expect((await h.app.inject({ method: 'HEAD', url })).statusCode, `HEAD ${route.url}`).toBe(401);
      for (const headers of [
        bearer('mp_wrong'),
        bearer(revoked),
        { authorization: 'Basic YWRtaW46YWRtaW4=' },
        { authorization: `Bearer ${h.tokens.admin}x` },
      ]) {
        expectError(
          await h.app.inject({ method, url, headers }),
          401,
          'UNAUTHORIZED',
          `${what} with ${headers.authorization.slice(0, 12)}`,
        );
      }
      for (const role of ROLES) {
        const res = await h.app.inject({ method, url, headers: bearer(h.tokens[role]) });
        if (route.permission !== null && hasPermission(role, route.permission)) {
          expect([401, 403], `${what} as ${role}`).not.toContain(res.statusCode);
        } else {
          expectError(res, 403, 'FORBIDDEN', `${what} as ${role}`);
        }
        checks++;
      }
    }
    expect(checks).toBe(protectedRoutes.length * ROLES.length);
  });

  it('follows the permission table: reader < submitter < analyst < admin', () => {
    expect(hasPermission('reader', 'read')).toBe(true);
    expect(hasPermission('reader', 'submit')).toBe(false);
    expect(hasPermission('submitter', 'submit')).toBe(true);
    expect(hasPermission('submitter', 'download')).toBe(false);
    expect(hasPermission('analyst', 'download')).toBe(true);
    expect(hasPermission('analyst', 'tokens:manage')).toBe(false);
    expect(hasPermission('admin', 'jobs:manage')).toBe(true);
  });

  it('GET /me names the calling token, its role and exactly the permissions of that role', async () => {
    for (const role of ROLES) {
      const res = await h.app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(h.tokens[role]) });
      expect(res.statusCode, role).toBe(200);
      const me = MeSchema.parse(res.json());
      expect(me.role).toBe(role);
      expect(me.permissions).toEqual(PERMISSIONS.filter((p) => ROLE_PERMISSIONS[role].has(p)));
      const row = await h.db.selectFrom('api_tokens').select(['id', 'name']).where('id', '=', me.tokenId).executeTakeFirstOrThrow();
      expect(row.name).toBe(me.name);
      expect(JSON.stringify(res.json())).not.toContain(h.tokens[role]);
    }
    const { token, secret } = await createApiToken(h.db, { name: 'ci bot', role: 'submitter' });
    const me = MeSchema.parse((await h.app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(secret) })).json());
    expect(me).toEqual({ tokenId: token.id, name: 'ci bot', role: 'submitter', permissions: ['read', 'submit'] });
  });

  it('records when a token was last used', async () => {
    const { token, secret } = await createApiToken(h.db, { name: 'fresh', role: 'reader' });
    expect(token.lastUsedAt).toBeNull();
    await h.app.inject({ method: 'GET', url: '/api/v1/search', headers: bearer(secret) });
    const row = await h.db
      .selectFrom('api_tokens')
      .select('last_used_at')
      .where('id', '=', token.id)
      .executeTakeFirstOrThrow();
    expect(row.last_used_at).not.toBeNull();
  });
});

describe('rate limits', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await createApiHarness({ rateLimitPerMinute: 6 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('limits per token (override column, then the default) with 429 RATE_LIMITED and retry-after', async () => {
    const slow = await createApiToken(h.db, { name: 'slow', role: 'reader', rateLimitPerMinute: 2 });
    const get = (token: string) =>
      h.app.inject({ method: 'GET', url: '/api/v1/search', headers: bearer(token) });
    expect((await get(slow.secret)).statusCode).toBe(200);
    expect((await get(slow.secret)).statusCode).toBe(200);
    const limited = await get(slow.secret);
    expect(limited.statusCode).toBe(429);
    expect(ErrorBodySchema.parse(limited.json()).error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    // Another token has its own budget: the default of 6 per minute.
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await get(h.tokens.reader)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
  });
});

describe('dashboard and first start', () => {
  it('serves the dashboard build with SPA fallback, keeping /api errors in JSON', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const web = await mkdtemp(join(tmpdir(), 'malpipe-web-'));
    await mkdir(join(web, 'assets'));
    await writeFile(join(web, 'index.html'), '<!doctype html><title>malpipe</title>');
    await writeFile(join(web, 'assets', 'app.js'), 'console.log(1)');
    const h = await createApiHarness({ webRoot: web });
    try {
      const index = await h.app.inject({ method: 'GET', url: '/' });
      expect(index.statusCode).toBe(200);
      expect(index.body).toContain('<title>malpipe</title>');
      const deep = await h.app.inject({ method: 'GET', url: '/samples/abc?tab=iocs' });
      expect(deep.statusCode).toBe(200);
      expect(deep.body).toContain('<title>malpipe</title>');
      const asset = await h.app.inject({ method: 'GET', url: '/assets/app.js' });
      expect(asset.body).toBe('console.log(1)');
      const traversal = await h.app.inject({ method: 'GET', url: '/..%2f..%2fetc%2fpasswd' });
      expect(traversal.body).not.toContain('root:');
      const api = await h.app.inject({ method: 'GET', url: '/api/v1/nope' });
      expect(api.statusCode).toBe(404);
      expect(ErrorBodySchema.parse(api.json()).error.code).toBe('NOT_FOUND');
    } finally {
      await h.close();
      await rm(web, { recursive: true, force: true });
    }
  });

  it('creates the first admin token once and prints it, or registers MALPIPE_ADMIN_TOKEN', async () => {
    const h = await createApiHarness();
    try {
      await h.db.deleteFrom('api_tokens').execute();
      const printed: string[] = [];
      const log = { printOnce: (message: string) => printed.push(message) };
      const secret = await ensureAdminToken(h.db, { adminToken: null }, log);
      expect(secret).toMatch(/^mp_/);
      expect(printed).toHaveLength(1);
      expect(printed[0]).toContain(secret);
      expect(await ensureAdminToken(h.db, { adminToken: null }, log)).toBeNull();
      expect(printed).toHaveLength(1);
      const ok = await h.app.inject({ method: 'GET', url: '/api/v1/tokens', headers: bearer(secret ?? '') });
      expect(ok.statusCode).toBe(200);

      await h.db.deleteFrom('api_tokens').execute();
      const chosen = 'operator-chosen-secret-0123456789';
      expect(await ensureAdminToken(h.db, { adminToken: chosen }, log)).toBeNull();
      expect(printed).toHaveLength(1);
      const withChosen = await h.app.inject({
        method: 'GET',
        url: '/api/v1/tokens',
        headers: bearer(chosen),
      });
      expect(withChosen.statusCode).toBe(200);
      const stored = await h.db.selectFrom('api_tokens').select('token_hash').execute();
      expect(JSON.stringify(stored)).not.toContain(chosen);
    } finally {
      await h.close();
    }
  });
});
