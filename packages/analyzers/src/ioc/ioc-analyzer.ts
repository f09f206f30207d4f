import type { FileFormat, IndicatorType } from '@malpipe/core';
import type { Analyzer, SampleFacts } from '../analyzer.js';
import { extractStrings, type StringEncoding } from '../strings/extract-strings.js';
import { extractIocs } from './extract-iocs.js';
import { refang } from './refang.js';

/** Text decoded from a text-like sample; the rest is ignored (with a warning). */
export const MAX_TEXT_BYTES = 16 * 1024 * 1024;
/** Characters of binary strings scanned for indicators. */
export const MAX_STRINGS_CHARS = 8 * 1024 * 1024;
/** Shortest bare domain taken from binary strings, where 4-5 character runs like `a.cg` are mostly noise. */
export const MIN_BINARY_DOMAIN_LENGTH = 6;
/** Characters of surrounding text kept as an indicator's context in text samples. */
export const IOC_SNIPPET_CHARS = 40;

export type TextEncodingName = 'utf-8' | 'utf-16le' | 'utf-16be';

export interface IocResult {
  /** `text`: the sample was decoded as text; `strings`: indicators come from its printable strings. */
  readonly source: 'text' | 'strings';
  readonly encoding?: TextEncodingName;
  readonly counts: Partial<Record<IndicatorType, number>>;
  readonly total: number;
  /** True when the input was cut or `maxIndicators` was reached. */
  readonly truncated: boolean;
}

const TEXT_FORMATS: ReadonlySet<FileFormat> = new Set([
  'text', 'html', 'powershell', 'vbscript', 'javascript', 'batch', 'shell', 'python', 'rtf',
]);

export function isTextLike(facts: SampleFacts): boolean {
  return facts.fileType.kind === 'text' || facts.fileType.kind === 'script' || TEXT_FORMATS.has(facts.fileType.format);
}

/**
 * Network indicators and digests in any sample: text-like samples are decoded (UTF-8, or UTF-16 by BOM or
 * by the zero-byte pattern of the first 4 KiB), refanged and scanned; binaries are scanned through their
 * printable strings, each indicator's context naming the string (`utf16le@0x1a2c`).
 */
export const iocAnalyzer: Analyzer<IocResult> = {
  name: 'ioc',
  version: '1.0.0',
  accepts: () => true,
  analyze(bytes, facts, context) {
    const maxIndicators = context.limits.maxIndicators;
    const warnings: string[] = [];
    let source: IocResult['source'];
    let encoding: TextEncodingName | undefined;
    let indicators;
    let cut = false;
    if (isTextLike(facts)) {
      source = 'text';
      if (bytes.length > MAX_TEXT_BYTES) {
        cut = true;
        warnings.push(`only the first ${MAX_TEXT_BYTES} of ${bytes.length} bytes were scanned for indicators`);
      }
      const decoded = decodeText(bytes.subarray(0, MAX_TEXT_BYTES));
      encoding = decoded.encoding;
      indicators = extractIocs(decoded.text, { maxIndicators, snippetChars: IOC_SNIPPET_CHARS });
    } else {
      source = 'strings';
      const scanned = scanBinaryStrings(bytes, context.limits.maxStrings);
      cut = scanned.cut;
      if (cut) warnings.push('not every string of the sample was scanned for indicators');
      indicators = extractIocs(scanned.text, {
        maxIndicators,
        refang: false,
        contextAt: scanned.contextAt,
        minBareDomainLength: MIN_BINARY_DOMAIN_LENGTH,
      });
    }
    const counts: Partial<Record<IndicatorType, number>> = {};
    for (const indicator of indicators) counts[indicator.type] = (counts[indicator.type] ?? 0) + 1;
    const truncated = cut || indicators.length >= maxIndicators;
    const result: IocResult = {
      source,
      ...(encoding === undefined ? {} : { encoding }),
      counts,
      total: indicators.length,
      truncated,
    };
    return Promise.resolve({ result, indicators, ...(warnings.length > 0 ? { warnings } : {}) });
  },
};

