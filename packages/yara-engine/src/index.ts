export * from './yara-engine.js';
