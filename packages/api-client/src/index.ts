export * from './schemas.js';
export * from './api-client.js';
