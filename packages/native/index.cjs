'use strict';
/* global require, module, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: .node addons load through require */
// The compiled addon, or null when it was not built (no compiler at install time) or MALPIPE_NATIVE=0 asks for the
// TypeScript implementations (tests use that to compare both paths).
const path = require('node:path');

function load() {
  if (process.env.MALPIPE_NATIVE === '0') return null;
  try {
    return require(path.join(__dirname, 'build', 'Release', 'malpipe_native.node'));
  } catch {
    return null;
  }
}

module.exports = { native: load() };
