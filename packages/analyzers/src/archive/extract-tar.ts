import type { Extraction, MemberInfo } from './extraction.js';

const BLOCK = 512;
/** GNU long names and PAX headers larger than this are treated as corrupt. */
const MAX_META_BYTES = 64 * 1024;

function field(header: Uint8Array, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return Buffer.from(raw.buffer, raw.byteOffset, end >= 0 ? end : raw.length).toString('utf8');
}

/** Numeric header field: octal ASCII, or GNU base-256 when the top bit of the first byte is set. */
function numeric(header: Uint8Array, offset: number, length: number): number | null {
  const first = header[offset] ?? 0;
  if ((first & 0x80) !== 0) {
    let value = first & 0x7f;
    for (let i = 1; i < length; i++) {
      value = value * 256 + (header[offset + i] ?? 0);
      if (value > Number.MAX_SAFE_INTEGER) return null;
    }
    return value;
  }
  const text = field(header, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return null;
  return parseInt(text, 8);
}

function checksumMatches(header: Uint8Array): boolean {
  const stored = numeric(header, 148, 8);
  if (stored === null) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (header[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  // Some historic writers summed signed chars.
  return stored === unsigned || stored === signed;
}

function isZeroBlock(header: Uint8Array): boolean {
  return header.every((b) => b === 0);
}

/** PAX extended header records: "<length> <key>=<value>\n". */
function parsePax(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  let at = 0;
  while (at < text.length) {
    const space = text.indexOf(' ', at);
    if (space < 0) break;
    const length = Number(text.slice(at, space));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = text.slice(space + 1, at + length - 1);
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

/**
 * Lists and extracts a tar archive (v7, ustar, GNU long names, PAX path/size). Members are views into
 * `bytes`. Stops with a warning at the first bad header checksum or truncated member.
 */
export function extractTar(bytes: Uint8Array, extraction: Extraction): void {
  let at = 0;
  let longName: string | null = null;
  let pax: Map<string, string> | null = null;
  let headers = 0;
  while (at + BLOCK <= bytes.length) {
    const header = bytes.subarray(at, at + BLOCK);
    if (isZeroBlock(header)) return;
    if (!checksumMatches(header)) {
      extraction.warnings.push(`tar: bad header checksum at offset ${at}; stopped`);
      return;
    }
    if (++headers > extraction.maxListedEntries * 2) {
      extraction.warnings.push('tar: too many headers; stopped');
      return;
    }
    const type = String.fromCharCode(header[156] ?? 0);
    const declaredSize = numeric(header, 124, 12);
    if (declaredSize === null) {
      extraction.warnings.push(`tar: bad size field at offset ${at}; stopped`);
      return;
    }
    const size = type === 'x' || type === 'L' ? declaredSize : Number(pax?.get('size') ?? declaredSize);
    const dataStart = at + BLOCK;
    const available = Math.max(0, Math.min(size, bytes.length - dataStart));
    const truncated = available < size;
    const next = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
      if (size > MAX_META_BYTES || truncated) {
        extraction.warnings.push(`tar: oversized or truncated metadata header at offset ${at}; stopped`);
        return;
      }
      const data = bytes.subarray(dataStart, dataStart + size);
      if (type === 'L') longName = field(data, 0, data.length);
      else if (type === 'x') pax = parsePax(data);
      at = next;
      continue;
    }

    // Only POSIX ustar ("ustar\0") has a name prefix; GNU ("ustar  ") keeps times at that offset.
    const prefix = field(header, 257, 6) === 'ustar' ? field(header, 345, 155) : '';
    const plain = field(header, 0, 100);
    const storedPath = pax?.get('path') ?? longName ?? (prefix !== '' ? `${prefix}/${plain}` : plain);
    longName = null;
    pax = null;
    const info: MemberInfo = { storedPath, size, compressedSize: null, encrypted: false };

    if (type === '5') extraction.skip(info, 'DIRECTORY');
    else if (type !== '0' && type !== '\0' && type !== '7') extraction.skip(info, type === 'S' ? 'UNSUPPORTED' : 'NOT_A_FILE');
    else {
      const skip = extraction.precheck();
      if (skip !== null) extraction.skip(info, skip);
      else if (truncated) {
        extraction.warnings.push(`tar: member ${JSON.stringify(storedPath)} is truncated (${available} of ${size} bytes)`);
        extraction.skip(info, 'TRUNCATED');
      } else {
        const limit = extraction.budget.memberLimit(null);
        if (size > limit.maxBytes) {
          if (limit.cause === 'TOTAL') throw extraction.budget.totalExceeded();
          extraction.warnings.push(`tar: member ${JSON.stringify(storedPath)} is larger than ${limit.maxBytes} bytes`);
          extraction.skip(info, 'TOO_LARGE');
        } else {
          extraction.extract(info, bytes.subarray(dataStart, dataStart + size));
        }
      }
    }
    if (truncated) return;
    at = next;
  }
  if (at < bytes.length) extraction.warnings.push(`tar: ${bytes.length - at} trailing bytes do not form a header`);
}
