'use strict';
/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: npm runs it before any build */
// Install step: builds the libyara addon. It never fails the install: where libyara (or a compiler) is missing the
// addon is simply absent and @malpipe/yara-engine falls back to YARA-X.
const { spawnSync } = require('node:child_process');
const { nodeGypRebuild } = require('../../tools/node-gyp-rebuild.cjs');

function main() {
  if (process.env.MALPIPE_SKIP_YARA_NATIVE === '1') {
    console.log('yara-native: MALPIPE_SKIP_YARA_NATIVE=1, not building; the YARA-X engine will be used');
    return;
  }
  if (spawnSync('pkg-config', ['--exists', 'yara'], { stdio: 'ignore' }).status !== 0) {
    console.log('yara-native: libyara not found (pkg-config yara): the YARA-X engine will be used');
    return;
  }
  const failure = nodeGypRebuild(__dirname);
  if (failure !== null) console.log(`yara-native: build failed (${failure}): the YARA-X engine will be used`);
}

main();