export function decodeText(bytes: Uint8Array): { text: string; encoding: TextEncodingName } {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { text: new TextDecoder('utf-8').decode(bytes.subarray(3)), encoding: 'utf-8' };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    return { text: new TextDecoder('utf-16le').decode(bytes.subarray(2)), encoding: 'utf-16le' };
  }
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    return { text: new TextDecoder('utf-16be').decode(bytes.subarray(2)), encoding: 'utf-16be' };
  }
  const zeros = zeroBytesByParity(bytes.subarray(0, 4096));
  // ASCII-range UTF-16 without a BOM: nearly every second byte is zero.
  if (zeros.total >= 8) {
    if (zeros.odd > zeros.total * 0.9) return { text: new TextDecoder('utf-16le').decode(bytes), encoding: 'utf-16le' };
    if (zeros.even > zeros.total * 0.9) return { text: new TextDecoder('utf-16be').decode(bytes), encoding: 'utf-16be' };
  }
  return { text: new TextDecoder('utf-8').decode(bytes), encoding: 'utf-8' };
}

function zeroBytesByParity(bytes: Uint8Array): { even: number; odd: number; total: number } {
  let even = 0;
  let odd = 0;
  for (let index = 0; index < bytes.length; index++) {
    if (bytes[index] !== 0) continue;
    if ((index & 1) === 0) even++;
    else odd++;
  }
  // Needs at least a quarter of the bytes to be zero to look like UTF-16 at all.
  return { even, odd, total: even + odd >= bytes.length / 4 ? even + odd : 0 };
}

/**
 * A string can only hold an indicator with a dot, a colon or an at sign in it, or a 32-digit hex run; "version"
 * strings are kept as context for the version-number rule (PE resources store FileVersion and its value apart).
 * `mayHoldIndicator` applies this test to a run's bytes before any string is made; the regular expression is its
 * readable definition, and a test proves both agree.
 */
export const MAY_HOLD_INDICATOR = /[.:@]|[0-9a-f]{32}|version/i;

/** Byte classes for mayHoldIndicator: 1 for `.:@`, 2 for a hex digit, 4 for `v`/`V`. */
const HINT = new Uint8Array(256);
for (const char of '.:@') HINT[char.charCodeAt(0)] = 1;
for (const char of '0123456789abcdefABCDEF') HINT[char.charCodeAt(0)] = 2;
HINT[0x56] = 4;
HINT[0x76] = 4;
const ERSION = [0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e];

/** MAY_HOLD_INDICATOR over `units` characters read `step` bytes apart from `start` (printable ASCII only). */
export function mayHoldIndicator(bytes: Uint8Array, start: number, units: number, step: number): boolean {
  const end = start + units * step;
  let hexRun = 0;
  for (let index = start; index < end; index += step) {
    const hint = HINT[bytes[index]!]!;
    if (hint === 0) {
      hexRun = 0;
    } else if (hint === 1) {
      return true;
    } else if (hint === 2) {
      if (++hexRun >= 32) return true;
    } else {
      hexRun = 0;
      if (index + 6 * step < end && followsErsion(bytes, index + step, step)) return true;
    }
  }
  return false;
}

/** True when the six characters from `index` are "ersion" in any case (`| 0x20` lower-cases ASCII letters). */
function followsErsion(bytes: Uint8Array, index: number, step: number): boolean {
  for (let i = 0; i < 6; i++) if ((bytes[index + i * step]! | 0x20) !== ERSION[i]) return false;
  return true;
}

interface ScannedStrings {
  readonly text: string;
  readonly cut: boolean;
  readonly contextAt: (index: number) => string | undefined;
}

/**
 * Joins the refanged strings of a binary with newlines, remembering where each starts, so an indicator found
 * at a position of the joined text can be traced back to its string's offset and encoding.
 */
function scanBinaryStrings(bytes: Uint8Array, maxStrings: number): ScannedStrings {
  const extraction = extractStrings(bytes, { maxStrings, byteFilter: mayHoldIndicator });
  const parts: string[] = [];
  const starts: number[] = [];
  const origins: { offset: number; encoding: StringEncoding }[] = [];
  let length = 0;
  let cut = extraction.truncated;
  for (const string of extraction.strings) {
    const value = refang(string.value);
    if (length + value.length > MAX_STRINGS_CHARS) {
      cut = true;
      break;
    }
    parts.push(value);
    starts.push(length);
    origins.push({ offset: string.offset, encoding: string.encoding });
    length += value.length + 1;
  }
  const contextAt = (index: number): string | undefined => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle]! <= index) low = middle;
      else high = middle - 1;
    }
    const origin = origins[low];
    return origin === undefined ? undefined : `${origin.encoding}@0x${origin.offset.toString(16)}`;
  };
  return { text: parts.join('\n'), cut, contextAt };
}
