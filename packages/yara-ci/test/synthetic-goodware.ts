import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes a deterministic stand-in for goodware: binary-like files with C-string tables, zero padding and
 * noise (an LCG, so every run and machine scans the same bytes and cost ratios are comparable).
 */
export function writeSyntheticGoodware(dir: string, files = 4, bytesPerFile = 1024 * 1024): void {
  mkdirSync(dir, { recursive: true });
  let seed = 12345;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 16;
  };
  const words = ['kernel', 'library', 'version', 'system', 'config', 'module', 'loader', 'object', 'symbol', 'string'];
  for (let f = 0; f < files; f += 1) {
    const parts: Buffer[] = [];
    let size = 0;
    while (size < bytesPerFile) {
      const kind = next() % 3;
      const chunk =
        kind === 0
          ? Buffer.from(`${words[next() % 10] ?? ''}_${words[next() % 10] ?? ''} ${next() % 1000}\0`)
          : kind === 1
            ? Buffer.alloc(16 + (next() % 64))
            : Buffer.from(Array.from({ length: 32 }, () => next() & 0xff));
      parts.push(chunk);
      size += chunk.length;
    }
    writeFileSync(path.join(dir, `goodware-${f}.bin`), Buffer.concat(parts).subarray(0, bytesPerFile));
  }
}
