import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from '@malpipe/api-client';
import { loadRulesetFromDirectory } from '@malpipe/yara-engine';
import { bearer, createApiHarness, type ApiHarness } from '../../test/api-harness.js';
import { resolveActiveRulesDir, watchActiveRuleset } from './active-ruleset.js';
import {
  deployRuleset,
  diffRulesets,
  getActiveRulesetVersion,
  getRuleHistory,
  importRuleset,
  listRulesetVersions,
  rollbackRuleset,
} from './ruleset-repository.js';

const EXAMPLES = fileURLToPath(new URL('../../../../rules/examples', import.meta.url));

describe('ruleset versions', () => {
  let h: ApiHarness;
  let work: string;
  let v1: string;
  let v2: string;
  let v3: string;

  beforeAll(async () => {
    h = await createApiHarness();
    work = await mkdtemp(path.join(tmpdir(), 'malpipe-rulesets-'));
    const rules = path.join(work, 'rules');
    await cp(EXAMPLES, rules, { recursive: true });
    const deps = { db: h.db, store: h.store, now: () => new Date('2026-11-27T10:00:00Z') };
    v1 = (await importRuleset(deps, rules, { checkReport: { passed: true, findings: [{ rule: 'HKTL_Mimikatz_Commands', id: 'short-atom' }], tests: [{ rule: 'HKTL_Mimikatz_Commands', positives: [] }] } as { passed: boolean } })).version.id;
    // v2: one rule edited, one removed (a file deleted), one added; a comment-only change elsewhere.
    const tooling = path.join(rules, 'tooling.yar');
    await writeFile(tooling, (await readFile(tooling, 'utf8')).replace('2 of them', '3 of them'));
    await rm(path.join(rules, 'encoded-pe.yar'));
    const scripts = path.join(rules, 'scripts.yar');
    await writeFile(scripts, `// reformatted\n${await readFile(scripts, 'utf8')}`);
    await writeFile(path.join(rules, 'extra.yar'), 'rule New_Rule { strings: $a = "malpipe-new" condition: $a }\n');
    v2 = (await importRuleset({ ...deps, now: () => new Date('2026-11-27T11:00:00Z') }, rules)).version.id;
    await writeFile(path.join(rules, 'extra.yar'), 'rule New_Rule { strings: $a = "malpipe-newer" condition: $a }\n');
    v3 = (await importRuleset({ ...deps, now: () => new Date('2026-11-27T12:00:00Z') }, rules)).version.id;
  });
  afterAll(async () => {
    await h.close();
    await rm(work, { recursive: true, force: true });
  });

  it('imports immutable versions named by content, with parents, and re-import is a no-op', async () => {
    expect(v1).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set([v1, v2, v3]).size).toBe(3);
    expect(v1).toBe((await loadRulesetFromDirectory(EXAMPLES)).version);
    const again = await importRuleset({ db: h.db, store: h.store }, EXAMPLES);
    expect(again).toMatchObject({ created: false, version: { id: v1 } });
    const versions = await listRulesetVersions(h.db);
    expect(versions.map((v) => [v.id, v.parentId, v.state])).toEqual([
      [v3, v2, 'draft'],
      [v2, v1, 'draft'],
      [v1, null, 'draft'],
    ]);
    expect(versions[2]?.checkPassed).toBe(true);
    expect(versions[0]?.checkPassed).toBeNull();
  });

  it('diffs versions by normalised rule text', async () => {
    const diff = await diffRulesets(h.db, v1, v2);
    expect(diff.added.map((r) => r.name)).toEqual(['New_Rule']);
    expect(diff.removed.map((r) => r.name)).toEqual(['SUSP_XOR2_Encoded_PE_Header']);
    expect(diff.changed.map((r) => r.name)).toEqual(['HKTL_Mimikatz_Commands']);
    expect(diff.unchanged).toBe(8);
  });

  it('deploys and rolls back; the active version is materialised with the same content version', async () => {
    await expect(rollbackRuleset({ db: h.db })).rejects.toMatchObject({ code: 'CONFLICT' });
    await deployRuleset({ db: h.db }, v1);
    await deployRuleset({ db: h.db }, v2);
    await deployRuleset({ db: h.db }, v2);
    expect(await getActiveRulesetVersion(h.db)).toBe(v2);
    const rolledBack = await rollbackRuleset({ db: h.db });
    expect(rolledBack).toMatchObject({ id: v1, state: 'active' });
    await expect(rollbackRuleset({ db: h.db })).rejects.toMatchObject({ code: 'CONFLICT' });
    const states = Object.fromEntries((await listRulesetVersions(h.db)).map((v) => [v.id, v.state]));
    expect(states).toEqual({ [v1]: 'active', [v2]: 'retired', [v3]: 'draft' });

    const active = await resolveActiveRulesDir({ db: h.db, store: h.store, dataDir: h.config.dataDir });
    expect(active?.version).toBe(v1);
    expect((await loadRulesetFromDirectory(active?.rulesDir ?? '')).version).toBe(v1);
    await expect(deployRuleset({ db: h.db }, 'ffffffffffffffff')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps each distinct content of a rule with its first and last version', async () => {
    const history = await getRuleHistory(h.db, 'New_Rule');
    expect(history.map((e) => [e.firstVersion, e.lastVersion])).toEqual([
      [v2, v2],
      [v3, v3],
    ]);
    const stable = await getRuleHistory(h.db, 'SUSP_Bash_Reverse_Shell');
    expect(stable.map((e) => [e.firstVersion, e.lastVersion])).toEqual([[v1, v3]]);
  });

  it('tells a watcher when the active version moves', async () => {
    const seen: (string | null)[] = [];
    const errors: unknown[] = [];
    const watcher = watchActiveRuleset({ db: h.db, initial: await getActiveRulesetVersion(h.db), intervalMs: 20, onChange: async (v) => void seen.push(v), onError: (e) => errors.push(e) });
    try {
      await deployRuleset({ db: h.db }, v3);
      const deadline = Date.now() + 5_000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await watcher.stop();
    }
    expect(seen).toEqual([v3]);
    expect(errors).toEqual([]);
    await rollbackRuleset({ db: h.db });
  });

  it('serves versions, details with diff and report, deploy (admin only) and rule history over HTTP', async () => {
    const list = await h.app.inject({ url: '/api/v1/rulesets', headers: bearer(h.tokens.reader) });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ active: v1, versions: [{ id: v3 }, { id: v2 }, { id: v1, state: 'active', ruleCount: 10, fileCount: 4, checkPassed: true }] });

    const detail = await h.app.inject({ url: `/api/v1/rulesets/${v2}`, headers: bearer(h.tokens.reader) });
    expect(detail.statusCode).toBe(200);
    const body = detail.json<{ parentId: string; diff: { added: { name: string }[]; changed: { name: string }[] }; checkReport: unknown; files: unknown[] }>();
    expect(body.parentId).toBe(v1);
    expect(body.diff.added.map((r) => r.name)).toEqual(['New_Rule']);
    expect(body.diff.changed.map((r) => r.name)).toEqual(['HKTL_Mimikatz_Commands']);
    expect(body.checkReport).toBeNull();
    expect((await h.app.inject({ url: '/api/v1/rulesets/nothex', headers: bearer(h.tokens.reader) })).statusCode).toBe(400);
    expect((await h.app.inject({ url: '/api/v1/rulesets/0000000000000000', headers: bearer(h.tokens.reader) })).statusCode).toBe(404);

    const denied = await h.app.inject({ method: 'POST', url: `/api/v1/rulesets/${v2}/deploy`, headers: bearer(h.tokens.analyst) });
    expect(denied.statusCode).toBe(403);
    const deployed = await h.app.inject({ method: 'POST', url: `/api/v1/rulesets/${v2}/deploy`, headers: bearer(h.tokens.admin) });
    expect(deployed.statusCode).toBe(200);
    expect(deployed.json()).toMatchObject({ id: v2, state: 'active' });
    // A deploy queues a retrohunt of the whole store with the new version, in the deploy's transaction.
    const hunts = await h.queue.list({ name: 'retrohunt' });
    expect(hunts.map((job) => job.payload)).toContainEqual({ rulesetVersion: v2 });
    const back = await h.app.inject({ method: 'POST', url: '/api/v1/rulesets/rollback', headers: bearer(h.tokens.admin) });
    expect(back.json()).toMatchObject({ id: v1, state: 'active' });

    const history = await h.app.inject({ url: '/api/v1/rules/HKTL_Mimikatz_Commands/history', headers: bearer(h.tokens.reader) });
    expect(history.statusCode).toBe(200);
    expect(history.json()).toMatchObject({
      name: 'HKTL_Mimikatz_Commands',
      versions: [{ firstVersion: v1, lastVersion: v1 }, { firstVersion: v2, lastVersion: v3 }],
      checks: { version: v1, findings: [{ id: 'short-atom' }], tests: { rule: 'HKTL_Mimikatz_Commands' } },
      matches: [],
    });
    // New_Rule exists only in v2 and v3, which have no report: the active v1's report never saw it.
    const added = await h.app.inject({ url: '/api/v1/rules/New_Rule/history', headers: bearer(h.tokens.reader) });
    expect(added.json()).toMatchObject({ name: 'New_Rule', checks: null });
    expect((await h.app.inject({ url: '/api/v1/rules/No_Such_Rule/history', headers: bearer(h.tokens.reader) })).statusCode).toBe(404);
  });

  it('is reachable through the typed API client (the dashboard and CLI path)', async () => {
    const fetchViaInject: typeof fetch = async (input, init) => {
      const target = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      const reply = await h.app.inject({
        method: (init?.method ?? 'GET') as 'GET' | 'POST',
        url: `${target.pathname}${target.search}`,
        headers: init?.headers as Record<string, string>,
      });
      return new Response(reply.body, { status: reply.statusCode, headers: { 'content-type': String(reply.headers['content-type'] ?? 'application/json') } });
    };
    const admin = createApiClient({ baseUrl: 'http://malpipe.test', token: h.tokens.admin, fetch: fetchViaInject });
    expect((await admin.listRulesets()).versions.map((v) => v.id)).toEqual([v3, v2, v1]);
    expect((await admin.getRuleset(v3)).diff?.changed.map((r) => r.name)).toEqual(['New_Rule']);
    expect(await admin.deployRuleset(v3)).toMatchObject({ id: v3, state: 'active' });
    expect(await admin.rollbackRuleset()).toMatchObject({ id: v1, state: 'active' });
    expect((await admin.getRuleHistory('New_Rule')).versions).toHaveLength(2);
  });
});
