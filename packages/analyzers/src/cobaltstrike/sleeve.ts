import { findPeStart } from './pe-info.js';

/** How far into the input the nonce may start (dissect and SigStrike search the first 1,024 bytes). */
export const SLEEVE_SEARCH_RANGE = 1024;
const MAX_CANDIDATES = 64;
const MIN_STAGE_SIZE = 1024;

export interface SleeveStage {
  /** Offset of the nonce in the input (not necessarily 4-aligned). */
  readonly nonceOffset: number;
  readonly nonce: number;
  /** Decoded length announced by the header. */
  readonly size: number;
  /** False when the input ends before `size` bytes (a cut download). */
  readonly complete: boolean;
  readonly decoded: Uint8Array;
  /** Where the PE starts in `decoded` (after the stage prepend). */
  readonly peOffset: number;
}

/** The x86 (`FC E8`) or x64 (`FC 48 83 E4 F0`) XorEncode stub within the first 64 bytes (after a stray prefix). */
function hasStub(b: Uint8Array): boolean {
  for (let i = 0; i < Math.min(64, b.length - 5); i++) {
    if (b[i] !== 0xfc) continue;
    if (b[i + 1] === 0xe8 || (b[i + 1] === 0x48 && b[i + 2] === 0x83 && b[i + 3] === 0xe4 && b[i + 4] === 0xf0)) return true;
  }
  return false;
}

function u32le(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}

/**
 * Candidate nonce offsets: every offset whose header size matches the rest of the input exactly, then every
 * position right after an `FF FF FF` (the end of the stub's backward call) in the first bytes.
 */
export function findSleeveCandidates(bytes: Uint8Array, searchRange = SLEEVE_SEARCH_RANGE): number[] {
  const limit = Math.min(searchRange, bytes.length - 8);
  const exact: number[] = [];
  const afterMarker: number[] = [];
  // `FF FF FF` is everywhere in code; it is a nonce marker only behind a decoder stub near the start.
  const stub = hasStub(bytes);
  for (let i = 0; i < limit; i++) {
    if (((u32le(bytes, i) ^ u32le(bytes, i + 4)) >>> 0) + i + 8 === bytes.length) exact.push(i);
    if (stub && i >= 3 && bytes[i - 1] === 0xff && bytes[i - 2] === 0xff && bytes[i - 3] === 0xff) afterMarker.push(i);
  }
  return [...new Set([...exact, ...afterMarker])].slice(0, MAX_CANDIDATES);
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function byteSwap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff);
}

/** Dword cipher feedback: plain[i] = enc[i] XOR enc[i-1], the first XOR'd with the nonce (ArtifactUtils XorEncode). */
export function decodeFeedbackXor(bytes: Uint8Array, start: number, nonce: number, size: number): Uint8Array {
  const available = Math.max(0, Math.min(size, bytes.length - start));
  const out = new Uint8Array(available);
  if (available === 0) return out;
  // Copy first (sleeves captured from HTTP bodies often sit at unaligned offsets), then decode in place through an
  // aligned word view: each word is read before it is overwritten. Words are in host order, so only the nonce (a
  // little-endian value) needs swapping on a big-endian host.
  out.set(bytes.subarray(start, start + available));
  const words = new Int32Array(out.buffer, 0, available >>> 2);
  let prev = LITTLE_ENDIAN ? nonce | 0 : byteSwap32(nonce);
  for (let i = 0; i < words.length; i++) {
    const enc = words[i] as number;
    words[i] = enc ^ prev;
    prev = enc;
  }
  // The tail (< 4 bytes) is XOR'd with the low bytes of the last encoded dword (little-endian, as the stub reads it).
  const k = words.length << 2;
  const last = k === 0 ? nonce >>> 0 : u32le(bytes, start + k - 4);
  for (let j = 0; k + j < available; j++) out[k + j] = (bytes[start + k + j] ?? 0) ^ ((last >>> (8 * j)) & 0xff);
  return out;
}

/**
 * Decodes an XorEncoded ("sleeve") stage: `nonce u32le | size XOR nonce u32le | data`. A candidate is accepted
 * only when the decoded data holds a PE near its start, validated structurally (see `isPeAt`).
 */
export function decodeSleeve(bytes: Uint8Array, searchRange = SLEEVE_SEARCH_RANGE): SleeveStage | null {
  for (const offset of findSleeveCandidates(bytes, searchRange)) {
    if (offset + 8 > bytes.length) continue;
    const nonce = u32le(bytes, offset);
    const size = (u32le(bytes, offset + 4) ^ nonce) >>> 0;
    if (size < MIN_STAGE_SIZE || size > bytes.length * 2 + 4096) continue;
    const head = decodeFeedbackXor(bytes, offset + 8, nonce, Math.min(size, 4096));
    const peOffset = findPeStart(head, 1024);
    if (peOffset < 0) continue;
    const decoded = decodeFeedbackXor(bytes, offset + 8, nonce, size);
    return { nonceOffset: offset, nonce, size, complete: decoded.length === size, decoded, peOffset };
  }
  return null;
}
