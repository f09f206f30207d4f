import type { Analyzer } from '../analyzer.js';
import { extractStrings, type ExtractedString, type StringEncoding } from './extract-strings.js';

/** Strings shown in the stored result; the rest are only counted. */
export const MAX_REPORTED_STRINGS = 2000;
/**
 * Characters of string values in the stored result. JSON escaping at most doubles printable ASCII, so a
 * result row stays under ~0.6 MB whatever the sample.
 */
export const MAX_REPORTED_CHARS = 256 * 1024;
/** Longest value kept per string in the result. */
export const MAX_REPORTED_STRING_LENGTH = 1024;

export interface StringsResult {
  readonly counts: Readonly<Record<StringEncoding, number>>;
  readonly total: number;
  /** The first strings by offset, within MAX_REPORTED_STRINGS and MAX_REPORTED_CHARS. */
  readonly strings: readonly ExtractedString[];
  /** True when `strings` holds fewer strings than `total`. */
  readonly truncated: boolean;
}

/** ASCII and UTF-16LE strings of every non-text sample (a text file is already all strings). */
export const stringsAnalyzer: Analyzer<StringsResult> = {
  name: 'strings',
  version: '1.0.0',
  accepts: (facts) => facts.fileType.kind !== 'text',
  analyze(bytes, _facts, context) {
    const maxStrings = Math.min(context.limits.maxStrings, MAX_REPORTED_STRINGS);
    const extraction = extractStrings(bytes, { maxStrings, maxLength: MAX_REPORTED_STRING_LENGTH });
    const strings: ExtractedString[] = [];
    let chars = 0;
    for (const string of extraction.strings) {
      if (chars + string.value.length > MAX_REPORTED_CHARS) break;
      chars += string.value.length;
      strings.push(string);
    }
    const total = extraction.counts.ascii + extraction.counts.utf16le;
    return Promise.resolve({
      result: { counts: extraction.counts, total, strings, truncated: strings.length < total },
    });
  },
};
