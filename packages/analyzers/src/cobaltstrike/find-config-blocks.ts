import { native } from '@malpipe/native';

/**
 * Key-agnostic search for XOR'd config blocks. The block always starts with record 1 (`00 01 00 01 00 02 ..`) and
 * record 2 at +8 (`00 02 00 01`), each byte XOR'd with one key k, so at a hit: b[p] = k, b[p+1] = k^1,
 * b[p+2] = k, b[p+3] = k^1, b[p+4] = k, then k, k^2, k, k^1 at +8. Checking relations instead of literal
 * needles finds every key in one pass (dissect makes one pass per key). Bytes 5-7 are not checked: the first
 * record's length field is non-standard in some builds (S1 sample 5cd19717, commit dd55e64).
 *
 * Every run of the pattern has b[i] ^ b[i+1] = 1 for i in p..p+3, so testing every 4th byte sees every hit.
 */
export const CONFIG_PATTERN_LENGTH = 12;

/** The XOR keys of CS 3.x (0x69) and 4.x (0x2e), then plain (0x00): tried before all others. */
export const DEFAULT_XOR_KEYS: readonly number[] = [0x69, 0x2e, 0x00];

export function isConfigPatternAt(b: Uint8Array, p: number): boolean {
  if (p < 0 || p + CONFIG_PATTERN_LENGTH > b.length) return false;
  const k = b[p] as number;
  const k1 = k ^ 1;
  return (
    b[p + 1] === k1 &&
    b[p + 2] === k &&
    b[p + 3] === k1 &&
    b[p + 4] === k &&
    b[p + 8] === k &&
    b[p + 9] === (k ^ 2) &&
    b[p + 10] === k &&
    b[p + 11] === k1
  );
}

export interface ConfigCandidate {
  readonly offset: number;
  readonly xorKey: number;
}

export interface StructureHits {
  readonly configs: ConfigCandidate[];
  /**
   * Aligned positions q holding a u32 of value 1 after 8 zero bytes: where a runtime array's entry-1 type field may
   * sit (entry 0 of the array is zero on x86 and x64).
   */
  readonly ones: number[];
}

/** Cap on u32-1 probes kept per call: small-integer memory is full of them; callers test them right away. */
export const MAX_ONE_PROBES = 1 << 16;

/** The C++ twin (packages/native/src/beacon-scan.cc), or undefined when the addon is absent or MALPIPE_NATIVE=0. */
export const nativeScanBeaconStructures = native?.scanBeaconStructures;

/**
 * One pass over [from, to) that finds config block candidates and, when `ones` is set, runtime array probes
 * (`StructureHits.ones`, at q < to + 16 so an x64 array starting before `to` is seen). Uses the native addon when
 * it is built; `scanBeaconStructuresTs` is the reference both must match.
 */
export function scanBeaconStructures(
  b: Uint8Array,
  from = 0,
  to = b.length,
  keys: ReadonlySet<number> | null = null,
  ones = false,
  maxCandidates = 4096,
): StructureHits {
  const scan = nativeScanBeaconStructures;
  if (scan === undefined || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || !Number.isSafeInteger(maxCandidates)) {
    return scanBeaconStructuresTs(b, from, to, keys, ones, maxCandidates);
  }
  const hits = scan(b, from, to, keys === null ? null : keyMask(keys), ones, maxCandidates, MAX_ONE_PROBES);
  const configs: ConfigCandidate[] = [];
  for (const offset of hits.configs) configs.push({ offset, xorKey: b[offset] as number });
  return { configs, ones: Array.from(hits.ones) };
}

function keyMask(keys: ReadonlySet<number>): Uint8Array {
  const mask = new Uint8Array(256);
  for (const k of keys) if (Number.isInteger(k) && k >= 0 && k < 256) mask[k] = 1;
  return mask;
}

/**
 * The TypeScript scan (reference of the native one). Candidates come in offset order; the scan stops once
 * `maxCandidates` configs are found (probes past that point are not reported), so a file full of the pattern
 * cannot make callers parse forever. Buffers aligned to 4 are read a word at a time: `w ^ (w >>> 8)` puts
 * b[q] ^ b[q+1] in the low byte, and a word of 1 has that difference too, so one compare per word filters both
 * searches; four words share one branch.
 */
