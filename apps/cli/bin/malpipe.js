#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader: one code path for dev, tests and production.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
