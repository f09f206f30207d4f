#!/usr/bin/env node
// Runs the CLI from an esbuild bundle of the TypeScript sources, rebuilt when they change (see bundle.js); falls back to
// tsx's loader over the same sources. MALPIPE_BUNDLE=0 forces tsx.
import { bundledEntry } from './bundle.js';

const entry = await bundledEntry();
if (entry === null) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
} else {
  // Stack traces point at the TypeScript sources.
  process.setSourceMapsEnabled(true);
  await import(entry);
}
