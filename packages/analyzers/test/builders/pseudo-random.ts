/** xorshift32 (Marsaglia): deterministic pseudo-random u32 values, so a failing test or a bench run replays exactly. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/**
 * `size` deterministic bytes from xorshift32: the low byte of each value, or, with an `alphabet`, the value's upper
 * bits modulo it (small alphabets give long runs, 256 gives uniform noise).
 */
export function pseudoRandomBytes(size: number, seed: number, alphabet?: number): Uint8Array {
  const next = xorshift32(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = alphabet === undefined ? next() & 0xff : (next() >>> 8) % alphabet;
  return out;
}
