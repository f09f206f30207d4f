import type { Analyzer, AnalyzerOutput } from '../analyzer.js';
import { parsePe } from './parse-pe.js';
import type { PeInfo } from './pe-types.js';

const ACCEPTED_FORMATS: ReadonlySet<string> = new Set(['pe32', 'pe32+', 'dotnet']);
const HIGH_ENTROPY = 7.2;

/** Tags derived from a parsed PE: what an analyst filters samples on. */
export function tagPe(info: PeInfo): string[] {
  const tags = new Set<string>();
  if (info.fileHeader?.isDll === true) tags.add('dll');
  if (info.clr !== null) tags.add('dotnet');
  if (info.authenticode !== null && info.authenticode.withinFile && info.authenticode.size > 0)
    tags.add('signed');
  if (info.sections.some((s) => /^\.?upx\d$/i.test(s.name))) tags.add('upx');
  if (info.sections.some((s) => s.entropy !== null && s.entropy >= HIGH_ENTROPY && s.rawSize >= 1024))
    tags.add('high-entropy');
  if (info.overlay !== null && !info.overlay.isSignatureOnly) tags.add('overlay');
  if (info.tls !== null && info.tls.callbackCount > 0) tags.add('tls-callbacks');
  const subsystem = info.optionalHeader?.subsystemName;
  if (subsystem === 'NATIVE') tags.add('driver');
  if (subsystem?.startsWith('EFI_') === true) tags.add('efi');
  return [...tags];
}

/**
 * The `pe` analyser: headers, sections, imports (with the pefile-compatible imphash at `result.imphash`, which
 * the pipeline copies onto the sample), exports, resources and version info, Rich header, debug/PDB, TLS,
 * Authenticode presence, .NET header and overlay. Malformed structures become warnings, never exceptions.
 */
export const peAnalyzer: Analyzer<PeInfo> = {
  name: 'pe',
  version: '1.0.0',
  accepts: (facts) => ACCEPTED_FORMATS.has(facts.fileType.format),
  analyze(bytes): Promise<AnalyzerOutput<PeInfo>> {
    const info = parsePe(bytes);
    return Promise.resolve({ result: info, tags: tagPe(info), warnings: info.warnings });
  },
};
