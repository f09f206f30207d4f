import { AppError } from '@malpipe/core';
import type { AnalyzerLimits } from '../analyzer.js';

/**
 * Below this output size the compression-ratio guard does not apply: tiny highly compressible members
 * (a page of spaces) are not bombs, and deflate tops out near 1032:1 anyway.
 */
export const RATIO_FLOOR_BYTES = 1024 * 1024;

export type OutputLimitCause = 'TOO_LARGE' | 'COMPRESSION_RATIO' | 'TOTAL';

export interface MemberLimit {
  readonly maxBytes: number;
  /** Which bound `maxBytes` comes from, i.e. what was hit if the output goes past it. */
  readonly cause: OutputLimitCause;
}

/** Counts children and extracted bytes across one analyser run, including its own nesting (tar.gz). */
export class ExtractionBudget {
  readonly limits: AnalyzerLimits;
  children = 0;
  extractedBytes = 0;

  constructor(limits: AnalyzerLimits) {
    this.limits = limits;
  }

  /** The output bound for one member whose compressed size is `compressedSize` (null: not compressed). */
  memberLimit(compressedSize: number | null): MemberLimit {
    const candidates: MemberLimit[] = [
      { maxBytes: this.limits.maxTotalExtractedBytes - this.extractedBytes, cause: 'TOTAL' },
      { maxBytes: this.limits.maxChildBytes, cause: 'TOO_LARGE' },
    ];
    if (compressedSize !== null) {
      candidates.push({ maxBytes: Math.max(RATIO_FLOOR_BYTES, this.limits.maxCompressionRatio * compressedSize), cause: 'COMPRESSION_RATIO' });
    }
    return candidates.reduce((a, b) => (b.maxBytes < a.maxBytes ? b : a));
  }

  /** Records an extracted child; throws ARCHIVE_BOMB past the total byte budget. */
  take(bytes: number): void {
    if (this.extractedBytes + bytes > this.limits.maxTotalExtractedBytes) throw this.totalExceeded();
    this.extractedBytes += bytes;
    this.children++;
  }

  get childrenLeft(): number {
    return this.limits.maxChildren - this.children;
  }

  totalExceeded(): AppError {
    return new AppError('ARCHIVE_BOMB', `archive expands beyond the ${this.limits.maxTotalExtractedBytes}-byte total extraction limit`, {
      details: { limit: this.limits.maxTotalExtractedBytes },
    });
  }
}

/** Collects decompressed chunks up to a bound; past it, `push` throws and nothing more is kept. */
export class BoundedSink {
  readonly #limit: MemberLimit;
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  /** Set once the bound was crossed. */
  exceeded: OutputLimitCause | null = null;

  constructor(limit: MemberLimit) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#size;
  }

  push(chunk: Uint8Array): void {
    if (this.exceeded !== null) throw this.#error();
    if (this.#size + chunk.length > this.#limit.maxBytes) {
      this.exceeded = this.#limit.cause;
      throw this.#error();
    }
    // Copy: decompressors may reuse their output buffers.
    this.#chunks.push(chunk.slice());
    this.#size += chunk.length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  #error(): AppError {
    return new AppError('LIMIT_EXCEEDED', `decompressed output exceeds ${this.#limit.maxBytes} bytes (${this.#limit.cause})`, {
      details: { limit: this.#limit.maxBytes, cause: this.#limit.cause },
    });
  }
}
