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

/**
 * Candidate block offsets whose start lies in [from, to). `keys` restricts the XOR keys accepted (null = all 256).
 * Bounded by `maxCandidates`, so a file full of the pattern cannot make the caller parse forever.
 */
export function findConfigCandidates(
  b: Uint8Array,
  from = 0,
  to = b.length,
  keys: ReadonlySet<number> | null = null,
  maxCandidates = 4096,
): ConfigCandidate[] {
  const out: ConfigCandidate[] = [];
  const start = Math.max(0, from);
  const stop = Math.min(to, b.length - CONFIG_PATTERN_LENGTH + 1);
  if (stop <= start) return out;
  // Align the probe to 4 from `start - 3` so candidates p in [start, start+3] are seen as well.
  let q = start + 3 - ((start + 3) % 4);
  let lastFound = -1;
  for (; q < stop + 3; q += 4) {
    if (((b[q] as number) ^ (b[q + 1] as number)) !== 1) continue;
    for (let p = q - 3; p <= q; p++) {
      if (p < start || p >= stop || p <= lastFound) continue;
      if (!isConfigPatternAt(b, p)) continue;
      const key = b[p] as number;
      if (keys !== null && !keys.has(key)) continue;
      out.push({ offset: p, xorKey: key });
      lastFound = p;
      if (out.length >= maxCandidates) return out;
    }
  }
  return out;
}

/**
 * Orders candidates: the default keys first, then the other keys by how often `kkkk` (encoded zero padding) occurs
 * in the buffer, as dissect's all-keys fallback does, then by offset.
 */
export function rankConfigCandidates(b: Uint8Array, candidates: readonly ConfigCandidate[]): ConfigCandidate[] {
  const others = new Set(candidates.map((c) => c.xorKey).filter((k) => !DEFAULT_XOR_KEYS.includes(k)));
  const frequency = new Map<number, number>();
  if (others.size > 0) {
    const limit = Math.min(b.length, 64 * 1024 * 1024) - 3;
    for (let i = 0; i < limit; i += 4) {
      const k = b[i] as number;
      if (others.has(k) && b[i + 1] === k && b[i + 2] === k && b[i + 3] === k) frequency.set(k, (frequency.get(k) ?? 0) + 1);
    }
  }
  const rank = (k: number): number => {
    const d = DEFAULT_XOR_KEYS.indexOf(k);
    return d >= 0 ? -1_000_000_000 + d : -(frequency.get(k) ?? 0);
  };
  return [...candidates].sort((x, y) => rank(x.xorKey) - rank(y.xorKey) || x.offset - y.offset);
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
