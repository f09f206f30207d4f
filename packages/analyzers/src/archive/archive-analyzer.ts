import type { FileFormat } from '@malpipe/core';
import type { Analyzer, AnalyzerContext, AnalyzerOutput, SampleFacts } from '../analyzer.js';
import type { ArchiveResult } from './archive-result.js';
import { extractTar } from './extract-tar.js';
import { extractZip } from './extract-zip.js';
import { ExtractionBudget } from './extraction-budget.js';
import { Extraction, type MemberInfo } from './extraction.js';
import { gunzipBounded, gzipStoredName } from './gunzip-bounded.js';

const ACCEPTED: ReadonlySet<FileFormat> = new Set<FileFormat>(['zip', 'ooxml', 'gzip', 'tar']);

function isTar(bytes: Uint8Array): boolean {
  return bytes.length >= 512 && Buffer.from(bytes.buffer, bytes.byteOffset + 257, 5).toString('latin1') === 'ustar';
}

/** Name for the decompressed member of a gzip: stored FNAME, else the sample's name without its suffix. */
function gzipMemberName(bytes: Uint8Array, facts: SampleFacts): string {
  const stored = gzipStoredName(bytes);
  if (stored !== null) return stored;
  const original = facts.fileNames[0];
  if (original !== undefined) {
    const base = original.split(/[\\/]/).pop() ?? original;
    if (/\.tgz$/i.test(base)) return base.replace(/\.tgz$/i, '.tar');
    if (/\.gz$/i.test(base)) return base.replace(/\.gz$/i, '');
  }
  return 'decompressed';
}

async function analyzeGzip(bytes: Uint8Array, facts: SampleFacts, budget: ExtractionBudget): Promise<{ extraction: Extraction; format: ArchiveResult['format'] }> {
  const limits = budget.limits;
  const canExtract = facts.depth < limits.maxDepth;
  const member = new Extraction(budget, canExtract, 'decompressed');
  // ISIZE trailer: the uncompressed size mod 2^32, as the (untrusted) writer declared it.
  const declared = bytes.length >= 18 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32LE(bytes.length - 4) : null;
  const info: MemberInfo = { storedPath: gzipMemberName(bytes, facts), size: declared, compressedSize: bytes.length, encrypted: false };
  const skip = member.precheck();
  if (skip !== null) {
    member.skip(info, skip);
    if (skip === 'MAX_DEPTH') member.warnings.push(`depth ${facts.depth} reached the limit of ${limits.maxDepth}: nothing extracted`);
    return { extraction: member, format: 'gzip' };
  }
  const outcome = await gunzipBounded(bytes, budget.memberLimit(bytes.length));
  if (outcome.exceeded !== null) {
    if (outcome.exceeded === 'TOTAL') throw budget.totalExceeded();
    member.warnings.push(`gzip: output passes the limit (${outcome.exceeded}); decompression stopped`);
    member.skip(info, outcome.exceeded);
    return { extraction: member, format: 'gzip' };
  }
  if (outcome.error !== null) {
    member.warnings.push(`gzip: ${outcome.error}${outcome.data.length > 0 ? ` after ${outcome.data.length} bytes; keeping the partial output` : ''}`);
    if (outcome.data.length === 0) {
      member.skip(info, 'CORRUPT');
      return { extraction: member, format: 'gzip' };
    }
  }
  const partial = outcome.error !== null ? { partial: true } : {};
  // tar.gz: expand the tar here when its members would still be within depth (they sit two levels down).
  if (outcome.error === null && isTar(outcome.data)) {
    if (facts.depth + 2 <= limits.maxDepth) {
      const tar = new Extraction(budget, true, 'extracted');
      extractTar(outcome.data, tar);
      return { extraction: tar, format: 'tar+gzip' };
    }
    member.warnings.push(`gzip holds a tar, not expanded: its members would be beyond depth ${limits.maxDepth}`);
  }
  member.extract(info, outcome.data, partial);
  return { extraction: member, format: 'gzip' };
}

/**
 * Lists and extracts ZIP (including OOXML, JAR, APK; ZipCrypto and AES with `context.archivePasswords`),
 * gzip and tar (and tar.gz in one step). Every member is listed with why it was or was not extracted;
 * extracted files become children. Bounded by `context.limits`: per-member size and compression ratio
 * (member skipped with a warning), member count (extra members listed only), total bytes and absurd entry
 * counts (ARCHIVE_BOMB thrown), depth (nothing extracted at the limit).
 */
export const archiveAnalyzer: Analyzer<ArchiveResult> = {
  name: 'archive',
  usesArchivePasswords: true,
  version: '1.0.0',
  accepts: (facts) => ACCEPTED.has(facts.fileType.format),
  async analyze(bytes: Uint8Array, facts: SampleFacts, context: AnalyzerContext): Promise<AnalyzerOutput<ArchiveResult>> {
    const budget = new ExtractionBudget(context.limits);
    const canExtract = facts.depth < context.limits.maxDepth;
    let extraction: Extraction;
    let format: ArchiveResult['format'];
    switch (facts.fileType.format) {
      case 'gzip':
        ({ extraction, format } = await analyzeGzip(bytes, facts, budget));
        break;
      case 'tar':
        extraction = new Extraction(budget, canExtract);
        extractTar(bytes, extraction);
        format = 'tar';
        break;
      default:
        extraction = new Extraction(budget, canExtract);
        await extractZip(bytes, extraction, context.archivePasswords.length > 0 ? context.archivePasswords : ['infected']);
        format = facts.fileType.format === 'ooxml' ? 'ooxml' : 'zip';
    }
    if (!canExtract && facts.fileType.format !== 'gzip') {
      extraction.warnings.push(`depth ${facts.depth} reached the limit of ${context.limits.maxDepth}: members listed, nothing extracted`);
    }
    const result: ArchiveResult = {
      format,
      entries: extraction.entries,
      extractedCount: extraction.children.length,
      extractedBytes: budget.extractedBytes,
      encrypted: extraction.entries.some((e) => e.encrypted),
    };
    return { result, children: extraction.children, warnings: extraction.warnings, tags: result.encrypted ? ['encrypted-archive'] : [] };
  },
};
