import { inflateRawSync } from 'node:zlib';
import { ByteReader } from '../bytes/byte-reader.js';
import type { Extraction, MemberInfo } from './extraction.js';

const LOCAL_SIGNATURE = 0x04034b50;
const LOCAL_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/**
 * Recovers members of a ZIP whose central directory is missing (truncated download, carved blob) by
 * walking local file headers from the start. Only unencrypted stored or deflated members whose data is
 * complete are extracted; inflation is bounded by the member limit (zlib's maxOutputLength).
 */
export function salvageZip(bytes: Uint8Array, extraction: Extraction): void {
  const r = new ByteReader(bytes);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (r.has(at, 30) && r.u32le(at) === LOCAL_SIGNATURE) {
    const flags = r.u16le(at + 6);
    const method = r.u16le(at + 8);
    let compressedSize = r.u32le(at + 18);
    const declaredSize = r.u32le(at + 22);
    const nameLength = r.u16le(at + 26);
    const extraLength = r.u16le(at + 28);
    const dataStart = at + 30 + nameLength + extraLength;
    if (!r.has(at + 30, nameLength)) break;
    const rawName = r.slice(at + 30, nameLength);
    const storedPath = Buffer.from(rawName).toString((flags & 0x800) !== 0 ? 'utf8' : 'latin1');
    const encrypted = (flags & 1) !== 0;
    let next: number;
    let runsToEnd = false;
    if ((flags & 0x8) !== 0 && compressedSize === 0) {
      // Sizes are in a data descriptor after the data: the data runs up to the next local header.
      const found = view.indexOf(LOCAL_MAGIC, dataStart);
      next = found < 0 ? bytes.length : found;
      runsToEnd = found < 0;
      // Stored data has no end marker of its own: trim the signed 16-byte descriptor when it is there.
      const descriptor = next - 16;
      const signed = descriptor >= dataStart && r.u32le(descriptor) === 0x08074b50;
      compressedSize = (signed ? descriptor : next) - dataStart;
    } else {
      next = dataStart + compressedSize;
    }
    const info: MemberInfo = { storedPath, size: declaredSize, compressedSize, encrypted };
    const skip = extraction.precheck();
    if (storedPath.endsWith('/')) extraction.skip(info, 'DIRECTORY');
    else if (skip !== null) extraction.skip(info, skip);
    else if (encrypted || (method !== 0 && method !== 8)) extraction.skip(info, 'UNSUPPORTED');
    else if (!r.has(dataStart, compressedSize) || (runsToEnd && method === 0)) {
      extraction.warnings.push(`zip: member ${JSON.stringify(storedPath)} is truncated`);
      extraction.skip(info, 'TRUNCATED');
    } else {
      const limit = extraction.budget.memberLimit(method === 8 ? compressedSize : null);
      const data = r.slice(dataStart, compressedSize);
      if (method === 0) {
        if (data.length > limit.maxBytes) {
          if (limit.cause === 'TOTAL') throw extraction.budget.totalExceeded();
          extraction.warnings.push(`zip: ${JSON.stringify(storedPath)} is larger than ${limit.maxBytes} bytes (${limit.cause})`);
          extraction.skip(info, limit.cause);
        } else extraction.extract(info, data);
      } else {
        let inflated: Uint8Array | null = null;
        try {
          inflated = new Uint8Array(inflateRawSync(data, { maxOutputLength: Math.max(1, limit.maxBytes) }));
        } catch (error) {
          if (error instanceof RangeError) {
            if (limit.cause === 'TOTAL') throw extraction.budget.totalExceeded();
            extraction.warnings.push(`zip: ${JSON.stringify(storedPath)} inflates past ${limit.maxBytes} bytes; stopped (${limit.cause})`);
            extraction.skip(info, limit.cause);
          } else {
            const message = error instanceof Error ? error.message : String(error);
            extraction.warnings.push(`zip: ${JSON.stringify(storedPath)} cannot be inflated: ${message}`);
            extraction.skip(info, /unexpected end/i.test(message) ? 'TRUNCATED' : 'CORRUPT');
          }
        }
        if (inflated !== null) extraction.extract(info, inflated);
      }
    }
    if (next <= at || next > bytes.length) break;
    at = next;
  }
}
