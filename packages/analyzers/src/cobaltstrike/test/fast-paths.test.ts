import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat, encodeSettings, sampleSettings, short, int } from '../../../test/builders/build-beacon.js';
import { findArtifactKitPayloads, type ArtifactKitPayload } from '../artifact-kit.js';
import { isPeAt } from '../pe-info.js';
import { isConfigPatternAt } from '../find-config-blocks.js';
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

/** The per-byte ArtifactKit search (the definition of the word-at-a-time one). */
function artifactKitReference(b: Uint8Array, maxPayloads = 8): ArtifactKitPayload[] {
  const u32 = (o: number): number => ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
  const decode = (start: number, size: number, key: Uint8Array): Uint8Array => {
    const out = new Uint8Array(Math.max(0, Math.min(size, b.length - start)));
    for (let i = 0; i < out.length; i++) out[i] = (b[start + i] as number) ^ (key[i & 3] as number);
    return out;
  };
  const out: ArtifactKitPayload[] = [];
  for (let i = 0; i + 24 <= b.length && out.length < maxPayloads; i++) {
    if (u32(i) !== i + 16) continue;
    const size = u32(i + 4);
    if (size < 64 || size > b.length - i - 16) continue;
    const key = b.subarray(i + 8, i + 12);
    if (key.every((k) => k === 0)) continue;
    const chosen = [i + 16, i + 20].find((start) => {
      const head = decode(start, Math.min(size, 1024), key);
      return head[0] === 0xfc || (head[0] === 0x90 && head[1] === 0x90) || isPeAt(head, 0);
    });
    if (chosen === undefined) continue;
    out.push({ offset: i, payloadOffset: chosen, size, key: Buffer.from(key).toString('hex'), payload: decode(chosen, size, key) });
    i = chosen + size - 1;
  }
  return out;
}

/** Key recovery as first written (strings for grams, `%` per byte): the definition of the faster one. */
function recoverKeyReference(masked: Uint8Array, checksum: number | null): { key: string; verified: boolean } | null {
  const known = [[0, 0], [1, 1], [2, 0], [3, 1], [4, 0], [6, 0], [8, 0], [9, 2], [10, 0], [11, 1], [12, 0], [13, 2]] as const;
  const prefix = [0, 1, 0, 1, 0].map((p, i) => (masked[i] as number) ^ p);
  const accept = (key: Uint8Array): { key: string; verified: boolean } | null => {
    const n = key.length;
    for (const [i, plain] of known) if (((masked[i] as number) ^ (key[i % n] as number)) !== plain) return null;
    const block = masked.map((v, i) => v ^ (key[i % n] as number));
    if (checksum !== null) return guardrailChecksum(block) + 1 === checksum ? { key: Buffer.from(key).toString('latin1'), verified: true } : null;
    return isConfigPatternAt(block, 0) ? { key: Buffer.from(key).toString('latin1'), verified: false } : null;
  };
  for (let n = 1; n <= 256; n++) {
    const start = Math.floor(masked.length / n) * n - n;
    const found = accept(masked.slice(start, start + n));
    if (found) return found;
  }
  for (let n = 1; n <= 256; n++) {
    const counts = new Map<string, number>();
    let best = '';
    let bestCount = 0;
    for (let i = 0; i + n <= masked.length; i += n) {
      let agrees = true;
      for (let j = 0; j < prefix.length && agrees; j++) agrees = masked[i + (j % n)] === prefix[j];
      if (!agrees) continue;
      const gram = Buffer.from(masked.subarray(i, i + n)).toString('latin1');
      const c = (counts.get(gram) ?? 0) + 1;
      counts.set(gram, c);
      if (c > bestCount) {
        bestCount = c;
        best = gram;
      }
    }
    if (bestCount < 2) continue;
    const found = accept(Uint8Array.from(Buffer.from(best, 'latin1')));
    if (found) return found;
  }
  return null;
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

  it('findArtifactKitPayloads finds what the per-byte search finds, at any alignment', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3000), fc.integer({ min: 60, max: 400 }), fc.integer({ min: 0, max: 0xffffffff }), fc.boolean(), fc.boolean()), { maxLength: 5 }),
        fc.nat(3),
        fc.integer({ min: 24, max: 4000 }),
        fc.nat(0xffff),
        (blocks, shift, length, seed) => {
          // Low-entropy background: many bytes equal their (offset + 16) low byte by chance.
          const b = new Uint8Array(length);
          let x = seed + 1;
          for (let i = 0; i < b.length; i++) b[i] = ((x = (x * 1103515245 + 12345) >>> 0) >>> 28) === 0 ? (i + 16) & 0xff : (x >>> 24) & 0x1f;
          for (const [at, size, key, shellcode, wide] of blocks) {
            if (at + 24 > length) continue;
            const k = [key & 0xff, (key >>> 8) & 0xff, (key >>> 16) & 0xff, key >>> 24];
            const header = [at + 16, size, 0, 0].flatMap((v) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]).slice(0, 8);
            b.set([...header, ...k].slice(0, Math.max(0, length - at)), at);
            const start = at + (wide ? 20 : 16);
            if (shellcode && start < length) b[start] = 0xfc ^ (k[0] as number);
          }
          const input = shifted(b, shift);
          expect(findArtifactKitPayloads(input)).toEqual(artifactKitReference(input));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('recovers the same environment key as the first implementation on damaged and ambiguous blocks', () => {
    const plainConfig = encodeSettings(sampleSettings({ host: 'guarded.example.test' }), 6144);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1500, max: 6144 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom('good', 'wrong', 'none'),
        fc.nat(0xffff),
        (key, junkFrom, alphabet, checksumKind, seed) => {
          const plain = plainConfig.slice();
          let x = seed + 1;
          // Junk from a small alphabet makes repeated grams and ties likely.
          for (let i = junkFrom; i < plain.length; i++) plain[i] = ((x = (x * 1103515245 + 12345) >>> 0) >>> 24) % alphabet;
          const masked = plain.map((v, i) => v ^ (key[i % key.length] as number));
          const checksum = checksumKind === 'none' ? null : guardrailChecksum(plain) + (checksumKind === 'good' ? 1 : 2);
          const guard = encodeSettings(checksum === null ? [short(6, 1)] : [short(6, 1), int(9, checksum)], 2048);
          const file = masked.map((v) => v ^ 0x2e);
          const guardFile = guard.map((v, j) => v ^ GUARD_XOR_KEY ^ (file[6143 - j] as number));
          const bytes = concat(file, guardFile);
          const got = unmaskGuardrails(bytes, 6144);
          const want = recoverKeyReference(masked, checksum);
          expect(got.info.environmentKey).toBe(want?.key ?? null);
          expect(got.info.checksumVerified).toBe(want?.verified ?? false);
        },
      ),
      { numRuns: 400 },
    );
  });
});
