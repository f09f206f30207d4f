import { createHash } from 'node:crypto';
import type { ByteReader } from '../bytes/byte-reader.js';
import type { PeRichEntry, PeRichHeader } from './pe-types.js';

const RICH = 0x68636952; // "Rich"
const DANS = 0x536e6144; // "DanS"
/** The Rich header sits between the DOS header (0x40) and the PE header; 1 KiB of stub is already unusual. */
const MAX_STUB_BYTES = 0x1000;

const rol32 = (value: number, shift: number): number => {
  const s = shift & 31;
  return ((value << s) | (value >>> (32 - s))) >>> 0;
};

/**
 * The linker's Rich header: XOR-masked `DanS` marker, (comp id, count) pairs, `Rich` and the key. The key is a
 * checksum over the DOS header (minus e_lfanew) and the entries, so a mismatch reveals an edited header.
 * Returns `null` when there is none.
 */
export function parseRichHeader(reader: ByteReader, peHeaderOffset: number): PeRichHeader | null {
  const end = Math.min(peHeaderOffset, reader.length, MAX_STUB_BYTES);
  let richOffset = -1;
  for (let offset = 0x40; offset + 8 <= end; offset += 4) {
    if (reader.u32le(offset) === RICH) {
      richOffset = offset;
      break;
    }
  }
  if (richOffset < 0) return null;
  const key = reader.u32le(richOffset + 4);
  let dansOffset = -1;
  for (let offset = richOffset - 4; offset >= 0x40; offset -= 4) {
    if ((reader.u32le(offset) ^ key) >>> 0 === DANS) {
      dansOffset = offset;
      break;
    }
  }
  if (dansOffset < 0) return null;

  const entries: PeRichEntry[] = [];
  let checksum = dansOffset;
  for (let i = 0; i < dansOffset; i++) {
    if (i >= 0x3c && i < 0x40) continue; // e_lfanew is not covered
    checksum = (checksum + rol32(reader.u8(i), i)) >>> 0;
  }
  // DanS is followed by three zero dwords (masked), then the pairs.
  for (let offset = dansOffset + 16; offset + 8 <= richOffset; offset += 8) {
    const compId = (reader.u32le(offset) ^ key) >>> 0;
    const count = (reader.u32le(offset + 4) ^ key) >>> 0;
    entries.push({ compId, productId: compId >>> 16, build: compId & 0xffff, count });
    checksum = (checksum + rol32(compId, count)) >>> 0;
  }

  const clear = new Uint8Array(richOffset - dansOffset);
  for (let i = 0; i < clear.length; i++)
    clear[i] = reader.u8(dansOffset + i) ^ ((key >>> ((i % 4) * 8)) & 0xff);
  return {
    offset: dansOffset,
    key,
    entries,
    checksumValid: checksum === key,
    richHash: createHash('md5').update(clear).digest('hex'),
  };
}
