import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRuleset, loadRulesetFromDirectory } from './load-ruleset.js';

let dir: string;
let outside: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ruleset-'));
  outside = await mkdtemp(path.join(tmpdir(), 'ruleset-outside-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe(loadRulesetFromDirectory.name, () => {
  it('reads .yar and .yara files recursively, one namespace per file, and ignores the rest', async () => {
    await mkdir(path.join(dir, 'apt'));
    await writeFile(path.join(dir, 'b.yara'), 'rule b { condition: true }');
    await writeFile(path.join(dir, 'a.yar'), 'rule a { condition: true }');
    await writeFile(path.join(dir, 'apt', 'c.YAR'), 'rule c { condition: true }');
    await writeFile(path.join(dir, 'notes.txt'), 'not a rule');
    const ruleset = await loadRulesetFromDirectory(dir);
    expect(ruleset.sources.map((s) => [s.namespace, s.origin])).toEqual([
      ['a', 'a.yar'],
      ['apt/c', 'apt/c.YAR'],
      ['b', 'b.yara'],
    ]);
    expect(ruleset.version).toMatch(/^[0-9a-f]{16}$/);
  });

  it('versions by content: same files give the same version, any change gives another', async () => {
    await writeFile(path.join(dir, 'a.yar'), 'rule a { condition: true }');
    const first = await loadRulesetFromDirectory(dir);
    expect((await loadRulesetFromDirectory(dir)).version).toBe(first.version);
    await writeFile(path.join(dir, 'a.yar'), 'rule a { condition: false }');
    expect((await loadRulesetFromDirectory(dir)).version).not.toBe(first.version);
    const reordered = createRuleset([...first.sources].reverse());
    expect(reordered.version).toBe(first.version);
  });

  it('follows symlinks inside the directory and refuses those that escape it', async () => {
    await writeFile(path.join(dir, 'real.yar'), 'rule r { condition: true }');
    await symlink(path.join(dir, 'real.yar'), path.join(dir, 'alias.yar'));
    expect((await loadRulesetFromDirectory(dir)).sources.map((s) => s.namespace)).toEqual(['alias', 'real']);
    await writeFile(path.join(outside, 'secret.yar'), 'rule s { condition: true }');
    await symlink(path.join(outside, 'secret.yar'), path.join(dir, 'escape.yar'));
    await expect(loadRulesetFromDirectory(dir)).rejects.toMatchObject({ code: 'PATH_TRAVERSAL' });
  });

  it('bounds the file count and sizes', async () => {
    for (let i = 0; i < 4; i += 1)
      await writeFile(path.join(dir, `r${i}.yar`), `rule r${i} { condition: true }`);
    await expect(loadRulesetFromDirectory(dir, { maxFiles: 3 })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    await expect(loadRulesetFromDirectory(dir, { maxFileBytes: 10 })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    await expect(loadRulesetFromDirectory(dir, { maxTotalBytes: 60 })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    expect((await loadRulesetFromDirectory(dir)).sources).toHaveLength(4);
  });

  it('reports a missing directory as NOT_FOUND', async () => {
    await expect(loadRulesetFromDirectory(path.join(dir, 'absent'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('explains that a rule file is not a rules directory', async () => {
    const file = path.join(dir, 'one.yar');
    await writeFile(file, 'rule one { condition: true }');
    await expect(loadRulesetFromDirectory(file)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('is a file, not a rules directory') as unknown,
    });
  });
});
