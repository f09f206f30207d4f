import { isPeAt } from './pe-info.js';

/**
 * ArtifactKit executables (ArtifactUtils.java `_patchArtifact`) carry their payload in `.data` as
 * `u32le (offset + 16) | u32le size | key[4] | hints[4 or 8] | payload XOR key[i % 4]`. The first dword equals its own
 * file offset + 16, which is how the block is found (dissect iter_artifactkit_payloads); older kits start the
 * payload at +16, newer ones (8 hint bytes) at +20.
 */
export interface ArtifactKitPayload {
  readonly offset: number;
  readonly payloadOffset: number;
  readonly size: number;
  readonly key: string;
  readonly payload: Uint8Array;
}

const MIN_PAYLOAD = 64;
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function u32le(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}

function decode(b: Uint8Array, start: number, size: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(0, Math.min(size, b.length - start)));
  for (let i = 0; i < out.length; i++) out[i] = (b[start + i] as number) ^ (key[i & 3] as number);
  return out;
}

/** A decoded payload start we recognise: shellcode (`FC`), NOPs before a PE, or a PE. */
function looksLikePayload(head: Uint8Array): boolean {
  return head[0] === 0xfc || (head[0] === 0x90 && head[1] === 0x90) || isPeAt(head, 0);
}

export function findArtifactKitPayloads(b: Uint8Array, maxPayloads = 8): ArtifactKitPayload[] {
  const out: ArtifactKitPayload[] = [];
  const last = b.length - 24;
  if (last < 0) return out;
  const a = Math.min(b.length, (4 - (b.byteOffset % 4)) % 4);
  const words = new Uint32Array(b.buffer, b.byteOffset + a, (b.length - a) >>> 2);
  for (let i = nextLowByteMatch(b, words, a, 0, last); i >= 0 && out.length < maxPayloads; i = nextLowByteMatch(b, words, a, i + 1, last)) {
    if (u32le(b, i) !== i + 16) continue;
    const size = u32le(b, i + 4);
    if (size < MIN_PAYLOAD || size > b.length - i - 16) continue;
    const key = b.subarray(i + 8, i + 12);
    if (key.every((k) => k === 0)) continue;
    let chosen = -1;
    for (const start of [i + 16, i + 20]) {
      if (looksLikePayload(decode(b, start, Math.min(size, 1024), key))) {
        chosen = start;
        break;
      }
    }
    if (chosen < 0) continue;
    out.push({
      offset: i,
      payloadOffset: chosen,
      size,
      key: Buffer.from(key).toString('hex'),
      payload: decode(b, chosen, size, key),
    });
    i = chosen + size - 1;
  }
  return out;
}

/**
 * First i in [from, last] with b[i] === (i + 16) & 0xff (the low byte of the self-offset dword), or -1. This runs
 * over whole executables, so the aligned part (`words`, starting at byte `a`) is tested a word at a time: the word
 * of expected low bytes is XOR'd in and tested for a zero byte (the has-zero-byte trick has no false negatives;
 * lanes are confirmed one by one).
 */
function nextLowByteMatch(b: Uint8Array, words: Uint32Array, a: number, from: number, last: number): number {
  let i = Math.max(0, from);
  // Bytes up to the next word boundary, then whole words, then the tail.
  const aligned = Math.min(last + 1, i <= a ? a : a + Math.ceil((i - a) / 4) * 4);
  for (; i < aligned; i++) if (b[i] === ((i + 16) & 0xff)) return i;
  if (i > last) return -1;
  const wordStop = Math.min(words.length, ((last - a) >>> 2) + 1);
  for (let k = (i - a) >>> 2; k < wordStop; k++) {
    const x = a + 4 * k + 16;
    const expected = LITTLE_ENDIAN
      ? (x & 0xff) | (((x + 1) & 0xff) << 8) | (((x + 2) & 0xff) << 16) | (((x + 3) & 0xff) << 24)
      : ((x & 0xff) << 24) | (((x + 1) & 0xff) << 16) | (((x + 2) & 0xff) << 8) | ((x + 3) & 0xff);
    const e = (words[k] as number) ^ expected;
    if ((((e - 0x01010101) | 0) & ~e & 0x80808080) === 0) continue;
    for (let j = a + 4 * k; j < a + 4 * k + 4 && j <= last; j++) if (b[j] === ((j + 16) & 0xff)) return j;
  }
  for (i = Math.max(i, a + 4 * wordStop); i <= last; i++) if (b[i] === ((i + 16) & 0xff)) return i;
  return -1;
}

