/**
 * Builds the unpacked extension for each browser: `dist/chrome/` and `dist/firefox/` (load either folder as an
 * unpacked / temporary add-on). esbuild bundles each entry point with its dependencies (@malpipe/analyzers'
 * IoC extraction, @malpipe/api-client, zod) into one classic script: no remote code, no module loader.
 *
 *   npm run build -w @malpipe/extension
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BROWSER_TARGETS, buildManifest, type BrowserTarget } from '../src/manifest.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY_POINTS = ['background', 'popup', 'options'] as const;
const STATIC_FILES = ['popup.html', 'options.html', 'styles.css'] as const;
const ESBUILD_TARGETS: Readonly<Record<BrowserTarget, string>> = { chrome: 'chrome120', firefox: 'firefox128' };

export interface BuildOptions {
  /** Default `apps/extension/dist`; one sub-folder per browser. */
  readonly outDir?: string;
  readonly targets?: readonly BrowserTarget[];
}

/** Builds and returns the folder of each browser's unpacked extension. */
export async function buildExtension(options: BuildOptions = {}): Promise<Record<BrowserTarget, string>> {
  const outDir = options.outDir ?? join(ROOT, 'dist');
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const folders = {} as Record<BrowserTarget, string>;
  for (const target of options.targets ?? BROWSER_TARGETS) {
    const dir = join(outDir, target);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await build({
      entryPoints: Object.fromEntries(ENTRY_POINTS.map((name) => [name, join(ROOT, 'src', `${name}.ts`)])),
      outdir: dir,
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: ESBUILD_TARGETS[target],
      legalComments: 'none',
      minify: true,
      logLevel: 'warning',
    });
    for (const file of STATIC_FILES) await copyFile(join(ROOT, 'src', file), join(dir, file));
    await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(buildManifest(target, pkg.version), null, 2)}\n`);
    folders[target] = dir;
  }
  return folders;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const folders = await buildExtension();
  for (const [target, dir] of Object.entries(folders)) process.stdout.write(`${target}: ${dir}\n`);
}
