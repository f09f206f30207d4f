// The CLI as an esbuild bundle of our TypeScript (third-party packages stay in node_modules), built on the first run
// and again whenever a bundled file changes. Through the tsx loader a command spent seconds resolving and transpiling
// a few hundred modules before doing anything; the bundle loads in a fraction of that. Any problem here (no esbuild,
// a read-only tree, a syntax error, another process building) returns null and the caller falls back to tsx, which
// also reports syntax errors better.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const ENTRIES = { main: 'apps/cli/src/main.ts' };
const SANDBOX_CHILD = 'apps/server/src/sandbox/sandbox-child.ts';
/** CommonJS workspace packages with compiled addons: loaded from node_modules at run time like third-party ones. */
const NATIVE_PACKAGES = new Set(['@malpipe/native', '@malpipe/yara-native']);
/** Besides the bundled sources: what decides how they resolve and build. */
const EXTRA_INPUTS = ['apps/cli/bin/bundle.js', 'package.json', 'tsconfig.json', 'tsconfig.base.json'];
const MANIFEST_VERSION = 1;
/** Another process building for longer than this has died; its lock is taken over. */
const LOCK_STALE_MS = 60_000;
/** Older bundles are removed after a rebuild; a day leaves long-running processes their lazily loaded chunks. */
const KEEP_OLD_MS = 24 * 3600_000;

function cacheDir() {
  // Ignored by git, removed with node_modules, one per checkout.
  return join(ROOT, 'node_modules', '.cache', 'malpipe-cli');
}

function readManifest(dir) {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'current.json'), 'utf8'));
    return manifest.version === MANIFEST_VERSION ? manifest : null;
  } catch {
    return null;
  }
}

function fingerprint(file) {
  const info = statSync(join(ROOT, file));
  return [file, info.mtimeMs, info.size];
}

/** True when every input still has the size and modification time it had when the bundle was built. */
function isFresh(manifest) {
  try {
    return manifest.inputs.every(([file, mtimeMs, size]) => {
      const [, m, s] = fingerprint(file);
      return m === mtimeMs && s === size;
    });
  } catch {
    return false; // an input was deleted or renamed
  }
}

/** Rewrites `import.meta.url` to the source file's own URL, so paths computed from it (rules, web root) still hold. */
function malpipePlugin() {
  return {
    name: 'malpipe',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        if (name.startsWith('@malpipe/') && !NATIVE_PACKAGES.has(name)) return undefined;
        return { external: true };
      });
      build.onLoad({ filter: /\.[cm]?ts$/ }, (args) => ({ contents: withUrl(relative(ROOT, args.path)), loader: 'ts' }));
    },
  };
}

function tryLock(lock) {
  try {
    mkdirSync(lock);
    return true;
  } catch (error) {
    if (error.code !== 'EEXIST') return false;
    try {
      if (Date.now() - statSync(lock).mtimeMs < LOCK_STALE_MS) return false;
      rmSync(lock, { recursive: true, force: true });
      mkdirSync(lock);
      return true;
    } catch {
      return false;
    }
  }
}

function withUrl(file) {
  return readFileSync(join(ROOT, file), 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(join(ROOT, file)).href));
}

/**
 * The sandbox child as plain JavaScript, one file per module rather than a bundle: a bundle turns top-level `const`
 * into `var`, and Node 20's V8 then stops folding the constants of the analysers' byte loops (fuzzy hashes ran 2x
 * slower). Imports are rewritten to the transpiled files, so the child starts without the TypeScript loader.
 */
async function transpileChild(esbuild, outdir) {
  const graph = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [SANDBOX_CHILD],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    outdir,
    logLevel: 'silent',
    plugins: [malpipePlugin()],
  });
  const jsOf = (file) => join(outdir, file.replace(/\.[cm]?ts$/, '.js'));
  for (const [file, info] of Object.entries(graph.metafile.inputs)) {
    let { code } = await esbuild.transform(withUrl(file), { loader: 'ts', format: 'esm', target: 'node20', sourcefile: file });
    for (const imported of info.imports) {
      if (imported.external === true || imported.original === undefined) continue;
      const target = relative(dirname(jsOf(file)), jsOf(imported.path));
      const specifier = target.startsWith('.') ? target : `./${target}`;
      code = code.replaceAll(`from "${imported.original}"`, `from "${specifier}"`).replaceAll(`import("${imported.original}")`, `import("${specifier}")`);
    }
    mkdirSync(dirname(jsOf(file)), { recursive: true });
    writeFileSync(jsOf(file), code);
  }
  return { entry: jsOf(SANDBOX_CHILD), inputs: Object.keys(graph.metafile.inputs) };
}

async function build(cache) {
  const requireFromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
  const esbuild = requireFromTsx('esbuild');
  const outdir = join(cache, `b-${Date.now().toString(36)}-${process.pid}`);
  mkdirSync(outdir, { recursive: true });
  // Under node_modules no package.json gives these files a module type: say it.
  writeFileSync(join(outdir, 'package.json'), '{ "type": "module" }\n');
  const child = await transpileChild(esbuild, join(outdir, 'child'));
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ENTRIES,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    // The sandbox pool forks the transpiled child instead of the TypeScript one (see analyzer-sandbox.ts).
    define: { MALPIPE_PREBUILT_SANDBOX_CHILD: JSON.stringify(child.entry) },
    plugins: [malpipePlugin()],
  });
  const sources = [...Object.keys(result.metafile.inputs), ...child.inputs].filter((file) => !file.includes('node_modules/') || file.includes('@malpipe/'));
  const files = sources.map((file) => relative(ROOT, resolve(ROOT, file)));
  // Each workspace's package.json too: its `exports` decide what an import resolves to.
  const manifests = files.flatMap((file) => {
    const match = /^((?:apps|packages)\/[^/]+)\//.exec(file);
    return match === null ? [] : [`${match[1]}/package.json`];
  });
  const inputs = [...new Set([...files, ...manifests, ...EXTRA_INPUTS])].map(fingerprint);
  const manifest = { version: MANIFEST_VERSION, dir: relative(cache, outdir), inputs };
  const temp = join(cache, `current.json.${process.pid}`);
  writeFileSync(temp, JSON.stringify(manifest));
  renameSync(temp, join(cache, 'current.json'));
  for (const entry of readdirSync(cache)) {
    const old = join(cache, entry);
    if (entry.startsWith('b-') && old !== outdir && Date.now() - statSync(old).mtimeMs > KEEP_OLD_MS) rmSync(old, { recursive: true, force: true });
  }
  return manifest;
}

/** The file URL of the bundled CLI entry, building it first when missing or stale; null: use tsx instead. */
export async function bundledEntry() {
  if (process.env.MALPIPE_BUNDLE === '0') return null;
  try {
    const cache = cacheDir();
    let manifest = readManifest(cache);
    if (manifest === null || !isFresh(manifest)) {
      mkdirSync(cache, { recursive: true });
      const lock = join(cache, 'lock');
      if (!tryLock(lock)) return null;
      try {
        manifest = await build(cache);
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    }
    return pathToFileURL(join(cache, manifest.dir, 'main.js')).href;
  } catch {
    return null;
  }
}
