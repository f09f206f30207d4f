'use strict';
/* global require, module */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: install scripts run before any build */
// Shared by the addons' install steps (packages/*/build-addon.cjs): `node-gyp rebuild` in a package folder, with the
// running Node's installed headers when present (node-gyp would otherwise download them, which fails offline).
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

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

/** Runs `node-gyp rebuild` in `dir`; returns null on success, else why it failed. */
function nodeGypRebuild(dir) {
  const args = ['rebuild'];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) args.push(`--nodedir=${prefix}`);
  const nodeGyp = findNodeGyp(prefix);
  const result = nodeGyp
    ? spawnSync(process.execPath, [nodeGyp, ...args], { cwd: dir, stdio: 'inherit' })
    : spawnSync('node-gyp', args, { cwd: dir, stdio: 'inherit' });
  if (result.status === 0) return null;
  return result.error ? result.error.message : `node-gyp exited ${result.status}`;
}

module.exports = { nodeGypRebuild };
