/** Shannon entropy of `bytes` in bits per byte (0 for empty input, 8 for uniformly random bytes), rounded to 4 places. */
export function shannonEntropy(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  // Four interleaved histograms: runs of one byte value (zero padding) no longer serialise on one counter.
  const counts = new Uint32Array(1024);
  const length = bytes.length;
  const end4 = length - (length & 3);
  let i = 0;
  for (; i < end4; i += 4) {
    counts[bytes[i]!]!++;
    counts[256 + bytes[i + 1]!]!++;
    counts[512 + bytes[i + 2]!]!++;
    counts[768 + bytes[i + 3]!]!++;
  }
  for (; i < length; i++) counts[bytes[i]!]!++;
  let entropy = 0;
  for (let i = 0; i < 256; i++) {
    const count = counts[i]! + counts[256 + i]! + counts[512 + i]! + counts[768 + i]!;
    if (count === 0) continue;
    const p = count / bytes.length;
    entropy -= p * Math.log2(p);
  }
  return Math.round(entropy * 10_000) / 10_000;
}
