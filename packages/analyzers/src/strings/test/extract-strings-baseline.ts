/**
 * Frozen copy of extractStrings as it was before the single-pass rewrite (commit b1c1255): the oracle the
 * differential test compares the current implementation with. Test-only; do not optimise it.
 */
import {
  DEFAULT_MAX_STRING_LENGTH,
  DEFAULT_MAX_STRINGS,
  DEFAULT_MIN_STRING_LENGTH,
  STRING_ENCODINGS,
  type ExtractedString,
  type ExtractStringsOptions,
  type StringsExtraction,
} from '../extract-strings.js';

/** Printable ASCII plus tab, as GNU strings does. */
const PRINTABLE = new Uint8Array(256);
for (let byte = 0x20; byte <= 0x7e; byte++) PRINTABLE[byte] = 1;
PRINTABLE[0x09] = 1;

const LATIN1 = new TextDecoder('latin1');

/**
 * Extracts ASCII and UTF-16LE strings from `bytes`.
 *
 * @example
 * extractStrings(new TextEncoder().encode('\0\0hello world\0')).strings
 * // [{ offset: 2, encoding: 'ascii', value: 'hello world' }]
 */
export function extractStringsBaseline(bytes: Uint8Array, options: ExtractStringsOptions = {}): StringsExtraction {
  const minLength = Math.max(1, Math.floor(options.minLength ?? DEFAULT_MIN_STRING_LENGTH));
  const maxLength = Math.max(minLength, Math.floor(options.maxLength ?? DEFAULT_MAX_STRING_LENGTH));
  const maxStrings = Math.max(0, Math.floor(options.maxStrings ?? DEFAULT_MAX_STRINGS));
  const encodings = options.encodings ?? STRING_ENCODINGS;
  const settings: ScanSettings = { minLength, maxLength, maxStrings, filter: options.filter };

  const ascii = encodings.includes('ascii') ? scanAscii(bytes, settings) : EMPTY_SCAN;
  const utf16 = encodings.includes('utf16le') ? scanUtf16le(bytes, settings) : EMPTY_SCAN;

  // Each pass keeps up to maxStrings on its own, so the merge can pick the first maxStrings by offset.
  const merged = mergeByOffset(ascii.strings, utf16.strings, maxStrings);
  const total = ascii.count + utf16.count;
  return {
    strings: merged,
    counts: { ascii: ascii.count, utf16le: utf16.count },
    truncated: merged.length < total,
  };
}

interface ScanSettings {
  readonly minLength: number;
  readonly maxLength: number;
  readonly maxStrings: number;
  readonly filter: ((value: string) => boolean) | undefined;
}

interface ScanResult {
  readonly strings: ExtractedString[];
  readonly count: number;
}

const EMPTY_SCAN: ScanResult = { strings: [], count: 0 };

/** 1 for a zero byte (the high byte of an ASCII UTF-16LE code unit), else 0. */
const ZERO = new Uint8Array(256);
ZERO[0] = 1;

/*
 * Both scans count the current run branch-free (`run = (run + 1) & -flag`) and branch only where a run long
 * enough to report ends: in binary data printable and non-printable bytes alternate unpredictably, and a
 * branch per byte on them costs more than the table lookups.
 */

function scanAscii(bytes: Uint8Array, { minLength, maxLength, maxStrings, filter }: ScanSettings): ScanResult {
  const strings: ExtractedString[] = [];
  let count = 0;
  const close = (start: number, runLength: number): void => {
    // Without a filter, strings past the cap are only counted, never decoded.
    if (filter === undefined && strings.length >= maxStrings) {
      count++;
      return;
    }
    const kept = Math.min(runLength, maxLength);
    const value = LATIN1.decode(bytes.subarray(start, start + kept));
    if (filter !== undefined && !filter(value)) return;
    count++;
    if (strings.length >= maxStrings) return;
    strings.push(
      runLength > maxLength
        ? { offset: start, encoding: 'ascii', value, truncated: true }
        : { offset: start, encoding: 'ascii', value },
    );
  };
  const length = bytes.length;
  let run = 0;
  for (let index = 0; index < length; index++) {
    const printable = PRINTABLE[bytes[index]!]!;
    if (run >= minLength && printable === 0) close(index - run, run);
    run = (run + 1) & -printable;
  }
  if (run >= minLength) close(length - run, run);
  return { strings, count };
}

