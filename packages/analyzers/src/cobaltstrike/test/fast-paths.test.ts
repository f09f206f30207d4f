import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat, encodeSettings, sampleSettings, short, int } from '../../../test/builders/build-beacon.js';
import { DEFAULT_XOR_KEYS, rankConfigCandidates, type ConfigCandidate } from '../find-config-blocks.js';
import { GUARD_XOR_KEY, findGuardOffsets, guardrailChecksum, unmaskGuardrails } from '../guardrails.js';
import { decodeFeedbackXor } from '../sleeve.js';

// The word-at-a-time and skip-the-pass versions of these stages are checked against the plain per-byte definitions.

/** Per-dword feedback XOR read through a DataView (the definition). */
function feedbackXorReference(bytes: Uint8Array, start: number, nonce: number, size: number): Uint8Array {
  const available = Math.max(0, Math.min(size, bytes.length - start));
  const out = new Uint8Array(available);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let prev = nonce >>> 0;
  let k = 0;
  for (; k + 4 <= available; k += 4) {
    const enc = view.getUint32(start + k, true);
    new DataView(out.buffer).setUint32(k, (enc ^ prev) >>> 0, true);
    prev = enc;
  }
  for (let j = 0; k < available; k++, j++) out[k] = (bytes[start + k] as number) ^ ((prev >>> (8 * j)) & 0xff);
  return out;
}

/** Ranking with the padding count always taken, per byte. */
function rankReference(b: Uint8Array, candidates: readonly ConfigCandidate[]): ConfigCandidate[] {
  const frequency = new Map<number, number>();
  for (let i = 0; i + 3 < b.length; i += 4) {
    const k = b[i] as number;
    if (b[i + 1] === k && b[i + 2] === k && b[i + 3] === k) frequency.set(k, (frequency.get(k) ?? 0) + 1);
  }
  const rank = (k: number): number => {
    const d = DEFAULT_XOR_KEYS.indexOf(k);
    return d >= 0 ? -1_000_000_000 + d : -(frequency.get(k) ?? 0);
  };
  return [...candidates].sort((x, y) => rank(x.xorKey) - rank(y.xorKey) || x.offset - y.offset);
}

const GUARD_STARTS = [
  [0, 5, 0, 1, 0, 2],
  [0, 6, 0, 1, 0, 2],
  [0, 7, 0, 1, 0, 2],
  [0, 8, 0, 2, 0, 4],
];

function guardOffsetsReference(b: Uint8Array, maxHits = 16): number[] {
  const hits: number[] = [];
  for (let g = 6144; g <= b.length - 2048 && hits.length < maxHits; g++) {
    if (GUARD_STARTS.some((s) => s.every((v, j) => ((b[g + j] as number) ^ (b[g - 1 - j] as number) ^ GUARD_XOR_KEY) === v))) hits.push(g);
  }
  return hits;
}

/** A copy of `bytes` starting `shift` bytes into a fresh buffer (to test unaligned views). */
function shifted(bytes: Uint8Array, shift: number): Uint8Array {
  const backing = new Uint8Array(bytes.length + shift);
  backing.set(bytes, shift);
  return backing.subarray(shift);
}

describe('fast paths match their definitions', () => {
  it('decodeFeedbackXor at any start, size and alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(11), fc.nat(400), fc.nat(3), fc.integer({ min: 0, max: 0xffffffff }), (bytes, start, size, shift, nonce) => {
        const input = shifted(bytes, shift);
        expect(decodeFeedbackXor(input, start, nonce, size)).toEqual(feedbackXorReference(input, start, nonce, size));
        // The input is never written to.
        expect(input).toEqual(bytes);
      }),
      { numRuns: 3000 },
    );
  });

  it('rankConfigCandidates orders like the always-counting definition', () => {
    const keyArb = fc.constantFrom(0x69, 0x2e, 0x00, 0x11, 0x22, 0x33, 0xcc);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(255), keyArb, fc.nat(6)), { maxLength: 40 }),
        fc.array(fc.record({ offset: fc.nat(300), xorKey: keyArb }), { maxLength: 12 }),
        fc.nat(3),
        (runs, candidates, shift) => {
          // Runs of a key (encoded padding) at random places, some aligned and some not.
          const b = new Uint8Array(1024 + 13);
          for (const [at, key, words] of runs) b.fill(key, at * 4 + (words % 3), at * 4 + (words % 3) + words * 4);
          const input = shifted(b, shift);
          expect(rankConfigCandidates(input, candidates)).toEqual(rankReference(input, candidates));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('guardrailChecksum equals the per-byte reduction', () => {
    const reference = (block: Uint8Array): number => {
      let sum = 0;
      for (let i = 0; i < block.length; i++) sum = (sum + (block[i] as number) * ((i % 3) + 1)) % 99_999_999;
      return sum;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 7000 }), (block) => {
        expect(guardrailChecksum(block)).toBe(reference(block));
      }),
      { numRuns: 300 },
    );
    // Past 1 MiB the running sum is reduced inside the loop too.
    const big = new Uint8Array(3 * 1024 * 1024 + 5).fill(0xff);
    expect(guardrailChecksum(big)).toBe(reference(big));
  });

  it('findGuardOffsets finds every planted guard start at any alignment', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(12_000), fc.nat(3)), { maxLength: 6 }), fc.nat(3), fc.nat(0xffff), (plants, shift, seed) => {
        const b = new Uint8Array(20_000);
        let x = seed + 1;
        for (let i = 0; i < b.length; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
        for (const [at, which] of plants) {
          const g = 6144 + at;
          const start = GUARD_STARTS[which] as number[];
          for (let j = 0; j < 6; j++) b[g + j] = (start[j] as number) ^ GUARD_XOR_KEY ^ (b[g - 1 - j] as number);
        }
        const input = shifted(b, shift);
        expect(findGuardOffsets(input)).toEqual(guardOffsetsReference(input));
      }),
      { numRuns: 300 },
    );
  });

  it('recovers the environment key when the padding at the end of the block is overwritten', () => {
    const key = Buffer.from('desktop-q1w2e3', 'latin1');
    const plain = encodeSettings(sampleSettings({ host: 'guarded.example.test' }), 6144);
    // Junk after the config (as newer builds leave it): the last n-gram is no longer the key.
    for (let i = 4000; i < plain.length; i++) plain[i] = (i * 131 + 7) & 0xff;
    const masked = plain.map((v, i) => v ^ 0x2e ^ (key[i % key.length] as number));
    const guard = encodeSettings([short(6, 1), int(9, guardrailChecksum(plain) + 1)], 2048);
    const guardFile = guard.map((v, j) => v ^ GUARD_XOR_KEY ^ (masked[6143 - j] as number));
    const bytes = concat(new Uint8Array(64), masked, guardFile, new Uint8Array(64));
    const [offset] = findGuardOffsets(bytes);
    expect(offset).toBe(64 + 6144);
    const unmasked = unmaskGuardrails(bytes, offset as number);
    expect(unmasked.info.environmentKey).toBe('desktop-q1w2e3');
    expect(unmasked.info.checksumVerified).toBe(true);
    expect(unmasked.block).toEqual(plain);
  });
});
