import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Test-only fixture builders of the analysers package (not part of its public exports).
import { buildPe } from '../../../packages/analyzers/test/builders/build-pe.js';
import { buildZip } from '../../../packages/analyzers/test/builders/build-zip.js';

const CLI = fileURLToPath(new URL('../../cli/bin/malpipe.js', import.meta.url));

interface Line {
  path: string | null;
  parent: string | null;
  state: string;
  error: { code: string } | null;
  report: { sample: { sha256: string }; relations: { parents: { detail: string | null }[] } } | null;
}

function runCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, MALPIPE_WORKER_CONCURRENCY: '2' }, maxBuffer: 64 * 1024 * 1024, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolveRun({ code, stdout, stderr });
      },
    );
  });
}

describe('malpipe analyze', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malpipe-analyze-test-'));
    await mkdir(join(dir, 'cases', 'sub'), { recursive: true });
    await writeFile(join(dir, 'cases', 'sub', 'note.txt'), 'contact http://c2-panel.badhost.top/login from 45.77.3.4\n');
    const pe = buildPe({ sections: [{ name: '.text', data: new Uint8Array([0xc3, 1, 2, 3]) }] });
    await writeFile(
      join(dir, 'cases', 'bundle.zip'),
      await buildZip([
        { name: 'bin/tool.exe', data: pe, password: 'infected', encryption: 'zipcrypto' },
        { name: 'readme.txt', data: new TextEncoder().encode('nothing to see\n'), password: 'infected', encryption: 'zipcrypto' },
      ]),
    );
    await writeFile(join(dir, 'cases', 'empty.bin'), '');
    await writeFile(join(dir, 'outside.txt'), 'not under the given root\n');
    await symlink(join(dir, 'outside.txt'), join(dir, 'cases', 'escape.txt'));
    await symlink(join(dir, 'cases', 'sub', 'note.txt'), join(dir, 'cases', 'alias.txt'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prints NDJSON reports for files, directories and archive children, and fails on a rejected file', { timeout: 120_000 }, async () => {
    const { code, stdout, stderr } = await runCli(['analyze', '--json', join(dir, 'cases')]);
    const lines = stdout
      .trim()
      .split('\n')
      .map((text) => JSON.parse(text) as Line);
    const byPath = new Map(lines.filter((l) => l.path !== null).map((l) => [l.path?.slice(dir.length + 1), l]));
    expect([...byPath.keys()].sort()).toEqual(['cases/alias.txt', 'cases/bundle.zip', 'cases/empty.bin', 'cases/sub/note.txt']);
    expect(byPath.get('cases/empty.bin')).toMatchObject({ state: 'rejected', error: { code: 'EMPTY_SAMPLE' } });
    expect(byPath.get('cases/alias.txt')?.report?.sample.sha256).toBe(byPath.get('cases/sub/note.txt')?.report?.sample.sha256);
    expect(stderr).toMatch(/skipped .*escape\.txt \(link outside the given paths\)/);

    const bundle = byPath.get('cases/bundle.zip')?.report?.sample.sha256;
    const children = lines.filter((l) => l.parent === bundle && l.path === null);
    expect(children).toHaveLength(2);
    expect(children.every((c) => c.state === 'completed')).toBe(true);
    expect(lines.filter((l) => l.state !== 'rejected').every((l) => l.state === 'completed')).toBe(true);
    expect(code).toBe(1);
  });

  it('prints a readable summary and exits 0 when everything was analysed', { timeout: 120_000 }, async () => {
    const { code, stdout } = await runCli(['analyze', join(dir, 'cases', 'sub', 'note.txt')]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^completed +[0-9a-f]{64} {2}.+note\.txt/m);
  });
});
