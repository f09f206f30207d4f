import { AppError } from '@malpipe/core';
import {
  ERR_INVALID_PASSWORD,
  ERR_UNSUPPORTED_COMPRESSION,
  ERR_UNSUPPORTED_ENCRYPTION,
  Uint8ArrayReader,
  ZipReader,
  type Entry,
} from '@zip.js/zip.js';
import { BoundedSink } from './extraction-budget.js';
import type { Extraction, MemberInfo } from './extraction.js';
import { salvageZip } from './salvage-zip.js';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function extractEntry(entry: Entry, extraction: Extraction, passwords: readonly string[]): Promise<void> {
  const info: MemberInfo = {
    storedPath: entry.filename,
    size: entry.uncompressedSize,
    compressedSize: entry.compressedSize,
    encrypted: entry.encrypted,
    ...(entry.encrypted ? { encryption: entry.zipCrypto ? 'zipcrypto' : 'aes' } : {}),
  };
  if (entry.directory) {
    extraction.skip(info, 'DIRECTORY');
    return;
  }
  const skip = extraction.precheck();
  if (skip !== null) {
    extraction.skip(info, skip);
    return;
  }
  const limit = extraction.budget.memberLimit(entry.compressedSize);
  // The declared size is attacker-controlled, but when it already says "too big" there is no need to inflate.
  if (entry.uncompressedSize > limit.maxBytes) {
    if (limit.cause === 'TOTAL') throw extraction.budget.totalExceeded();
    extraction.warnings.push(`zip: ${JSON.stringify(entry.filename)} declares ${entry.uncompressedSize} bytes, over the ${limit.maxBytes}-byte limit (${limit.cause})`);
    extraction.skip(info, limit.cause);
    return;
  }
  const candidates: readonly (string | undefined)[] = entry.encrypted ? passwords : [undefined];
  let lastError = 'no password to try';
  for (const password of candidates) {
    const sink = new BoundedSink(limit);
    const writable = new WritableStream<Uint8Array>({ write: (chunk) => sink.push(chunk) });
    try {
      await entry.getData(writable, { password, checkCrc32: true, useWebWorkers: false });
      extraction.extract(info, sink.bytes(), password === undefined ? {} : { password });
      return;
    } catch (error) {
      if (sink.exceeded !== null) {
        if (sink.exceeded === 'TOTAL') throw extraction.budget.totalExceeded();
        extraction.warnings.push(`zip: ${JSON.stringify(entry.filename)} inflates past ${sink.size} bytes; stopped (${sink.exceeded})`);
        extraction.skip(info, sink.exceeded);
        return;
      }
      if (error instanceof AppError) throw error;
      lastError = messageOf(error);
      if (lastError === ERR_UNSUPPORTED_COMPRESSION || lastError === ERR_UNSUPPORTED_ENCRYPTION) {
        extraction.warnings.push(`zip: ${JSON.stringify(entry.filename)}: ${lastError}`);
        extraction.skip(info, 'UNSUPPORTED');
        return;
      }
      // A ZipCrypto password check byte matches 1 time in 256: a wrong password then fails later, at
      // inflate or CRC time, so every failure of an encrypted entry means "try the next password".
      if (!entry.encrypted) {
        extraction.warnings.push(`zip: ${JSON.stringify(entry.filename)} is corrupt: ${lastError}`);
        extraction.skip(info, 'CORRUPT');
        return;
      }
    }
  }
  extraction.warnings.push(
    `zip: no password opened ${JSON.stringify(entry.filename)} (tried ${candidates.length}${lastError === ERR_INVALID_PASSWORD ? '' : `; last error: ${lastError}`})`,
  );
  extraction.skip(info, 'WRONG_PASSWORD');
}

/**
 * Lists every ZIP member and extracts files as children, trying `passwords` in order on encrypted
 * (ZipCrypto or AES) members. Hostile structure (bad names, overlapping or lying entries) is tolerated at
 * read time and bounded by the extraction budget.
 */
export async function extractZip(bytes: Uint8Array, extraction: Extraction, passwords: readonly string[]): Promise<void> {
  const reader = new ZipReader(new Uint8ArrayReader(bytes), { useWebWorkers: false, strictness: 'tolerant', filenameValidation: 'tolerant' });
  try {
    for await (const entry of reader.getEntriesGenerator()) await extractEntry(entry, extraction, passwords);
  } catch (error) {
    if (error instanceof AppError) throw error;
    extraction.warnings.push(`zip: cannot read archive: ${messageOf(error)}`);
    if (extraction.entries.length === 0) {
      salvageZip(bytes, extraction);
      if (extraction.entries.length > 0) extraction.warnings.push(`zip: recovered ${extraction.entries.length} entries from local headers`);
    }
  } finally {
    await reader.close();
  }
}
