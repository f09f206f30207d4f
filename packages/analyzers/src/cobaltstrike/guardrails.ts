import type { GuardrailInfo, JsonValue } from './beacon-config.js';
import { parseSettingRecords, recordNumber } from './parse-setting-records.js';
import { isConfigPatternAt } from './find-config-blocks.js';
import { latin1 } from './transform-programs.js';

/**
 * CS 4.8+ guardrails (dissect guardrails.py): the 6,144-byte beacon block is XOR'd with 0x2e and then with a
 * repeating environmental key (lower-cased user/computer/domain name); a 2,048-byte guard config follows, XOR'd
 * with 0x8a and with the preceding beacon block reversed. Its TLV options say what the key is, and option 9 holds
 * checksum(unmasked block) + 1, which confirms a recovered key.
 */
export const GUARDED_BLOCK_SIZE = 6144;
export const GUARD_BLOCK_SIZE = 2048;
export const GUARD_XOR_KEY = 0x8a;
const BEACON_XOR_KEY = 0x2e;
const MAX_KEY_LENGTH = 256;

export const GUARD_OPTION_NAMES: Readonly<Record<number, string>> = {
  5: 'GUARD_USER',
  6: 'GUARD_COMPUTER',
  7: 'GUARD_DOMAIN',
  8: 'GUARD_LOCAL_IP',
  9: 'GUARD_PAYLOAD_CHECKSUM',
};

// First record of the guard list, one per option that can come first: option, type, length.
const GUARD_STARTS: readonly (readonly number[])[] = [
  [0, 5, 0, 1, 0, 2],
  [0, 6, 0, 1, 0, 2],
  [0, 7, 0, 1, 0, 2],
  [0, 8, 0, 2, 0, 4],
];

/** The checksum the builder stores (+1) in option 9. */
export function guardrailChecksum(block: Uint8Array): number {
  // Sums stay far below 2^53 between reductions, so reducing once per 1 MiB gives the same result as per byte.
  let sum = 0;
  for (let i = 0, w = 1; i < block.length; i++, w = w === 3 ? 1 : w + 1) {
    sum += (block[i] as number) * w;
    if ((i & 0xfffff) === 0xfffff) sum %= 99_999_999;
  }
  return sum % 99_999_999;
}

