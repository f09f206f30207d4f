'use strict';
/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: npm runs it before any build, and .node addons load through require */
// Install step: builds the libyara addon with node-gyp. It never fails the install: where libyara (or a
// compiler) is missing the addon is simply absent and @malpipe/yara-engine falls back to YARA-X.
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

function main() {
  if (process.env.MALPIPE_SKIP_YARA_NATIVE === '1') {
    console.log('yara-native: MALPIPE_SKIP_YARA_NATIVE=1, not building; the YARA-X engine will be used');
    return;
  }
  const pkgConfig = spawnSync('pkg-config', ['--exists', 'yara'], { stdio: 'ignore' });
  if (pkgConfig.status !== 0) {
    console.log('yara-native: libyara not found (pkg-config yara): the YARA-X engine will be used');
    return;
  }
  const args = ['rebuild'];
  // Use the headers of the running Node when they are installed (Debian/nodesource packages ship them):
  // node-gyp would otherwise download them, which fails offline.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${prefix}`);
  const nodeGyp = findNodeGyp(prefix);
  const result = nodeGyp
    ? spawnSync(process.execPath, [nodeGyp, ...args], { cwd: __dirname, stdio: 'inherit' })
    : spawnSync('node-gyp', args, { cwd: __dirname, stdio: 'inherit' });
  if (result.status !== 0) {
    const reason = result.error ? ` (${result.error.message})` : '';
    console.log(`yara-native: build failed${reason}: the YARA-X engine will be used`);
  }
}

/** npm sets npm_config_node_gyp for install scripts; outside npm, use the node-gyp npm bundles. */
function findNodeGyp(prefix) {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath &&
      path.join(
        path.dirname(process.env.npm_execpath),
        '..',
        'node_modules',
        'node-gyp',
        'bin',
        'node-gyp.js',
      ),
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((candidate) => candidate && existsSync(candidate));
}

main();
