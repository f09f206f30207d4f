'use strict';
/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: npm runs it before any build */
// Install step: builds the accelerator addon. It never fails the install: without a compiler the addon is absent and
// every caller uses its TypeScript twin.
const { nodeGypRebuild } = require('../../tools/node-gyp-rebuild.cjs');

if (process.env.MALPIPE_SKIP_NATIVE === '1') {
  console.log('@malpipe/native: MALPIPE_SKIP_NATIVE=1, not building; the TypeScript implementations will be used');
} else {
  const failure = nodeGypRebuild(__dirname);
  if (failure !== null) console.log(`@malpipe/native: build failed (${failure}): the TypeScript implementations will be used`);
}