function isGuardStart(b: Uint8Array, g: number): boolean {
  if (((b[g] as number) ^ (b[g - 1] as number)) !== GUARD_XOR_KEY) return false;
  for (const start of GUARD_STARTS) {
    let ok = true;
    for (let j = 1; j < 6 && ok; j++) ok = ((b[g + j] as number) ^ (b[g - 1 - j] as number) ^ GUARD_XOR_KEY) === start[j];
    if (ok) return true;
  }
  return false;
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Offsets of guard blocks: b[g+j] ^ b[g-1-j] ^ 0x8a spells a known first record. The buffer is read a word at a
 * time from its first 4-aligned byte: the four byte differences b[i+j] ^ b[i+j+1] of a word are XOR'd with 0x8a and
 * tested for a zero byte (the usual has-zero-byte bit trick), so only rare positions get the full test.
 */
export function findGuardOffsets(b: Uint8Array, maxHits = 16): number[] {
  const hits: number[] = [];
  const first = GUARDED_BLOCK_SIZE;
  const stop = b.length - GUARD_BLOCK_SIZE;
  if (stop < first) return hits;
  const check = (g: number): boolean => {
    if (g >= first && g <= stop && isGuardStart(b, g)) hits.push(g);
    return hits.length >= maxHits;
  };
  if (!LITTLE_ENDIAN) {
    for (let g = first; g <= stop; g++) if (check(g)) return hits;
    return hits;
  }
  // Word i holds bytes a+4i .. a+4i+3: it covers byte pairs (a+4i+j, a+4i+j+1), j = 0..3, i.e. g = a+4i+j+1.
  // first > a + 4, and stop is 2,048 bytes before the end, so every g in [first, stop] falls in [iStart, iStop).
  const a = (4 - (b.byteOffset % 4)) % 4;
  const words = new Uint32Array(b.buffer, b.byteOffset + a, (b.length - a) >>> 2);
  const iStart = Math.max(0, ((first - 1 - a) >>> 2) - 1);
  const iStop = Math.min(words.length - 1, ((stop - a) >>> 2) + 1);
  for (let i = iStart; i < iStop; i++) {
    const w = words[i] as number;
    const next = words[i + 1] as number;
    const e = (w ^ ((w >>> 8) | (next << 24)) ^ 0x8a8a8a8a) >>> 0;
    if ((((e - 0x01010101) & ~e & 0x80808080) >>> 0) === 0) continue;
    for (let j = 0; j < 4; j++) if (check(a + 4 * i + j + 1)) return hits;
  }
  return hits;
}

export interface UnmaskedGuardrails {
  readonly info: GuardrailInfo;
  /** The unmasked 6,144-byte beacon block, or null when no key was confirmed. */
  readonly block: Uint8Array | null;
}

/** Unmasks the guard options and recovers the environmental key of the block before `guardOffset`. */
export function unmaskGuardrails(b: Uint8Array, guardOffset: number): UnmaskedGuardrails {
  const guard = new Uint8Array(GUARD_BLOCK_SIZE);
  for (let j = 0; j < GUARD_BLOCK_SIZE; j++) guard[j] = (b[guardOffset + j] as number) ^ (b[guardOffset - 1 - j] as number) ^ GUARD_XOR_KEY;
  const parsed = parseSettingRecords(guard, 32);
  const options: { id: number; name: string; value: JsonValue }[] = [];
  let payloadChecksum: number | null = null;
  for (const r of parsed.records) {
    const n = recordNumber(r);
    options.push({ id: r.id, name: GUARD_OPTION_NAMES[r.id] ?? `GUARD_${r.id}`, value: n ?? latin1(r.value).replace(/\0+$/, '') });
    if (r.id === 9 && n !== null) payloadChecksum = n;
  }
  const masked = new Uint8Array(GUARDED_BLOCK_SIZE);
  const base = guardOffset - GUARDED_BLOCK_SIZE;
  for (let i = 0; i < GUARDED_BLOCK_SIZE; i++) masked[i] = (b[base + i] as number) ^ BEACON_XOR_KEY;
  const found = recoverEnvironmentKey(masked, payloadChecksum);
  return {
    info: {
      environmentKey: found ? latin1(found.key) : null,
      guardXorKey: GUARD_XOR_KEY,
      guardOffset,
      options,
      payloadChecksum,
      checksumVerified: found?.verified ?? false,
    },
    block: found?.block ?? null,
  };
}

/**
 * The block is mostly zero padding, so the key repeats verbatim in it: for each length n take the last aligned
 * n-gram (then, failing that, the most common one), keep those consistent with the known first record, and accept
 * the first whose unmasked block matches the checksum (or, without option 9, starts like a config).
 */
function recoverEnvironmentKey(masked: Uint8Array, checksum: number | null): { key: Uint8Array; block: Uint8Array; verified: boolean } | null {
  // Plain bytes every block starts with: record 1 (`00 01 00 01 00 ?? 00 ??`, protocol < 256) and record 2's
  // header (`00 02 00 01 00 02`). A candidate key must reproduce them before the full unmask is tried.
  const known: readonly (readonly [number, number])[] = [[0, 0], [1, 1], [2, 0], [3, 1], [4, 0], [6, 0], [8, 0], [9, 2], [10, 0], [11, 1], [12, 0], [13, 2]];
  const prefix = [0, 1, 0, 1, 0].map((p, i) => (masked[i] as number) ^ p);
  // Candidates are n-grams of `masked` at `start`; the known-bytes test reads them in place, so a key is copied
  // out only when it passes.
  const accept = (start: number, n: number): { key: Uint8Array; block: Uint8Array; verified: boolean } | null => {
    for (const [i, plain] of known) if (((masked[i] as number) ^ (masked[start + (i % n)] as number)) !== plain) return null;
    const key = masked.slice(start, start + n);
    const block = new Uint8Array(masked.length);
    for (let i = 0, j = 0; i < masked.length; i++, j = j + 1 === n ? 0 : j + 1) block[i] = (masked[i] as number) ^ (key[j] as number);
    if (checksum !== null) return guardrailChecksum(block) + 1 === checksum ? { key, block, verified: true } : null;
    return isConfigPatternAt(block, 0) ? { key, block, verified: false } : null;
  };
  // Fast path: the end of the block is zero padding, so its last aligned n-gram is the key itself.
  for (let n = 1; n <= MAX_KEY_LENGTH; n++) {
    const found = accept(Math.floor(masked.length / n) * n - n, n);
    if (found) return found;
  }
  // Padding overwritten at the end: the most common aligned n-gram anywhere in the block (the first to reach the
  // top count wins a tie). A gram must start with the key's first byte, so only those positions (found once, in
  // order) are visited for each n. Grams are grouped by a hash and compared byte by byte within a bucket.
  const starts: number[] = [];
  for (let i = 0; i < masked.length; i++) if (masked[i] === prefix[0]) starts.push(i);
  const [p0, p1, p2, p3, p4] = prefix as [number, number, number, number, number];
  for (let n = 1; n <= MAX_KEY_LENGTH; n++) {
    const groups = new Map<number, { start: number; count: number }[]>();
    let best = -1;
    let bestCount = 0;
    // Byte j of the prefix lands at gram offset j % n (computed once per n, not per gram: % is slow).
    const [a1, a2, a3, a4] = [1 % n, 2 % n, 3 % n, 4 % n];
    for (const i of starts) {
      if (i % n !== 0 || i + n > masked.length) continue;
      // Only grams that agree with the known key prefix can be the key: compare those bytes before counting.
      if (masked[i] !== p0 || masked[i + a1] !== p1 || masked[i + a2] !== p2 || masked[i + a3] !== p3 || masked[i + a4] !== p4) continue;
      // FNV-1a, cut to 30 bits so map keys stay small integers.
      let hash = 0x811c9dc5 | 0;
      for (let j = i; j < i + n; j++) hash = Math.imul(hash ^ (masked[j] as number), 0x01000193);
      hash &= 0x3fffffff;
      let bucket = groups.get(hash);
      if (bucket === undefined) groups.set(hash, (bucket = []));
      let group: { start: number; count: number } | undefined;
      for (const g of bucket) {
        if (sameGram(masked, g.start, i, n)) {
          group = g;
          break;
        }
      }
      if (group === undefined) bucket.push((group = { start: i, count: 0 }));
      group.count++;
      if (group.count > bestCount) {
        bestCount = group.count;
        best = group.start;
      }
    }
    if (bestCount < 2) continue;
    const found = accept(best, n);
    if (found) return found;
  }
  return null;
}

function sameGram(b: Uint8Array, x: number, y: number, n: number): boolean {
  for (let j = 0; j < n; j++) if (b[x + j] !== b[y + j]) return false;
  return true;
}
