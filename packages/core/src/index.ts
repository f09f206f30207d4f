export * from './errors.js';
export * from './file-type.js';
export * from './domain.js';
