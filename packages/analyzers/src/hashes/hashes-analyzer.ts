import type { FuzzyHashes } from '@malpipe/core';
import type { Analyzer } from '../analyzer.js';
import { ssdeepHash } from './ssdeep-hash.js';
import { tlshHash } from './tlsh-hash.js';

/**
 * Above this size fuzzy hashes are skipped (null + warning) to bound CPU time: measured about 1.8 s (ssdeep)
 * + 0.35 s (TLSH) per 50 MB on one core, so the cap costs at most ~11 s.
 */
export const FUZZY_HASH_MAX_BYTES = 256 * 1024 * 1024;

/** ssdeep and TLSH of every sample (the cryptographic digests are computed at ingestion). */
export const hashesAnalyzer: Analyzer<FuzzyHashes> = {
  name: 'hashes',
  version: '1.0.0',
  accepts: () => true,
  analyze(bytes) {
    if (bytes.length > FUZZY_HASH_MAX_BYTES) {
      return Promise.resolve({
        result: { ssdeep: null, tlsh: null },
        warnings: [`fuzzy hashes skipped: ${bytes.length} bytes is over the ${FUZZY_HASH_MAX_BYTES}-byte limit`],
      });
    }
    return Promise.resolve({ result: { ssdeep: ssdeepHash(bytes), tlsh: tlshHash(bytes) } });
  },
};
