export * from './analyzer.js';
export { ByteReader } from './bytes/byte-reader.js';
// The built-in analysers are listed in ./registry.ts (filled as analysers land).
