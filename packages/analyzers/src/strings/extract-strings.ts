/**
 * Printable-string extraction, in the manner of `strings -a` and `strings -el`: one linear pass for both
 * encodings, a lookup table per byte, and no regular expression over the buffer, so 100 MB stays cheap.
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
  /**
   * Like `filter`, but called before any string is made, with the run's (possibly truncated) characters as
   * `units` bytes from `start`, `step` apart (1 for ASCII, 2 for UTF-16LE): rejecting most runs here saves
   * decoding them. Applied before `filter` when both are given.
   */
  readonly byteFilter?: ByteFilter;
}

export type ByteFilter = (bytes: Uint8Array, start: number, units: number, step: 1 | 2) => boolean;

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
  const settings: ScanSettings = { minLength, maxLength, maxStrings, filter: options.filter, byteFilter: options.byteFilter };

  const ascii = new RunCollector(bytes, 'ascii', encodings.includes('ascii'), settings);
  const utf16 = new RunCollector(bytes, 'utf16le', encodings.includes('utf16le'), settings);
  scan(bytes, minLength, ascii, utf16);

  // Each collector keeps up to maxStrings on its own, so the merge can pick the first maxStrings by offset.
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
  readonly byteFilter: ByteFilter | undefined;
}

/** 1 for a zero byte (the high byte of an ASCII UTF-16LE code unit), else 0. */
const ZERO = new Uint8Array(256);
ZERO[0] = 1;

/** Receives the runs of one encoding in offset order, as the scan closes them. */
class RunCollector {
  readonly strings: ExtractedString[] = [];
  count = 0;
  readonly #bytes: Uint8Array;
  readonly #encoding: StringEncoding;
  readonly #enabled: boolean;
  readonly #settings: ScanSettings;
  /** UTF-16 code units gathered for decoding; no value is longer than half the buffer. */
  readonly #units: Uint8Array;

  constructor(bytes: Uint8Array, encoding: StringEncoding, enabled: boolean, settings: ScanSettings) {
    this.#bytes = bytes;
    this.#encoding = encoding;
    this.#enabled = enabled;
    this.#settings = settings;
    this.#units = new Uint8Array(encoding === 'utf16le' && enabled ? Math.min(settings.maxLength, (bytes.length >> 1) + 1) : 0);
  }

  /** A run of `runLength` characters starting at byte `start`, already known to be at least minLength long. */
  close(start: number, runLength: number): void {
    if (!this.#enabled) return;
    const { maxLength, maxStrings, filter, byteFilter } = this.#settings;
    const kept = Math.min(runLength, maxLength);
    const step = this.#encoding === 'ascii' ? 1 : 2;
    if (byteFilter !== undefined && !byteFilter(this.#bytes, start, kept, step)) return;
    // Without a string filter, strings past the cap are only counted, never decoded.
    if (filter === undefined && this.strings.length >= maxStrings) {
      this.count++;
      return;
    }
    let value: string;
    if (step === 1) {
      value = LATIN1.decode(this.#bytes.subarray(start, start + kept));
    } else {
      for (let unit = 0; unit < kept; unit++) this.#units[unit] = this.#bytes[start + unit * 2]!;
      value = LATIN1.decode(this.#units.subarray(0, kept));
    }
    if (filter !== undefined && !filter(value)) return;
    this.count++;
    if (this.strings.length >= maxStrings) return;
    const encoding = this.#encoding;
    this.strings.push(runLength > maxLength ? { offset: start, encoding, value, truncated: true } : { offset: start, encoding, value });
  }
}

/*
 * One pass for both encodings, two bytes per step. Runs are counted branch-free (`run = (run + 1) & -flag`)
 * and the loop branches only where a run long enough to report ends: in binary data printable and
 * non-printable bytes alternate unpredictably, and a branch per byte on them costs more than the lookups.
 *
 * UTF-16LE runs are runs of printable ASCII code units (low byte printable, high byte zero) starting at an
 * even or an odd offset: one open run per byte parity. Runs of the two parities never overlap (inside a run,
 * the bytes of the other parity are zeros, which are not printable), so each encoding's runs close in offset
 * order.
 */
function scan(bytes: Uint8Array, minLength: number, ascii: RunCollector, utf16: RunCollector): void {
  const length = bytes.length;
  const last = length - 1;
  let run = 0;
  let evenRun = 0;
  let oddRun = 0;
  let index = 0;
  for (; index + 1 < last; index += 2) {
    const low = bytes[index]!;
    const middle = bytes[index + 1]!;
    const lowPrintable = PRINTABLE[low]!;
    const middlePrintable = PRINTABLE[middle]!;
    if (run >= minLength && lowPrintable === 0) ascii.close(index - run, run);
    run = (run + 1) & -lowPrintable;
    if (run >= minLength && middlePrintable === 0) ascii.close(index + 1 - run, run);
    run = (run + 1) & -middlePrintable;
    const even = lowPrintable & ZERO[middle]!;
    if (evenRun >= minLength && even === 0) utf16.close(index - 2 * evenRun, evenRun);
    evenRun = (evenRun + 1) & -even;
    const odd = middlePrintable & ZERO[bytes[index + 2]!]!;
    if (oddRun >= minLength && odd === 0) utf16.close(index + 1 - 2 * oddRun, oddRun);
    oddRun = (oddRun + 1) & -odd;
  }
  if (index < last) {
    // One even index left (odd length buffers end on an odd pair).
    const even = PRINTABLE[bytes[index]!]! & ZERO[bytes[index + 1]!]!;
    if (evenRun >= minLength && even === 0) utf16.close(index - 2 * evenRun, evenRun);
    evenRun = (evenRun + 1) & -even;
  }
  // The last one or two bytes, for ASCII.
  for (; index < length; index++) {
    const printable = PRINTABLE[bytes[index]!]!;
    if (run >= minLength && printable === 0) ascii.close(index - run, run);
    run = (run + 1) & -printable;
  }
  if (run >= minLength) ascii.close(length - run, run);
  // UTF-16 runs still open at the end, the earlier start first.
  const evenStart = length - (length & 1) - 2 * evenRun;
  const oddStart = length - 1 + (length & 1) - 2 * oddRun;
  if (evenRun > 0 && oddRun > 0 && oddStart < evenStart) {
    if (oddRun >= minLength) utf16.close(oddStart, oddRun);
    if (evenRun >= minLength) utf16.close(evenStart, evenRun);
  } else {
    if (evenRun >= minLength) utf16.close(evenStart, evenRun);
    if (oddRun >= minLength) utf16.close(oddStart, oddRun);
  }
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
