import { native } from '@malpipe/native';
import { ssdeepHash } from './ssdeep-hash.js';
import { tlshHash } from './tlsh-hash.js';

/** The addon's limit: it hashes lengths that fit in 32 bits. */
const NATIVE_MAX_BYTES = 0xffff_ffff;

/** The C++ twin when the addon is built (and MALPIPE_NATIVE is not 0), else undefined. */
export const nativeFuzzyHashes = native?.fuzzyHashes;

/** ssdeep and TLSH of `bytes`: one native pass when available (about 3x less CPU), the TypeScript reference otherwise. */
export function fuzzyHashes(bytes: Uint8Array): { ssdeep: string; tlsh: string | null } {
  if (nativeFuzzyHashes !== undefined && bytes.length <= NATIVE_MAX_BYTES) return nativeFuzzyHashes(bytes);
  return { ssdeep: ssdeepHash(bytes), tlsh: tlshHash(bytes) };
}

