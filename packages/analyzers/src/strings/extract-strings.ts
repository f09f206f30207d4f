/**
 * Printable-string extraction, in the manner of `strings -a` and `strings -el`: one sweep per encoding that
 * probes a fraction of the bytes (see scanAscii), a lookup table per byte, and no regular expression over the
 * buffer, so 100 MB stays cheap.
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

  const ascii = new RunCollector(bytes, 'ascii', settings);
  const utf16 = new RunCollector(bytes, 'utf16le', settings);
  if (encodings.includes('ascii')) scanAscii(bytes, minLength, ascii);
  if (encodings.includes('utf16le')) scanUtf16le(bytes, minLength, utf16);

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

/** Receives the runs of one encoding in offset order, as its sweep finds them. */
class RunCollector {
  readonly strings: ExtractedString[] = [];
  count = 0;
  readonly #bytes: Uint8Array;
  readonly #encoding: StringEncoding;
  readonly #settings: ScanSettings;
  /** UTF-16 code units gathered for decoding; no value is longer than half the buffer. */
  readonly #units: Uint8Array;

  constructor(bytes: Uint8Array, encoding: StringEncoding, settings: ScanSettings) {
    this.#bytes = bytes;
    this.#encoding = encoding;
    this.#settings = settings;
    this.#units = new Uint8Array(encoding === 'utf16le' ? Math.min(settings.maxLength, (bytes.length >> 1) + 1) : 0);
  }

  /** A run of `runLength` characters starting at byte `start`, already known to be at least minLength long. */
  close(start: number, runLength: number): void {
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
 * Runs are found by probing, not by looking at every byte. A run of at least minLength printable bytes covers a
 * position that is a multiple of minLength, so only those positions are tested; a printable probe is widened
 * to its whole run, and probing resumes after it. A UTF-16LE run of at least minLength code units (low byte
 * printable, high byte zero; at an even or an odd offset) spans 2 * minLength bytes, so probes 2 * minLength
 * apart each land on a low or a high byte of any such run. Each byte is read at most about twice, and a
 * quarter of them (an eighth for UTF-16) when printable bytes are rare, as in code and tables.
 *
 * Runs of one encoding are disjoint (UTF-16 runs of the two parities cannot overlap: inside a run the bytes of
 * the other parity are zeros, which are not printable), so each sweep reports its runs in offset order.
 */
function scanAscii(bytes: Uint8Array, minLength: number, out: RunCollector): void {
  const length = bytes.length;
  let probe = minLength - 1;
  while (probe < length) {
    if (PRINTABLE[bytes[probe]!] === 0) {
      probe += minLength;
      continue;
    }
    // Widening left stops at the non-printable byte that ended the previous run: no run is reported twice.
    let start = probe;
    while (start > 0 && PRINTABLE[bytes[start - 1]!] === 1) start--;
    let end = probe + 1;
    while (end < length && PRINTABLE[bytes[end]!] === 1) end++;
    if (end - start >= minLength) out.close(start, end - start);
    probe = nextProbe(end, minLength);
  }
}

function scanUtf16le(bytes: Uint8Array, minLength: number, out: RunCollector): void {
  const length = bytes.length;
  const stride = 2 * minLength;
  let probe = stride - 1;
  while (probe < length) {
    const byte = bytes[probe]!;
    // The low byte of a code unit covering the probe, if any.
    let unit: number;
    if (byte === 0 && PRINTABLE[bytes[probe - 1]!] === 1) unit = probe - 1;
    else if (PRINTABLE[byte] === 1 && bytes[probe + 1] === 0) unit = probe;
    else {
      probe += stride;
      continue;
    }
    let start = unit;
    while (start >= 2 && bytes[start - 1] === 0 && PRINTABLE[bytes[start - 2]!] === 1) start -= 2;
    let end = unit + 2;
    while (end + 1 < length && bytes[end + 1] === 0 && PRINTABLE[bytes[end]!] === 1) end += 2;
    const units = (end - start) >> 1;
    if (units >= minLength) out.close(start, units);
    probe = nextProbe(end, stride);
  }
}

/** The first probe position (one less than a multiple of `stride`) at or after `from`. */
function nextProbe(from: number, stride: number): number {
  return from - (from % stride) + stride - 1;
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
