'use strict';
/* global require, module, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: npm runs it before any build, and .node addons load through require */
// Loads the compiled addon. Throws when it was not built (no libyara at install time): callers
// (@malpipe/yara-engine) catch that and report YARA_ENGINE_UNAVAILABLE.
const path = require('node:path');

module.exports = require(path.join(__dirname, 'build', 'Release', 'yara_native.node'));
