import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerRules } from './rules.js';

const CLI = fileURLToPath(new URL('../../bin/malpipe.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../../../rules/examples', import.meta.url));
const BAD = fileURLToPath(new URL('../../../../packages/yara-ci/test/fixtures/bad-ruleset', import.meta.url));

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** Runs `malpipe <args>` in this process (a spawned CLI costs seconds of start-up per call). */
async function runHere(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  const program = new Command().exitOverride();
  registerRules(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    await program.parseAsync(['node', 'malpipe', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr };
}

describe('malpipe rules', () => {
  let dir: string;
  let rules: string;
  let goodware: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malpipe-rules-cli-'));
    rules = join(dir, 'rules');
    goodware = join(dir, 'goodware');
    await cp(EXAMPLES, rules, { recursive: true });
    await mkdir(goodware);
    await writeFile(join(goodware, 'benign.txt'), 'nothing to see here\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('check: exit 0 and a readable report on a clean set, exit 1 and JSON findings on a bad one', async () => {
    const clean = await run(['rules', 'check', EXAMPLES, '--goodware', goodware, '--no-cost']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/^PASSED: 0 error\(s\)/m);
    const bad = await run(['rules', 'check', BAD, '--no-goodware', '--no-cost', '--json']);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as { passed: boolean; findings: { id: string; status: string }[] };
    expect(report.passed).toBe(false);
    expect(report.findings.filter((f) => f.status === 'open').map((f) => f.id)).toEqual(expect.arrayContaining(['meta-missing', 'unreferenced-string', 'duplicate-rule-name', 'unbounded-regex']));
  });

  it('import, versions, diff, deploy, rollback on a data directory', async () => {
    const data = join(dir, 'data');
    const first = await runHere(['rules', 'import', rules, '--data', data, '--goodware', goodware, '--no-cost', '--no-yara-cli', '--json']);
    const v1 = (JSON.parse(first.stdout) as { version: { id: string; checkPassed: boolean } }).version;
    expect(v1.checkPassed).toBe(true);

    await writeFile(join(rules, 'extra.yar'), 'rule Extra { condition: true }\n');
    await expect(runHere(['rules', 'import', rules, '--data', data, '--goodware', goodware, '--no-cost', '--no-yara-cli'])).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    const second = await runHere(['rules', 'import', rules, '--data', data, '--no-check', '--json']);
    const v2 = JSON.parse(second.stdout) as { version: { id: string; parentId: string }; diff: { added: { name: string }[] } };
    expect(v2.version.parentId).toBe(v1.id);
    expect(v2.diff.added.map((r) => r.name)).toEqual(['Extra']);

    expect((await runHere(['rules', 'diff', v1.id, v2.version.id, '--data', data])).stdout).toContain('+ extra:Extra');
    await runHere(['rules', 'deploy', v1.id, '--data', data]);
    await runHere(['rules', 'deploy', v2.version.id, '--data', data]);
    const back = await runHere(['rules', 'rollback', '--data', data, '--json']);
    expect(JSON.parse(back.stdout)).toMatchObject({ id: v1.id, state: 'active' });
    const versions = await runHere(['rules', 'versions', '--data', data]);
    expect(versions.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      [v2.version.id, 'retired'],
      [v1.id, 'active'],
    ]);
  });
});
