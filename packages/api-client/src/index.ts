export * from './schemas.js';
export * from './ruleset-schemas.js';
export * from './cobaltstrike-schemas.js';
export * from './api-client.js';
