import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../build-addon.cjs', import.meta.url));

describe('build-addon.cjs (the install script)', () => {
  it('succeeds without building when libyara cannot be found, so npm install never fails on it', () => {
    // An empty PATH hides pkg-config: the same situation as a machine without libyara-dev.
    const result = spawnSync(process.execPath, [SCRIPT], { env: { PATH: '' }, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/libyara not found.*YARA-X engine will be used/);
  });

  it('can be told to skip the build', () => {
    const result = spawnSync(process.execPath, [SCRIPT], {
      env: { ...process.env, MALPIPE_SKIP_YARA_NATIVE: '1' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/not building/);
  });
});
