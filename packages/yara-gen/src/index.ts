export * from './codec.js';
export * from './known-plaintext.js';
export * from './generate-encoded-rules.js';
export * from './verify-encoded-rules.js';
export { renderRule, ruleIdentifier, type RuleText } from './yara-text.js';
export * from './generate-string-rules.js';