/**
 * UTF-16LE runs of printable ASCII code units (low byte printable, high byte zero). Runs may start at an
 * even or an odd offset, so the pass keeps one run per byte parity and each pair is looked at once.
 */
function scanUtf16le(bytes: Uint8Array, { minLength, maxLength, maxStrings, filter }: ScanSettings): ScanResult {
  const strings: ExtractedString[] = [];
  let count = 0;
  // No value is longer than half the buffer, whatever maxLength says.
  const units = new Uint8Array(Math.min(maxLength, (bytes.length >> 1) + 1));

  const close = (start: number, runLength: number): void => {
    if (filter === undefined && strings.length >= maxStrings) {
      count++;
      return;
    }
    const kept = Math.min(runLength, maxLength);
    for (let unit = 0; unit < kept; unit++) units[unit] = bytes[start + unit * 2]!;
    const value = LATIN1.decode(units.subarray(0, kept));
    if (filter !== undefined && !filter(value)) return;
    count++;
    if (strings.length >= maxStrings) return;
    strings.push(
      runLength > maxLength
        ? { offset: start, encoding: 'utf16le', value, truncated: true }
        : { offset: start, encoding: 'utf16le', value },
    );
  };

  // Code units in the open run of each parity. A run ends at the first index of its parity that is not a
  // unit, and runs close in index order, as the strings are reported.
  let evenRun = 0;
  let oddRun = 0;
  const last = bytes.length - 1;
  let index = 0;
  for (; index + 1 < last; index += 2) {
    const middle = bytes[index + 1]!;
    const even = PRINTABLE[bytes[index]!]! & ZERO[middle]!;
    if (evenRun >= minLength && even === 0) close(index - 2 * evenRun, evenRun);
    evenRun = (evenRun + 1) & -even;
    const odd = PRINTABLE[middle]! & ZERO[bytes[index + 2]!]!;
    if (oddRun >= minLength && odd === 0) close(index + 1 - 2 * oddRun, oddRun);
    oddRun = (oddRun + 1) & -odd;
  }
  if (index < last) {
    // One even index left (odd length buffers end on an odd pair).
    const even = PRINTABLE[bytes[index]!]! & ZERO[bytes[index + 1]!]!;
    if (evenRun >= minLength && even === 0) close(index - 2 * evenRun, evenRun);
    evenRun = (evenRun + 1) & -even;
  }
  // Runs still open at the end, the earlier start first.
  const evenStart = bytes.length - (bytes.length & 1) - 2 * evenRun;
  const oddStart = bytes.length - 1 + (bytes.length & 1) - 2 * oddRun;
  const pending: [number, number][] = [];
  if (evenRun > 0) pending.push([evenStart, evenRun]);
  if (oddRun > 0) pending.push([oddStart, oddRun]);
  pending.sort((x, y) => x[0] - y[0]);
  for (const [start, runLength] of pending) if (runLength >= minLength) close(start, runLength);
  return { strings, count };
}

function mergeByOffset(
  left: readonly ExtractedString[],
  right: readonly ExtractedString[],
  limit: number,
): ExtractedString[] {
  const merged: ExtractedString[] = [];
  let l = 0;
  let r = 0;
  while (merged.length < limit && (l < left.length || r < right.length)) {
    const a = left[l];
    const b = right[r];
    if (a !== undefined && (b === undefined || a.offset <= b.offset)) {
      merged.push(a);
      l++;
    } else if (b !== undefined) {
      merged.push(b);
      r++;
    }
  }
  return merged;
}
