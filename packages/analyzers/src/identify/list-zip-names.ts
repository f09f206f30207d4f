import { ByteReader } from '../bytes/byte-reader.js';

export interface ZipNameListing {
  readonly names: readonly string[];
  /** Some entry has general-purpose flag bit 0 (encrypted) set. */
  readonly encrypted: boolean;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
// The end-of-central-directory record is 22 bytes plus a comment of at most 65535 bytes.
const EOCD_SEARCH = 22 + 0xffff;
const LOCAL_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
/** How far the local-header fallback scans (identification is bounded work). */
const LOCAL_SCAN_BYTES = 4 * 1024 * 1024;

/**
 * Member names of a ZIP without decompressing anything, for identification only: from the central directory
 * when the end record is found, else by walking local headers from the start (truncated archives).
 * Reads at most `maxEntries` entries; names are decoded as UTF-8 (flag bit 11) or Latin-1.
 */
export function listZipNames(bytes: Uint8Array, maxEntries = 10_000): ZipNameListing {
  const r = new ByteReader(bytes);
  const fromCentral = listFromCentralDirectory(r, maxEntries);
  return fromCentral ?? listFromLocalHeaders(r, maxEntries);
}

function decodeName(raw: Uint8Array, utf8: boolean): string {
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString(utf8 ? 'utf8' : 'latin1');
}

function listFromCentralDirectory(r: ByteReader, maxEntries: number): ZipNameListing | null {
  const stop = Math.max(0, r.length - EOCD_SEARCH);
  let eocd = -1;
  for (let at = r.length - 22; at >= stop; at--) {
    if (r.bytes[at] === 0x50 && r.u32le(at) === EOCD_SIGNATURE) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) return null;
  let at = r.u32le(eocd + 16);
  if (!r.has(at, 46) || r.u32le(at) !== CENTRAL_SIGNATURE) return null;
  const names: string[] = [];
  let encrypted = false;
  while (names.length < maxEntries && r.has(at, 46) && r.u32le(at) === CENTRAL_SIGNATURE) {
    const flags = r.u16le(at + 8);
    const nameLength = r.u16le(at + 28);
    const extraLength = r.u16le(at + 30);
    const commentLength = r.u16le(at + 32);
    if (!r.has(at + 46, nameLength)) break;
    names.push(decodeName(r.slice(at + 46, nameLength), (flags & 0x800) !== 0));
    encrypted ||= (flags & 1) !== 0;
    at += 46 + nameLength + extraLength + commentLength;
  }
  return { names, encrypted };
}

function listFromLocalHeaders(r: ByteReader, maxEntries: number): ZipNameListing {
  const names: string[] = [];
  let encrypted = false;
  let at = 0;
  while (names.length < maxEntries && r.has(at, 30) && r.u32le(at) === LOCAL_SIGNATURE) {
    const flags = r.u16le(at + 6);
    const compressedSize = r.u32le(at + 18);
    const nameLength = r.u16le(at + 26);
    const extraLength = r.u16le(at + 28);
    if (!r.has(at + 30, nameLength)) break;
    names.push(decodeName(r.slice(at + 30, nameLength), (flags & 0x800) !== 0));
    encrypted ||= (flags & 1) !== 0;
    const dataStart = at + 30 + nameLength + extraLength;
    if ((flags & 0x8) !== 0 && compressedSize === 0) {
      // Sizes follow the data (data descriptor): look for the next local header, within the scan window.
      const next = Buffer.from(r.bytes.buffer, r.bytes.byteOffset, Math.min(r.length, LOCAL_SCAN_BYTES)).indexOf(LOCAL_MAGIC, dataStart);
      if (next < 0) break;
      at = next;
    } else {
      at = dataStart + compressedSize;
    }
  }
  return { names, encrypted };
}
