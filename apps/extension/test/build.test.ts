import { readFile, readdir, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExtension } from '../scripts/build.ts';

describe(buildExtension.name, () => {
  let out: string;
  let folders: Awaited<ReturnType<typeof buildExtension>>;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'malpipe-ext-build-'));
    folders = await buildExtension({ outDir: out });
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it.each(['chrome', 'firefox'] as const)('%s: an unpacked extension with every file the manifest names', async (target) => {
    const files = (await readdir(folders[target])).sort();
    expect(files).toEqual(['background.js', 'manifest.json', 'options.html', 'options.js', 'popup.html', 'popup.js', 'styles.css']);
    const manifest = JSON.parse(await readFile(join(folders[target], 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.manifest_version).toBe(3);
    for (const html of ['popup.html', 'options.html']) {
      const page = await readFile(join(folders[target], html), 'utf8');
      expect(page).toMatch(/<script src="(popup|options)\.js"><\/script>/);
      expect(page).not.toMatch(/<script>|on[a-z]+="/); // MV3's CSP forbids inline script
    }
  });

  it('never touches storage.sync, never writes HTML from strings, never evaluates code', async () => {
    for (const file of ['background.js', 'popup.js', 'options.js']) {
      const code = await readFile(join(folders.chrome, file), 'utf8');
      expect(code, file).not.toMatch(/\.sync\b/);
      expect(code, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
      expect(code, file).not.toMatch(/\beval\(|new Function\(/);
    }
  });

  it('keeps the pages small: extraction and schemas stay in the worker', async () => {
    for (const file of ['popup.js', 'options.js']) {
      const code = await readFile(join(folders.chrome, file), 'utf8');
      expect(code.length, file).toBeLessThan(20_000);
    }
  });
});
