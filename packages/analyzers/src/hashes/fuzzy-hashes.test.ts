import fc from 'fast-check';
import { native } from '@malpipe/native';
import { describe, expect, it } from 'vitest';
import { pseudoRandomBytes } from '@malpipe/analyzers/test/builders/pseudo-random';
import { fuzzyHashes, nativeFuzzyHashes } from './fuzzy-hashes.js';
import { ssdeepHash } from './ssdeep-hash.js';
import { lengthCapture, tlshHash } from './tlsh-hash.js';

// The addon builds in CI (g++ and node headers are there): its absence must fail CI rather than skip the proof.
const ci = process.env.CI === 'true';
const forcedOff = process.env.MALPIPE_NATIVE === '0';
if (ci && !forcedOff && nativeFuzzyHashes === undefined) throw new Error('@malpipe/native is not built; CI must build it');
const twin = nativeFuzzyHashes;
const lengthTwin = native?.tlshLengthCapture;

function reference(bytes: Uint8Array): { ssdeep: string; tlsh: string | null } {
  return { ssdeep: ssdeepHash(bytes), tlsh: tlshHash(bytes) };
}

/** Deterministic bytes with a tunable alphabet, so the inputs range from uniform noise to long runs. */
const bytesOf = (size: number, seed: number, alphabet: number): Uint8Array => pseudoRandomBytes(size, seed, alphabet);

// ssdeep picks its block size where 3 * 2^i * 64 crosses the input size; TLSH starts at 50 bytes.
const EDGE_SIZES = [
  ...Array.from({ length: 70 }, (_, n) => n),
  ...Array.from({ length: 12 }, (_, i) => 192 * 2 ** i).flatMap((size) => [size - 1, size, size + 1]),
];

describe.skipIf(twin === undefined)('native fuzzyHashes (C++) equals the TypeScript ssdeepHash and tlshHash', () => {
  const hash = twin as NonNullable<typeof twin>;

  it('on every edge size, for noise, text-like, two-symbol and zero-tailed inputs', () => {
    for (const size of EDGE_SIZES) {
      for (const alphabet of [256, 96, 2]) {
        const bytes = bytesOf(size, size * 7 + alphabet, alphabet);
        expect(hash(bytes), `size ${size}, alphabet ${alphabet}`).toEqual(reference(bytes));
      }
      // Trailing zeros leave the rolling hash at 0, which changes how ssdeep ends both digests.
      const tailed = bytesOf(size, size + 1, 256);
      tailed.fill(0, Math.max(0, size - 9));
      expect(hash(tailed), `size ${size}, zero tail`).toEqual(reference(tailed));
    }
  });

  it('on multi-megabyte inputs, where the small block sizes are dropped as the digest goes', () => {
    for (const [size, alphabet] of [[(1 << 20) + 7, 256], [3_000_001, 16], [2_500_000, 3]] as const) {
      const bytes = bytesOf(size, size, alphabet);
      expect(hash(bytes), `size ${size}, alphabet ${alphabet}`).toEqual(reference(bytes));
    }
  });

  it('on random inputs of many sizes and shapes', () => {
    const shaped = fc
      .tuple(
        fc.integer({ min: 0, max: 300_000 }),
        fc.integer({ min: 1, max: 0xffff_ffff }),
        fc.constantFrom(256, 128, 16, 3, 1),
        fc.integer({ min: 0, max: 64 }),
      )
      .map(([size, seed, alphabet, zeroTail]) => {
        const bytes = bytesOf(size, seed, alphabet);
        bytes.fill(0, Math.max(0, size - zeroTail));
        return bytes;
      });
    const input = fc.oneof(fc.uint8Array({ maxLength: 5000 }), shaped);
    fc.assert(
      fc.property(input, (bytes) => {
        expect(hash(bytes)).toEqual(reference(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('reads a subarray in place, at its offset and length', () => {
    const whole = bytesOf(10_000, 42, 256);
    const view = whole.subarray(1234, 8765);
    expect(hash(view)).toEqual(reference(view.slice()));
    expect(hash(Buffer.from(view.buffer, view.byteOffset, view.length))).toEqual(reference(view));
  });

  it('refuses what is not a Uint8Array', () => {
    const loose = hash as unknown as (value: unknown) => unknown;
    expect(() => loose('abc')).toThrow(TypeError);
    expect(() => loose(new Uint16Array(100))).toThrow(TypeError);
  });

  it('has the same TLSH length byte as the TypeScript formula at every step below 2^32', () => {
    const capture = lengthTwin as NonNullable<typeof lengthTwin>;
    // Each step of the (monotone) formula: the last length with each value, found by bisection.
    const max = 0xffff_ffff;
    let checked = 0;
    for (let value = lengthCapture(1); value < lengthCapture(max); value++) {
      let low = 1;
      let high = max;
      while (low < high) {
        const middle = Math.floor((low + high + 1) / 2);
        if (lengthCapture(middle) <= value) low = middle;
        else high = middle - 1;
      }
      for (const length of [low - 1, low, low + 1]) if (length >= 1) expect(capture(length), `length ${length}`).toBe(lengthCapture(length));
      checked++;
    }
    expect(checked).toBeGreaterThan(160);
    for (const length of [1, 50, 656, 657, 3199, 3200, max]) expect(capture(length)).toBe(lengthCapture(length));
  });
});

describe(fuzzyHashes.name, () => {
  it('gives the reference strings on whichever path is active', () => {
    const bytes = bytesOf(70_000, 2, 256);
    expect(fuzzyHashes(bytes)).toEqual(reference(bytes));
    expect(fuzzyHashes(new Uint8Array(0))).toEqual({ ssdeep: '3::', tlsh: null });
  });
});
