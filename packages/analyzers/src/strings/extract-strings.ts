/**
 * Printable-string extraction, in the manner of `strings -a` and `strings -el`: one linear pass per
 * encoding, a lookup table per byte, and no regular expression over the buffer, so 100 MB stays cheap.
 */

export const STRING_ENCODINGS = ['ascii', 'utf16le'] as const;
export type StringEncoding = (typeof STRING_ENCODINGS)[number];

export interface ExtractedString {
  /** Byte offset of the first character in the buffer. */
  readonly offset: number;
  readonly encoding: StringEncoding;
  readonly value: string;
  /** Set when the run was longer than `maxLength`: `value` holds its first `maxLength` characters. */
  readonly truncated?: true;
}

export interface ExtractStringsOptions {
  /** Shortest run reported, in characters. Default 4. */
  readonly minLength?: number;
  /** Longest value kept, in characters; longer runs are cut and flagged. Default 4096. */
  readonly maxLength?: number;
  /** Strings kept in total (all encodings); counting goes on past it. Default 20 000. */
  readonly maxStrings?: number;
  /** Default both. */
  readonly encodings?: readonly StringEncoding[];
  /** Keeps only the runs it accepts (called with the possibly truncated value); the others are not counted. */
  readonly filter?: (value: string) => boolean;
}

export interface StringsExtraction {
  /** The first `maxStrings` strings in offset order. */
  readonly strings: readonly ExtractedString[];
  /** Every run found (and accepted by `filter`) per encoding, including those past `maxStrings`. */
  readonly counts: Readonly<Record<StringEncoding, number>>;
  /** True when some strings were counted but not kept. */
  readonly truncated: boolean;
}

export const DEFAULT_MIN_STRING_LENGTH = 4;
export const DEFAULT_MAX_STRING_LENGTH = 4096;
export const DEFAULT_MAX_STRINGS = 20_000;

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
export function extractStrings(bytes: Uint8Array, options: ExtractStringsOptions = {}): StringsExtraction {
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

function scanAscii(bytes: Uint8Array, { minLength, maxLength, maxStrings, filter }: ScanSettings): ScanResult {
  const strings: ExtractedString[] = [];
  let count = 0;
  const length = bytes.length;
  let index = 0;
  while (index < length) {
    // Skip non-printable bytes quickly, then measure the printable run.
    while (index < length && PRINTABLE[bytes[index]!] === 0) index++;
    const start = index;
    while (index < length && PRINTABLE[bytes[index]!] === 1) index++;
    const runLength = index - start;
    if (runLength < minLength) continue;
    // Without a filter, strings past the cap are only counted, never decoded.
    if (filter === undefined && strings.length >= maxStrings) {
      count++;
      continue;
    }
    const kept = Math.min(runLength, maxLength);
    const value = LATIN1.decode(bytes.subarray(start, start + kept));
    if (filter !== undefined && !filter(value)) continue;
    count++;
    if (strings.length >= maxStrings) continue;
    strings.push(
      runLength > maxLength
        ? { offset: start, encoding: 'ascii', value, truncated: true }
        : { offset: start, encoding: 'ascii', value },
    );
  }
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

  const close = (start: number, end: number): void => {
    const runLength = (end - start) >> 1;
    if (runLength < minLength) return;
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

  // Open run start per parity (-1: none). The zero high byte is tested first: it is rare in most data.
  let evenStart = -1;
  let oddStart = -1;
  const last = bytes.length - 1;
  for (let index = 0; index < last; index++) {
    const unit = bytes[index + 1] === 0 && PRINTABLE[bytes[index]!] === 1;
    if ((index & 1) === 0) {
      if (unit) {
        if (evenStart < 0) evenStart = index;
      } else if (evenStart >= 0) {
        close(evenStart, index);
        evenStart = -1;
      }
    } else if (unit) {
      if (oddStart < 0) oddStart = index;
    } else if (oddStart >= 0) {
      close(oddStart, index);
      oddStart = -1;
    }
  }
  // A run still open at the end: its last code unit is the last complete pair of its parity.
  const end = bytes.length;
  const pending = [evenStart, oddStart].filter((start) => start >= 0).sort((x, y) => x - y);
  for (const start of pending) close(start, start + (((end - start) >> 1) << 1));
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
