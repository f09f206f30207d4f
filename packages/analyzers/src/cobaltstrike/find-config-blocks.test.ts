import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { xorshift32 } from '@malpipe/analyzers/test/builders/pseudo-random';
import { MAX_ONE_PROBES, nativeScanBeaconStructures, scanBeaconStructures, scanBeaconStructuresTs, type StructureHits } from './find-config-blocks.js';

// The addon builds in CI (g++ and node headers are there): its absence must fail CI rather than skip the proof.
const ci = process.env.CI === 'true';
const forcedOff = process.env.MALPIPE_NATIVE === '0';
if (ci && !forcedOff && nativeScanBeaconStructures === undefined) throw new Error('@malpipe/native is not built; CI must build it');
const twin = nativeScanBeaconStructures;

/** Offsets of the config header (record 1, then record 2 at +8); -1 marks bytes the pattern leaves free. */
const HEADER = [0, 1, 0, 1, 0, -1, -1, -1, 0, 2, 0, 1];

interface Case {
  readonly bytes: Uint8Array;
  readonly from: number;
  readonly to: number;
  readonly keys: readonly number[] | null;
  readonly ones: boolean;
  readonly max: number;
}

type Fill = 'zero' | 'random' | 'small' | 'ones' | 'headers' | 'pages';

/** Memory-like backgrounds: zero, random, small integers, u32 1 everywhere, headers everywhere, or 256-byte pages of each. */
function fillBytes(b: Uint8Array, fill: Fill, random: () => number): void {
  const kinds: Fill[] = ['zero', 'random', 'small', 'ones'];
  for (let i = 0; i < b.length; i++) {
    const kind = fill === 'pages' ? (kinds[(random() >>> 3) % 4] as Fill) : fill;
    const end = fill === 'pages' ? Math.min(b.length, i + 256) : b.length;
    for (; i < end; i++) {
      if (kind === 'random') b[i] = random() & 0xff;
      else if (kind === 'small') b[i] = i % 4 === 0 ? random() & 3 : i % 4 === 1 ? random() & 1 : 0;
      else if (kind === 'ones') b[i] = i % 4 === 0 ? 1 : 0;
      else if (kind === 'headers') b[i] = 0x2e ^ (HEADER[i % 12] === -1 ? 7 : (HEADER[i % 12] as number));
      else b[i] = 0;
    }
    i--;
  }
}

// Mostly whole headers and u32 1s at aligned offsets after 8 zero bytes (hits), sometimes cut or shifted (near misses).
const plant = fc.record({
  at: fc.nat(),
  key: fc.integer({ min: 0, max: 255 }),
  length: fc.oneof({ arbitrary: fc.constant(12), weight: 3 }, { arbitrary: fc.integer({ min: 4, max: 11 }), weight: 1 }),
});
const one = fc.record({
  at: fc.nat(),
  aligned: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
  zeros: fc.oneof({ arbitrary: fc.constant(8), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 7 }), weight: 1 }),
});

/** Random buffers (at every byte offset mod 8 in their ArrayBuffer) with planted headers, whole or cut, and u32 1s. */
const caseArb: fc.Arbitrary<Case> = fc
  .record({
    size: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 1200 })),
    shift: fc.integer({ min: 0, max: 7 }),
    fill: fc.constantFrom<Fill>('zero', 'random', 'small', 'ones', 'headers', 'pages'),
    seed: fc.integer(),
    headers: fc.array(plant, { maxLength: 6 }),
    ones: fc.array(one, { maxLength: 6 }),
    from: fc.oneof(fc.constant(0), fc.integer({ min: -24, max: 64 }), fc.integer({ min: -24, max: 1300 })),
    // NaN stands for the buffer length; a delta from `from` keeps most ranges non-empty.
    to: fc.oneof({ arbitrary: fc.constant(Number.NaN), weight: 2 }, { arbitrary: fc.integer({ min: -24, max: 1300 }), weight: 1 }),
    toIsDelta: fc.boolean(),
    keys: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 3 }), { freq: 3 }),
    plantedKeys: fc.integer({ min: 0, max: 2 }),
    withOnes: fc.boolean(),
    max: fc.oneof(fc.constant(4096), fc.integer({ min: -1, max: 4 })),
  })
  .map((c) => {
    const bytes = new Uint8Array(c.size + c.shift).subarray(c.shift);
    const random = xorshift32(c.seed);
    fillBytes(bytes, c.fill, random);
    if (bytes.length > 0) {
      for (const h of c.headers) {
        const at = h.at % bytes.length;
        for (let i = 0; i < h.length && at + i < bytes.length; i++) if ((HEADER[i] as number) >= 0) bytes[at + i] = h.key ^ (HEADER[i] as number);
      }
      for (const o of c.ones) {
        const at = (o.aligned ? o.at & ~3 : o.at) % bytes.length;
        for (let i = 0; i < 12 && at + i < bytes.length; i++) bytes[at + i] = i === o.zeros ? 1 : 0;
      }
    }
    // Keys drawn from the planted ones half of the time, so key filtering keeps and drops real hits.
    const keys = c.keys === null ? null : [...c.keys, ...c.headers.slice(0, c.plantedKeys).map((h) => h.key)];
    const to = Number.isNaN(c.to) ? bytes.length : c.toIsDelta ? c.from + c.to : c.to;
    return { bytes, from: c.from, to, keys, ones: c.withOnes, max: c.max };
  });

