export * from './analyzer.js';
export { ByteReader } from './bytes/byte-reader.js';
// The built-in analysers are listed in ./registry.ts (filled as analysers land).
export { yaraAnalyzer, YARA_SCAN_TIMEOUT_MS } from './yara/yara-analyzer.js';
export type { YaraAnalyzerResult } from './yara/yara-analyzer.js';
export { identifyFile } from './identify/identify-file.js';
export { computeDigests, createDigester, type Digester } from './hashes/compute-digests.js';
export { hashesAnalyzer } from './hashes/hashes-analyzer.js';
export { archiveAnalyzer } from './archive/archive-analyzer.js';
export type { ArchiveEntry, ArchiveResult, EntrySkipReason } from './archive/archive-result.js';
export { parsePe } from './pe/parse-pe.js';
export { peAnalyzer } from './pe/pe-analyzer.js';
export type * from './pe/pe-types.js';
export { parseElf } from './elf/parse-elf.js';
export { elfAnalyzer } from './elf/elf-analyzer.js';
export type * from './elf/elf-types.js';
