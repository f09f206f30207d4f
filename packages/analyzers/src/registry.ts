import type { Analyzer } from './analyzer.js';
import { archiveAnalyzer } from './archive/archive-analyzer.js';
import { cobaltStrikeAnalyzer } from './cobaltstrike/cobaltstrike-analyzer.js';
import { elfAnalyzer } from './elf/elf-analyzer.js';
import { hashesAnalyzer } from './hashes/hashes-analyzer.js';
import { iocAnalyzer } from './ioc/ioc-analyzer.js';
import { peAnalyzer } from './pe/pe-analyzer.js';
import { stringsAnalyzer } from './strings/strings-analyzer.js';
import { yaraAnalyzer } from './yara/yara-analyzer.js';

/**
 * The built-in analysers, in the order they run. Adding an analyser: a folder under src/, an object that
 * implements Analyzer, one line here, and a fixture test beside it.
 */
export const BUILTIN_ANALYZERS: readonly Analyzer[] = [
  // Each analyser adds itself here, e.g. hashesAnalyzer, stringsAnalyzer, iocAnalyzer, peAnalyzer...
  hashesAnalyzer,
  archiveAnalyzer,
  yaraAnalyzer,
  peAnalyzer,
  elfAnalyzer,
  stringsAnalyzer,
  iocAnalyzer,
  cobaltStrikeAnalyzer,
];