function plain(hits: StructureHits): { configs: number[]; keys: number[]; ones: number[] } {
  return { configs: hits.configs.map((c) => c.offset), keys: hits.configs.map((c) => c.xorKey), ones: hits.ones };
}

function keyMask(keys: readonly number[] | null): Uint8Array | null {
  if (keys === null) return null;
  const mask = new Uint8Array(256);
  for (const k of keys) mask[k] = 1;
  return mask;
}

describe.skipIf(twin === undefined)('native scanBeaconStructures (C++) equals scanBeaconStructuresTs', () => {
  const native = twin as NonNullable<typeof twin>;

  it('returns the same configs and runtime probes on random buffers, ranges, keys and caps (SIMD and scalar loops)', () => {
    let nonEmpty = 0;
    let capped = 0;
    fc.assert(
      fc.property(caseArb, (c) => {
        const keys = c.keys === null ? null : new Set(c.keys);
        const expected = plain(scanBeaconStructuresTs(c.bytes, c.from, c.to, keys, c.ones, c.max));
        expect(plain(scanBeaconStructures(c.bytes, c.from, c.to, keys, c.ones, c.max))).toEqual(expected);
        const scalar = native(c.bytes, c.from, c.to, keyMask(c.keys), c.ones, c.max, MAX_ONE_PROBES, true);
        expect({ configs: Array.from(scalar.configs), ones: Array.from(scalar.ones) }).toEqual({ configs: expected.configs, ones: expected.ones });
        if (expected.configs.length + expected.ones.length > 0) nonEmpty++;
        if (c.max > 0 && expected.configs.length === c.max) capped++;
      }),
      { numRuns: 12_000 },
    );
    // The generator must keep producing hits and reaching caps, or the equality above proves little.
    expect(nonEmpty).toBeGreaterThan(2_000);
    expect(capped).toBeGreaterThan(150);
  });

  it('agrees on 64 KiB memory-like images with beacons headers and runtime arrays at random offsets', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), fc.constantFrom(1, 3, 4096), (seed, offsets, max) => {
        const bytes = new Uint8Array(64 * 1024);
        const random = xorshift32(seed);
        fillBytes(bytes, 'pages', random);
        for (const [n, offset] of offsets.entries()) {
          const at = offset % (bytes.length - 32);
          if (n % 2 === 0) for (let i = 0; i < 12; i++) bytes[at + i] = (offset & 0xff) ^ Math.max(0, HEADER[i] as number);
          else bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], at & ~3);
        }
        const expected = plain(scanBeaconStructuresTs(bytes, 0, bytes.length, null, true, max));
        expect(plain(scanBeaconStructures(bytes, 0, bytes.length, null, true, max))).toEqual(expected);
        expect(expected.configs.length + expected.ones.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects arguments that are not what the TypeScript wrapper passes', () => {
    const bytes = new Uint8Array(64);
    expect(() => native(bytes, 0.5, 64, null, true, 1, 1)).toThrow(RangeError);
    expect(() => native(bytes, 0, 64, new Uint8Array(3), true, 1, 1)).toThrow(TypeError);
    expect(() => native(new Uint16Array(4) as unknown as Uint8Array, 0, 64, null, true, 1, 1)).toThrow(TypeError);
  });
});

describe(scanBeaconStructures.name, () => {
  // x64 runtime arrays start 16 bytes before their probe; the header below sits at an odd offset.
  const bytes = new Uint8Array(4096);
  bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0], 1000);
  HEADER.forEach((d, i) => {
    if (d >= 0) bytes[2001 + i] = 0x69 ^ d;
  });
  bytes.set([1, 0, 0, 0], 3000); // a u32 1 after non-zero bytes is no runtime probe
  bytes[2999] = 7;

  it('finds headers with any key and u32 1 after 8 zero bytes, on whichever path is active', () => {
    expect(plain(scanBeaconStructures(bytes, 0, bytes.length, null, true))).toEqual({ configs: [2001], keys: [0x69], ones: [1008] });
    expect(plain(scanBeaconStructures(bytes, 0, bytes.length, new Set([0x2e]), false))).toEqual({ configs: [], keys: [], ones: [] });
    expect(plain(scanBeaconStructures(bytes, 2002, bytes.length, null, true))).toEqual({ configs: [], keys: [], ones: [] });
    // Probes up to 16 bytes past `to`, so an x64 array starting just before `to` is still seen.
    expect(scanBeaconStructures(bytes, 0, 993, null, true).ones).toEqual([1008]);
    expect(scanBeaconStructures(bytes, 0, 992, null, true).ones).toEqual([]);
  });

  it('stops at maxCandidates: no later config or probe is reported', () => {
    const many = new Uint8Array(600);
    fillBytes(many, 'headers', xorshift32(1));
    many.set([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], 8);
    const hits = scanBeaconStructures(many, 0, many.length, null, true, 3);
    expect(hits.configs.map((c) => c.offset)).toEqual([24, 36, 48]);
    expect(hits.ones).toEqual([16]);
    expect(scanBeaconStructures(many, 0, many.length, null, true, 0)).toEqual({ configs: [], ones: [] });
  });
});
