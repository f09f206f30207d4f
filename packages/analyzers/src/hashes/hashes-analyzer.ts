import type { FuzzyHashes } from '@malpipe/core';
import type { Analyzer } from '../analyzer.js';
import { fuzzyHashes } from './fuzzy-hashes.js';

/**
 * Above this size fuzzy hashes are skipped (null + warning) to bound CPU time: measured about 0.6 s (ssdeep)
 * + 0.3 s (TLSH) per 50 MB on one core in TypeScript, about 3x less with the native addon, so the cap costs
 * at most ~5 s.
 */
export const FUZZY_HASH_MAX_BYTES = 256 * 1024 * 1024;

/** Builds the `hashes` analyser; `maxBytes` is the size above which fuzzy hashes are skipped. */
export function createHashesAnalyzer(maxBytes = FUZZY_HASH_MAX_BYTES): Analyzer<FuzzyHashes> {
  return {
    name: 'hashes',
    // 1.0.1: the TLSH length byte follows the reference at every length (it differed at 23 step lengths under 8 MB).
    version: '1.0.1',
    accepts: () => true,
    analyze(bytes) {
      if (bytes.length > maxBytes) {
        return Promise.resolve({
          result: { ssdeep: null, tlsh: null },
          warnings: [`fuzzy hashes skipped: ${bytes.length} bytes is over the ${maxBytes}-byte limit`],
        });
      }
      return Promise.resolve({ result: fuzzyHashes(bytes) });
    },
  };
}

/** ssdeep and TLSH of every sample (the cryptographic digests are computed at ingestion by computeDigests). */
export const hashesAnalyzer: Analyzer<FuzzyHashes> = createHashesAnalyzer();
