import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MAY_HOLD_INDICATOR, mayHoldIndicator } from '../ioc/ioc-analyzer.js';
import { extractStrings, type ExtractStringsOptions } from './extract-strings.js';
import { extractStringsBaseline } from './test/extract-strings-baseline.js';

/** Bytes a string scanner cares about: printable ASCII, tab, zero (UTF-16 high bytes) and a few others. */
const scannerByte = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constantFrom(0x09, 0x0a, 0x7f, 0x80, 0xff) },
);
/** Mixes ASCII runs, UTF-16LE runs and noise, so both encodings and both parities show up. */
const scannerInput = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.array(scannerByte, { maxLength: 40 }).map((bytes) => Uint8Array.from(bytes)),
      fc.string({ maxLength: 20 }).map((text) => Uint8Array.from(text, (char) => char.charCodeAt(0) & 0x7f)),
      fc.string({ maxLength: 20 }).map((text) => Uint8Array.from([...text].flatMap((char) => [char.charCodeAt(0) & 0x7f, 0]))),
    ),
    { maxLength: 12 },
  )
  .map((parts) => Uint8Array.from(parts.flatMap((part) => [...part])));

const options: fc.Arbitrary<ExtractStringsOptions> = fc.record(
  {
    minLength: fc.integer({ min: 1, max: 8 }),
    maxLength: fc.integer({ min: 1, max: 12 }),
    maxStrings: fc.integer({ min: 0, max: 6 }),
    encodings: fc.constantFrom<ExtractStringsOptions['encodings']>(['ascii'], ['utf16le'], ['ascii', 'utf16le']),
  },
  { requiredKeys: [] },
);

const holdsIndicator = (value: string): boolean => MAY_HOLD_INDICATOR.test(value);

describe('extractStrings against the pre-rewrite implementation', () => {
  test('gives the same extraction on random inputs and options', () => {
    fc.assert(
      fc.property(scannerInput, options, fc.boolean(), (bytes, opts, filtered) => {
        const withFilter = filtered ? { ...opts, filter: holdsIndicator } : opts;
        expect(extractStrings(bytes, withFilter)).toEqual(extractStringsBaseline(bytes, withFilter));
      }),
      { numRuns: 3000 },
    );
  });

  test('a byteFilter equivalent to a filter gives the same extraction without decoding rejected runs', () => {
    fc.assert(
      fc.property(scannerInput, options, (bytes, opts) => {
        expect(extractStrings(bytes, { ...opts, byteFilter: mayHoldIndicator })).toEqual(
          extractStringsBaseline(bytes, { ...opts, filter: holdsIndicator }),
        );
      }),
      { numRuns: 3000 },
    );
  });

  // A/B on real binaries: the largest shared libraries of the machine, as the ioc and strings analysers call it.
  const libraryDir = '/usr/lib/x86_64-linux-gnu';
  const libraries = (() => {
    try {
      return readdirSync(libraryDir)
        .filter((name) => name.includes('.so'))
        .map((name) => join(libraryDir, name))
        .filter((path) => statSync(path).isFile() && statSync(path).size > 200_000)
        .slice(0, 6);
    } catch {
      return [];
    }
  })();
  test.skipIf(libraries.length === 0)('gives the same extraction on system libraries', () => {
    for (const path of libraries) {
      const bytes = readFileSync(path);
      for (const opts of [{ maxStrings: 2000, maxLength: 1024 }, { maxStrings: 20_000 }]) {
        expect(extractStrings(bytes, opts), path).toEqual(extractStringsBaseline(bytes, opts));
      }
      expect(extractStrings(bytes, { maxStrings: 20_000, byteFilter: mayHoldIndicator }), path).toEqual(
        extractStringsBaseline(bytes, { maxStrings: 20_000, filter: holdsIndicator }),
      );
    }
  });
});

describe(mayHoldIndicator.name, () => {
  const printable = fc.string({ unit: fc.constantFrom(...'.:@vVeErRsSiIoOnN0123456789abcdefABCDEFxyz \t-_'), maxLength: 80 });

  test('agrees with MAY_HOLD_INDICATOR on ASCII and UTF-16LE bytes, at any offset', () => {
    fc.assert(
      fc.property(printable, fc.integer({ min: 0, max: 3 }), (text, pad) => {
        const ascii = Uint8Array.from([...new Array<number>(pad).fill(0x90), ...Array.from(text, (char) => char.charCodeAt(0))]);
        const utf16 = Uint8Array.from([...new Array<number>(pad).fill(0x90), ...[...text].flatMap((char) => [char.charCodeAt(0), 0])]);
        const expected = MAY_HOLD_INDICATOR.test(text);
        expect(mayHoldIndicator(ascii, pad, text.length, 1)).toBe(expected);
        expect(mayHoldIndicator(utf16, pad, text.length, 2)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });

  test('examples', () => {
    const check = (text: string): boolean => mayHoldIndicator(Buffer.from(text, 'latin1'), 0, text.length, 1);
    expect(check('FileVERSION')).toBe(true);
    expect(check('versio')).toBe(false);
    expect(check('0123456789abcdef0123456789ABCDE')).toBe(false);
    expect(check('0123456789abcdef0123456789ABCDEF')).toBe(true);
    expect(check('plain words only')).toBe(false);
    expect(check('a@b')).toBe(true);
  });
});
