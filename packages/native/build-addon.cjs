'use strict';
/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: npm runs it before any build, and .node addons load through require */
// Install step: builds the accelerator addon with node-gyp. It never fails the install: without a compiler the
// addon is absent and every caller uses its TypeScript twin.
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

function main() {
  if (process.env.MALPIPE_SKIP_NATIVE === '1') {
    console.log('@malpipe/native: MALPIPE_SKIP_NATIVE=1, not building; the TypeScript implementations will be used');
    return;
  }
  const args = ['rebuild'];
  // The running Node's installed headers, when present: node-gyp would otherwise download them, which fails offline.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${prefix}`);
  const nodeGyp = findNodeGyp(prefix);
  const result = nodeGyp
    ? spawnSync(process.execPath, [nodeGyp, ...args], { cwd: __dirname, stdio: 'inherit' })
    : spawnSync('node-gyp', args, { cwd: __dirname, stdio: 'inherit' });
  if (result.status !== 0) {
    const reason = result.error ? ` (${result.error.message})` : '';
    console.log(`@malpipe/native: build failed${reason}: the TypeScript implementations will be used`);
  }
}

/** npm sets npm_config_node_gyp for install scripts; outside npm, use the node-gyp npm bundles. */
function findNodeGyp(prefix) {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath &&
      path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((candidate) => candidate && existsSync(candidate));
}

main();
