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
  let sum = 0;
  for (let i = 0; i < block.length; i++) sum = (sum + (block[i] as number) * ((i % 3) + 1)) % 99_999_999;
  return sum;
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

/**
 * Offsets of guard blocks: b[g+j] ^ b[g-1-j] ^ 0x8a spells a known first record. Aligned buffers are read a word
 * at a time: the four byte differences b[i+j] ^ b[i+j+1] of a word are XOR'd with 0x8a and tested for a zero byte
 * (the usual has-zero-byte bit trick), so only rare positions get the full test.
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
  if (b.byteOffset % 4 === 0) {
    const words = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
    // Word i covers differences at byte pairs (4i+j, 4i+j+1), j = 0..3, i.e. guard offsets g = 4i+j+1.
    const iStart = Math.max(0, ((first - 1) >>> 2) - 1);
    const iStop = Math.min(words.length - 1, (stop >>> 2) + 1);
    for (let i = iStart; i < iStop; i++) {
      const w = words[i] as number;
      const next = words[i + 1] as number;
      const e = (w ^ ((w >>> 8) | (next << 24)) ^ 0x8a8a8a8a) >>> 0;
      if ((((e - 0x01010101) & ~e & 0x80808080) >>> 0) === 0) continue;
      for (let j = 0; j < 4; j++) if (check(4 * i + j + 1)) return hits;
    }
    return hits;
  }
  for (let g = first; g <= stop; g++) if (check(g)) return hits;
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
  const accept = (key: Uint8Array): { key: Uint8Array; block: Uint8Array; verified: boolean } | null => {
    const n = key.length;
    for (const [i, plain] of known) if (((masked[i] as number) ^ (key[i % n] as number)) !== plain) return null;
    const block = new Uint8Array(masked.length);
    for (let i = 0; i < masked.length; i++) block[i] = (masked[i] as number) ^ (key[i % n] as number);
    if (checksum !== null) return guardrailChecksum(block) + 1 === checksum ? { key, block, verified: true } : null;
    return isConfigPatternAt(block, 0) ? { key, block, verified: false } : null;
  };
  // Fast path: the end of the block is zero padding, so its last aligned n-gram is the key itself.
  for (let n = 1; n <= MAX_KEY_LENGTH; n++) {
    const start = Math.floor(masked.length / n) * n - n;
    const found = accept(masked.slice(start, start + n));
    if (found) return found;
  }
  // Padding overwritten at the end: the most common aligned n-gram anywhere in the block.
  for (let n = 1; n <= MAX_KEY_LENGTH; n++) {
    const counts = new Map<string, number>();
    let best = '';
    let bestCount = 0;
    for (let i = 0; i + n <= masked.length; i += n) {
      // Only grams that agree with the known key prefix can be the key: compare those bytes before counting.
      let agrees = true;
      for (let j = 0; j < prefix.length && agrees; j++) agrees = masked[i + (j % n)] === prefix[j];
      if (!agrees) continue;
      const gram = latin1(masked.subarray(i, i + n));
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
