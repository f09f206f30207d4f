import { createGunzip } from 'node:zlib';
import { BoundedSink, type MemberLimit, type OutputLimitCause } from './extraction-budget.js';

export interface GunzipOutcome {
  /** Everything decompressed before the end, an error or the limit. */
  readonly data: Uint8Array;
  /** zlib's message when the stream is corrupt or truncated. */
  readonly error: string | null;
  /** Set when decompression was stopped at the limit (data is then partial and must not be used). */
  readonly exceeded: OutputLimitCause | null;
}

/**
 * Decompresses gzip (all concatenated members) with node:zlib in streaming mode, stopping as soon as the
 * output passes `limit`: memory stays bounded by the limit whatever the input claims.
 */
export function gunzipBounded(bytes: Uint8Array, limit: MemberLimit): Promise<GunzipOutcome> {
  const sink = new BoundedSink(limit);
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: GunzipOutcome): void => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    gunzip.on('data', (chunk: Buffer) => {
      try {
        sink.push(chunk);
      } catch {
        gunzip.destroy();
        settle({ data: new Uint8Array(0), error: null, exceeded: sink.exceeded });
      }
    });
    gunzip.on('end', () => settle({ data: sink.bytes(), error: null, exceeded: null }));
    gunzip.on('error', (error: Error) => settle({ data: sink.bytes(), error: error.message, exceeded: sink.exceeded }));
    gunzip.end(bytes);
  });
}

/** The original file name stored in a gzip header (FNAME), if any. */
export function gzipStoredName(bytes: Uint8Array): string | null {
  if (bytes.length < 10 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return null;
  const flags = bytes[3] ?? 0;
  let at = 10;
  if ((flags & 0x04) !== 0) at += 2 + ((bytes[10] ?? 0) | ((bytes[11] ?? 0) << 8));
  if ((flags & 0x08) === 0 || at >= bytes.length) return null;
  const end = bytes.indexOf(0, at);
  if (end < 0 || end - at > 1024) return null;
  const name = Buffer.from(bytes.buffer, bytes.byteOffset + at, end - at).toString('latin1');
  return name === '' ? null : name;
}
