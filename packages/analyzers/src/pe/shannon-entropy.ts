/** Shannon entropy of `bytes` in bits per byte (0 for empty input, 8 for uniformly random bytes), rounded to 4 places. */
export function shannonEntropy(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  const counts = new Uint32Array(256);
  for (let i = 0; i < bytes.length; i++) counts[bytes[i]!]!++;
  let entropy = 0;
  for (let i = 0; i < 256; i++) {
    const count = counts[i]!;
    if (count === 0) continue;
    const p = count / bytes.length;
    entropy -= p * Math.log2(p);
  }
  return Math.round(entropy * 10_000) / 10_000;
}
