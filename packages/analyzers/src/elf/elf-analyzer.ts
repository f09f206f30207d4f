import type { Analyzer, AnalyzerOutput } from '../analyzer.js';
import type { ElfInfo } from './elf-types.js';
import { parseElf } from './parse-elf.js';

const ACCEPTED_FORMATS: ReadonlySet<string> = new Set(['elf32', 'elf64']);
const HIGH_ENTROPY = 7.2;

/** Tags derived from a parsed ELF file. */
export function tagElf(info: ElfInfo): string[] {
  const tags = new Set<string>();
  const header = info.header;
  if (header !== null) {
    if (header.isPie) tags.add('pie');
    else if (header.typeName === 'DYN') tags.add('shared-library');
    if (
      (header.typeName === 'EXEC' || header.typeName === 'DYN') &&
      info.interpreter === null &&
      info.programHeaders.length > 0
    ) {
      if (header.typeName === 'EXEC') tags.add('static');
    }
    if (info.stripped && info.sections.length > 0) tags.add('stripped');
    if (info.sections.length === 0 && (header.typeName === 'EXEC' || header.typeName === 'DYN'))
      tags.add('no-section-headers');
  }
  if (info.anomalies.some((a) => a.startsWith('UPX marker'))) tags.add('upx');
  if (info.anomalies.some((a) => a.startsWith('executable stack'))) tags.add('exec-stack');
  if (
    info.sections.some((s) => s.entropy !== null && s.entropy >= HIGH_ENTROPY && s.size >= 1024) ||
    (info.sections.length === 0 && info.entropy >= HIGH_ENTROPY)
  ) {
    tags.add('high-entropy');
  }
  return [...tags];
}

/**
 * The `elf` analyser: header, program headers (interpreter), sections with entropy, dynamic section (needed
 * libraries, soname, rpath/runpath), symbol counts, GNU build-id, stripped or not, anomalies.
 */
export const elfAnalyzer: Analyzer<ElfInfo> = {
  name: 'elf',
  version: '1.0.0',
  accepts: (facts) => ACCEPTED_FORMATS.has(facts.fileType.format),
  analyze(bytes): Promise<AnalyzerOutput<ElfInfo>> {
    const info = parseElf(bytes);
    return Promise.resolve({ result: info, tags: tagElf(info), warnings: info.warnings });
  },
};
