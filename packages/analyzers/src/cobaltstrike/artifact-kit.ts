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
  for (let i = 0; i + 24 <= b.length && out.length < maxPayloads; i++) {
    // Cheap first-byte test before the dword compare: this runs over whole executables.
    if (b[i] !== ((i + 16) & 0xff) || u32le(b, i) !== i + 16) continue;
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