export function scanBeaconStructuresTs(
  b: Uint8Array,
  from = 0,
  to = b.length,
  keys: ReadonlySet<number> | null = null,
  ones = false,
  maxCandidates = 4096,
): StructureHits {
  const configs: ConfigCandidate[] = [];
  const oneHits: number[] = [];
  if (maxCandidates <= 0) return { configs, ones: oneHits };
  const start = Math.max(0, from);
  const stop = Math.min(to, b.length - CONFIG_PATTERN_LENGTH + 1);
  const onesStop = Math.min(to + 16, b.length - 4);
  // The probe q walks 4-aligned positions (relative to the buffer); candidates p in [q-3, q] are checked on a hit.
  const qStart = start + 3 - ((start + 3) % 4);
  const qStop = Math.min(b.length, Math.max(stop + 3, ones ? onesStop : 0));
  let full = false;
  const probe = (q: number): void => {
    if (((b[q] as number) ^ (b[q + 1] ?? 0)) !== 1) return;
    // The ranges [q-3, q] of successive probes are disjoint and ascending: no candidate is seen twice.
    for (let p = q - 3; p <= q; p++) {
      if (p < start || p >= stop || !isConfigPatternAt(b, p)) continue;
      const key = b[p] as number;
      if (keys !== null && !keys.has(key)) continue;
      configs.push({ offset: p, xorKey: key });
      if (configs.length >= maxCandidates) {
        full = true;
        return;
      }
    }
    if (ones && q >= 8 && q < onesStop && b[q] === 1 && b[q + 1] === 0 && b[q + 2] === 0 && b[q + 3] === 0 && oneHits.length < MAX_ONE_PROBES && isZero8(b, q - 8)) {
      oneHits.push(q);
    }
  };
  let q = qStart;
  if (b.byteOffset % 4 === 0) {
    const words = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
    const wEnd = Math.min(words.length, qStop >>> 2);
    let i = qStart >>> 2;
    for (; i + 4 <= wEnd && !full; i += 4) {
      const w0 = words[i] as number;
      const w1 = words[i + 1] as number;
      const w2 = words[i + 2] as number;
      const w3 = words[i + 3] as number;
      if (
        ((w0 ^ (w0 >>> 8)) & 0xff) !== 1 &&
        ((w1 ^ (w1 >>> 8)) & 0xff) !== 1 &&
        ((w2 ^ (w2 >>> 8)) & 0xff) !== 1 &&
        ((w3 ^ (w3 >>> 8)) & 0xff) !== 1
      ) {
        continue;
      }
      for (let j = 0; j < 4 && !full; j++) probe((i + j) << 2);
    }
    q = i << 2;
  }
  for (; q < qStop && !full; q += 4) probe(q);
  return { configs, ones: oneHits };
}

function isZero8(b: Uint8Array, p: number): boolean {
  for (let i = p; i < p + 8; i++) if (b[i] !== 0) return false;
  return true;
}

/** Config block candidates whose start lies in [from, to); `keys` restricts the XOR keys (null = all 256). */
export function findConfigCandidates(
  b: Uint8Array,
  from = 0,
  to = b.length,
  keys: ReadonlySet<number> | null = null,
  maxCandidates = 4096,
): ConfigCandidate[] {
  return scanBeaconStructures(b, from, to, keys, false, maxCandidates).configs;
}

/**
 * Orders candidates: the default keys first, then the other keys by how often `kkkk` (encoded zero padding) occurs
 * in the buffer, as dissect's all-keys fallback does, then by offset. The count only breaks ties between two or
 * more other keys, so it is skipped otherwise (the common case: one chance match or one custom key).
 */
export function rankConfigCandidates(b: Uint8Array, candidates: readonly ConfigCandidate[]): ConfigCandidate[] {
  const others = new Set(candidates.map((c) => c.xorKey).filter((k) => !DEFAULT_XOR_KEYS.includes(k)));
  const frequency = others.size >= 2 ? paddingFrequency(b, others) : null;
  const rank = (k: number): number => {
    const d = DEFAULT_XOR_KEYS.indexOf(k);
    return d >= 0 ? -1_000_000_000 + d : -(frequency?.[k] ?? 0);
  };
  return [...candidates].sort((x, y) => rank(x.xorKey) - rank(y.xorKey) || x.offset - y.offset);
}

/** Per key in `keys`, the count of `kkkk` at offsets 0, 4, 8, ... of the first 64 MiB (read a word at a time when aligned). */
function paddingFrequency(b: Uint8Array, keys: ReadonlySet<number>): Uint32Array {
  const wanted = new Uint8Array(256);
  for (const k of keys) wanted[k] = 1;
  const counts = new Uint32Array(256);
  const limit = Math.min(b.length, 64 * 1024 * 1024) - 3;
  let i = 0;
  if (b.byteOffset % 4 === 0) {
    // Word w holds bytes i..i+3 (little-endian or not, four equal bytes read the same); limit - 1 >= i + 3 keeps it in range.
    const words = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
    for (; i < limit; i += 4) {
      const w = words[i >>> 2] as number;
      const k = w & 0xff;
      if ((w >>> 8) === k * 0x010101 && wanted[k] === 1) counts[k] = (counts[k] as number) + 1;
    }
    return counts;
  }
  for (; i < limit; i += 4) {
    const k = b[i] as number;
    if (wanted[k] === 1 && b[i + 1] === k && b[i + 2] === k && b[i + 3] === k) counts[k] = (counts[k] as number) + 1;
  }
  return counts;
}

/** Single-byte XOR of `size` bytes at `offset` (bounded by the buffer). */
export function xorBlock(b: Uint8Array, offset: number, size: number, key: number): Uint8Array {
  const end = Math.min(b.length, offset + size);
  const out = new Uint8Array(Math.max(0, end - offset));
  if (key === 0) {
    out.set(b.subarray(offset, end));
    return out;
  }
  for (let i = 0; i < out.length; i++) out[i] = (b[offset + i] as number) ^ key;
  return out;
}
