export * from './yara-engine.js';
export * from './yara-x-engine.js';
export * from './libyara-engine.js';
export * from './create-yara-engine.js';
export * from './create-yara-scanner.js';
export * from './load-ruleset.js';
export * from './compiled-rules-cache.js';
export { outlineRules } from './outline-rules.js';
export type { MetaValue, RuleOutline, SourceOutline } from './outline-rules.js';
