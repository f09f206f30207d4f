import { createHash } from 'node:crypto';
import { AppError, type SampleHashes } from '@malpipe/core';

/** Incremental md5/sha1/sha256/sha512 over a stream of chunks; `digest()` may be called once. */
export interface Digester {
  update(chunk: Uint8Array): void;
  digest(): SampleHashes;
}

/** Starts a streaming digest, e.g. while an upload is written to the object store. */
export function createDigester(): Digester {
  const md5 = createHash('md5');
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  let finished = false;
  return {
    update(chunk) {
      if (finished) throw new AppError('INTERNAL', 'digester already finished');
      md5.update(chunk);
      sha1.update(chunk);
      sha256.update(chunk);
      sha512.update(chunk);
    },
    digest() {
      if (finished) throw new AppError('INTERNAL', 'digester already finished');
      finished = true;
      return {
        md5: md5.digest('hex'),
        sha1: sha1.digest('hex'),
        sha256: sha256.digest('hex'),
        sha512: sha512.digest('hex'),
      };
    },
  };
}

/** Lower-case hex md5, sha1, sha256 and sha512 of `bytes`. */
export function computeDigests(bytes: Uint8Array): SampleHashes {
  const digester = createDigester();
  digester.update(bytes);
  return digester.digest();
}
