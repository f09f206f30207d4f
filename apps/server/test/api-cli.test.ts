import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreatedTokenSchema,
  JobSchema,
  SearchResponseSchema,
  SubmittedSampleSchema,
  TokenSchema,
} from '@malpipe/api-client';
import { createApiHarness, type ApiHarness } from './api-harness.js';

const CLI = resolve(fileURLToPath(new URL('../../cli/bin/malpipe.js', import.meta.url)));

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI as a separate process against the in-test server on 127.0.0.1. */
describe('CLI client commands', () => {
  let h: ApiHarness;
  let server: string;

  function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
    // Only what the CLI needs: no MALPIPE_* from the developer's shell may leak in.
    const base = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('MALPIPE_')),
    );
    return new Promise((resolvePromise) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        {
          cwd: h.dir,
          env: { ...base, MALPIPE_SERVER: server, ...env },
          timeout: 30_000,
          maxBuffer: 4 * 1024 * 1024,
        },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
          resolvePromise({ code, stdout, stderr });
        },
      );
    });
  }

  beforeAll(async () => {
    h = await createApiHarness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    server = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await h.close();
  });

  it('bootstraps a token on the local database, submits with it, waits, searches, then revokes it', async () => {
    const created = await cli([
      'token',
      'create',
      '--role',
      'analyst',
      '--name',
      'ci analyst',
      '--data',
      h.dir,
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const token = CreatedTokenSchema.parse(JSON.parse(created.stdout));
    expect(token).toMatchObject({ role: 'analyst', name: 'ci analyst' });

    const file = join(h.dir, 'sample.ps1');
    const content = 'Write-Host "malpipe cli test"\n';
    await writeFile(file, content);
    const sha256 = createHash('sha256').update(content).digest('hex');

    // --wait polls the analysis; a worker would finish it, here the test does once it appears.
    const waiting = cli(
      ['submit', file, '--tag', 'cli', '--tag', 'smoke', '--wait', '--timeout', '20', '--json'],
      { MALPIPE_TOKEN: token.token },
    );
    const deadline = Date.now() + 20_000;
    for (;;) {
      const analysis = await h.db
        .selectFrom('analyses')
        .select('id')
        .where('sha256', '=', sha256)
        .executeTakeFirst();
      if (analysis !== undefined) {
        await h.db
          .updateTable('analyses')
          .set({ state: 'completed', finished_at: new Date().toISOString() })
          .where('id', '=', analysis.id)
          .execute();
        break;
      }
      if (Date.now() > deadline) throw new Error('the CLI never submitted');
      await new Promise((r) => setTimeout(r, 100));
    }
    const submitted = await waiting;
    expect(submitted.code, submitted.stderr).toBe(0);
    const [result] = JSON.parse(submitted.stdout) as { analysis: { state: string } }[];
    expect(SubmittedSampleSchema.parse(result)).toMatchObject({
      sha256,
      fileName: 'sample.ps1',
      isNewSample: true,
    });
    expect(result?.analysis.state).toBe('completed');

    const [found, revoked] = await Promise.all([
      cli(['search', sha256, '--json'], { MALPIPE_TOKEN: h.tokens.reader }),
      cli(['token', 'revoke', token.id, '--data', h.dir, '--json']),
    ]);
    expect(found.code, found.stderr).toBe(0);
    const page = SearchResponseSchema.parse(JSON.parse(found.stdout));
    expect(page.items.map((i) => [i.sha256, i.tags])).toEqual([[sha256, ['cli', 'smoke']]]);
    expect(TokenSchema.parse(JSON.parse(revoked.stdout)).revokedAt).not.toBeNull();

    const refused = await cli(['search', 'smoke', '--token', token.token]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('UNAUTHORIZED');
    expect(refused.stdout).toBe('');
  });

  it('lists and retries jobs through the API, and reports errors on stderr with exit code 1', async () => {
    const job = await h.db.selectFrom('jobs').select('id').executeTakeFirst();
    if (job === undefined) throw new Error('expected a job from the previous test');
    await h.db
      .updateTable('jobs')
      .set({ state: 'dead', last_error: 'boom' })
      .where('id', '=', job.id)
      .execute();

    // Independent invocations run side by side: each CLI start costs about a second of CPU.
    const [dead, forbidden, noToken] = await Promise.all([
      cli(['jobs', 'list', '--state', 'dead'], { MALPIPE_TOKEN: h.tokens.admin }),
      cli(['jobs', 'list'], { MALPIPE_TOKEN: h.tokens.reader }),
      cli(['search', 'x']),
    ]);
    expect(dead.code, dead.stderr).toBe(0);
    expect(dead.stdout).toContain(job.id);
    expect(dead.stdout).toContain('boom');
    const retried = await cli(['jobs', 'retry', job.id, '--json'], { MALPIPE_TOKEN: h.tokens.admin });
    expect(JobSchema.parse(JSON.parse(retried.stdout)).state).toBe('queued');

    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('FORBIDDEN');
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('MALPIPE_TOKEN');
  });
});
